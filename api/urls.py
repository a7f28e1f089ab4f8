"""SES v2 routes, exactly as botocore's model spells the URIs (no trailing slashes).

List operations are routed twice: current botocore POSTs to /v2/email/list-identities and
/v2/email/list-configuration-sets, while older models (aws-cli v1 bundles one) GET the
collection URI with query parameters. Both work.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import path, re_path

from . import (
    account,
    body_size,
    configuration_sets,
    identities,
    localstack,
    sending,
    tags,
    templates,
    views,
)
from .views import Route, endpoint

IDENTITY = "v2/email/identities/<str:email_identity>"
POLICY = f"{IDENTITY}/policies/<str:policy_name>"
TEMPLATE = "v2/email/custom-verification-email-templates/<str:template_name>"
CONFIGURATION_SET = "v2/email/configuration-sets/<str:configuration_set_name>"

urlpatterns = [
    # --- identities ---
    path(
        "v2/email/identities",
        endpoint(
            POST=Route("CreateEmailIdentity", identities.create_email_identity),
            GET=Route(None, identities.list_email_identities_query, checks_key=True),
        ),
    ),
    path(
        "v2/email/list-identities",
        endpoint(
            POST=Route("ListEmailIdentities", identities.list_email_identities, checks_key=True)
        ),
    ),
    path(
        IDENTITY,
        endpoint(
            GET=Route(
                "GetEmailIdentity",
                identities.get_email_identity,
                preload=identities.identity_to_preload,
            ),
            DELETE=Route("DeleteEmailIdentity", identities.delete_email_identity),
        ),
    ),
    path(
        f"{IDENTITY}/dkim",
        endpoint(PUT=Route("PutEmailIdentityDkimAttributes", identities.put_dkim_attributes)),
    ),
    path(
        f"{IDENTITY}/dkim/signing",
        endpoint(
            PUT=Route(
                "PutEmailIdentityDkimSigningAttributes", identities.put_dkim_signing_attributes
            )
        ),
    ),
    path(
        f"{IDENTITY}/mail-from",
        endpoint(
            PUT=Route("PutEmailIdentityMailFromAttributes", identities.put_mail_from_attributes)
        ),
    ),
    path(
        f"{IDENTITY}/configuration-set",
        endpoint(
            PUT=Route(
                "PutEmailIdentityConfigurationSetAttributes",
                identities.put_configuration_set_attributes,
            )
        ),
    ),
    path(
        f"{IDENTITY}/feedback",
        endpoint(
            PUT=Route("PutEmailIdentityFeedbackAttributes", identities.put_feedback_attributes)
        ),
    ),
    path(
        f"{IDENTITY}/policies",
        endpoint(GET=Route("GetEmailIdentityPolicies", identities.get_policies)),
    ),
    path(
        POLICY,
        endpoint(
            POST=Route("CreateEmailIdentityPolicy", identities.create_policy),
            PUT=Route("UpdateEmailIdentityPolicy", identities.update_policy),
            DELETE=Route("DeleteEmailIdentityPolicy", identities.delete_policy),
        ),
    ),
    # --- custom verification email templates ---
    path(
        "v2/email/custom-verification-email-templates",
        endpoint(
            POST=Route("CreateCustomVerificationEmailTemplate", templates.create_template),
            GET=Route("ListCustomVerificationEmailTemplates", templates.list_templates),
        ),
    ),
    path(
        TEMPLATE,
        endpoint(
            GET=Route("GetCustomVerificationEmailTemplate", templates.get_template),
            PUT=Route(
                "UpdateCustomVerificationEmailTemplate", templates.update_template, lenient=True
            ),
            DELETE=Route("DeleteCustomVerificationEmailTemplate", templates.delete_template),
        ),
    ),
    path(
        "v2/email/outbound-custom-verification-emails",
        endpoint(
            POST=Route("SendCustomVerificationEmail", templates.send_custom_verification_email)
        ),
    ),
    # --- configuration sets ---
    path(
        "v2/email/configuration-sets",
        endpoint(
            POST=Route("CreateConfigurationSet", configuration_sets.create_configuration_set),
            GET=Route(None, configuration_sets.list_configuration_sets_query),
        ),
    ),
    path(
        "v2/email/list-configuration-sets",
        endpoint(POST=Route("ListConfigurationSets", configuration_sets.list_configuration_sets)),
    ),
    path(
        CONFIGURATION_SET,
        endpoint(
            GET=Route("GetConfigurationSet", configuration_sets.get_configuration_set),
            DELETE=Route("DeleteConfigurationSet", configuration_sets.delete_configuration_set),
        ),
    ),
    # --- tags ---
    path(
        "v2/email/tags",
        endpoint(
            POST=Route("TagResource", tags.tag_resource),
            DELETE=Route("UntagResource", tags.untag_resource),
            GET=Route("ListTagsForResource", tags.list_tags),
        ),
    ),
    # --- sending ---
    path(
        "v2/email/outbound-emails",
        endpoint(
            POST=Route(
                "SendEmail",
                sending.send_email,
                max_body=body_size.V2_SEND_BODY_LIMIT,
                checks_key=True,
            )
        ),
    ),
    # --- account ---
    path("v2/email/account", endpoint(GET=Route("GetAccount", account.get_account))),
    path(
        "v2/email/account/details",
        endpoint(POST=Route("PutAccountDetails", account.put_account_details)),
    ),
    re_path(r"^v2/", views.unknown_operation),
    # LocalStack's sent-messages endpoint, for test suites written against LocalStack.
    path("_aws/ses", localstack.sent_messages),
]

if settings.SESCONSOLE_BENCH:
    urlpatterns.insert(0, path("_bench/noop", views.bench_noop))
