"""Console URLs. The region is in every URL; identity names may contain @ and +."""

from __future__ import annotations

from django.urls import path

from . import configuration_set_views, dns_views, policy_views, views

app_name = "identities"

IDENTITY = "<slug:region>/verified-identities/<path:name>"

urlpatterns = [
    # The account's RFC 2136 servers (not per region), and the operator's signing-zone export.
    path("dns-servers/", dns_views.dns_servers, name="dns_servers"),
    path("dns-servers/add/", dns_views.dns_server_create, name="dns_server_create"),
    path("dns-servers/<int:pk>/delete/", dns_views.dns_server_delete, name="dns_server_delete"),
    path("dns-servers/signing-zone/", dns_views.signing_zone_file, name="signing_zone_file"),
    path("<slug:region>/verified-identities/", views.identity_list, name="list"),
    path("<slug:region>/verified-identities/create/", views.create, name="create"),
    path("<slug:region>/verified-identities/delete/", views.bulk_delete, name="bulk_delete"),
    # The identity's own pages. <path:> because an address may contain "/"; every pattern
    # below ends in a fixed word, so the name is never ambiguous.
    path(
        f"{IDENTITY}/configuration-set/",
        views.detail,
        {"tab": "configuration_set"},
        name="tab_configuration_set",
    ),
    path(f"{IDENTITY}/tags/", views.detail, {"tab": "tags"}, name="tab_tags"),
    path(
        f"{IDENTITY}/authorization/",
        views.detail,
        {"tab": "authorization"},
        name="tab_authorization",
    ),
    path(
        f"{IDENTITY}/authorization/create/",
        policy_views.policy_create,
        name="policy_create",
    ),
    path(
        f"{IDENTITY}/authorization/<slug:policy>/view/",
        policy_views.policy_detail,
        name="policy_detail",
    ),
    path(
        f"{IDENTITY}/authorization/<slug:policy>/edit/",
        policy_views.policy_edit,
        name="policy_edit",
    ),
    path(
        f"{IDENTITY}/authorization/<slug:policy>/delete/",
        policy_views.policy_delete,
        name="policy_delete",
    ),
    path(
        f"{IDENTITY}/notifications/",
        views.detail,
        {"tab": "notifications"},
        name="tab_notifications",
    ),
    path(f"{IDENTITY}/status/", views.status, name="status"),
    path(f"{IDENTITY}/dkim/edit/", views.edit_dkim, name="edit_dkim"),
    path(f"{IDENTITY}/mail-from/edit/", views.edit_mail_from, name="edit_mail_from"),
    path(
        f"{IDENTITY}/configuration-set/edit/",
        views.edit_configuration_set,
        name="edit_configuration_set",
    ),
    path(f"{IDENTITY}/tags/edit/", views.edit_tags, name="edit_tags"),
    path(f"{IDENTITY}/notifications/edit/", views.edit_feedback, name="edit_feedback"),
    path(f"{IDENTITY}/delete/", views.delete, name="delete"),
    path(f"{IDENTITY}/records.csv", views.records_csv, name="records_csv"),
    path(f"{IDENTITY}/records.zone", views.records_zone, name="records_zone"),
    path(f"{IDENTITY}/check/", dns_views.check_now, name="check_now"),
    path(f"{IDENTITY}/publish/", dns_views.publish_records, name="publish_records"),
    path(f"{IDENTITY}/publish/<int:pk>/", dns_views.publish_run, name="publish_run"),
    path(
        f"{IDENTITY}/verify-without-dns/",
        dns_views.verify_without_dns,
        name="verify_without_dns",
    ),
    path(f"{IDENTITY}/", views.detail, {"tab": "authentication"}, name="detail"),
    path("<slug:region>/configuration-sets/", views.configuration_sets, name="configuration_sets"),
    path(
        "<slug:region>/configuration-sets/create/",
        views.configuration_set_create,
        name="configuration_set_create",
    ),
    path(
        "<slug:region>/configuration-sets/<str:name>/",
        configuration_set_views.configuration_set_detail,
        name="configuration_set_detail",
    ),
    path(
        "<slug:region>/configuration-sets/<str:name>/delete/",
        views.configuration_set_delete,
        name="configuration_set_delete",
    ),
]
