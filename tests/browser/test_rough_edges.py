"""In a real browser, the rough edges of the console's first hour: htmx errors on Which
identity applies?, mail and preview frames, the Resend row, the templates list, History's By
column, the new access key's copy and .csv, delete confirmations, error pages, the region
switch, breadcrumbs and the favicon."""

from __future__ import annotations

import os
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Account, Region
from identities.models import Identity
from sending.models import SentMessage
from tests.browser.test_console_smoke import sign_in
from verification.flows import start_identity_verification

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop

pytestmark = pytest.mark.browser


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_which_identity_shows_an_error_without_a_reload(
    page: Any, live_server: Any, transactional_db: None, owner: Any, region: Region
) -> None:
    sign_in(page, live_server, owner.username)
    page.get_by_role("link", name="Which identity applies?").click()
    page.evaluate("window.__sameDocument = true")
    page.fill("#id_address", "user@nowhere.example")
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#which-result")).to_contain_text("No verified identity")
    page.fill("#id_address", "example.com")
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#which-lookup")).to_contain_text("Enter a full email address with an @")
    expect(page.locator("#which-result")).not_to_contain_text("No verified identity")
    assert page.evaluate("window.__sameDocument") is True  # htmx, not a reload


def test_sent_message_frame_is_wide_and_text_wraps(
    page: Any, live_server: Any, transactional_db: None, owner: Any, account: Account,
    region: Region,
) -> None:  # fmt: skip
    long_line = "https://example.com/" + "x" * 600
    mime = EmailMessage()
    mime["Subject"] = "Verify"
    mime.set_content(f"Open this link:\n{long_line}\n")
    mime.add_alternative("<p>Hello</p>", subtype="html")
    message = SentMessage.objects.create(
        account=account,
        region=region,
        message_id="verification-mail",
        operation="VerificationEmail",
        from_address="no-reply@sesconsole.localhost",
        envelope_from="no-reply@sesconsole.localhost",
        recipients=["owner@example.com"],
        subject="Verify",
        mime=mime.as_bytes(),
    )
    sign_in(page, live_server, owner.username)
    kwargs = {"region": region.code, "message_id": message.message_id}
    page.goto(live_server.url + reverse("sending:message", kwargs=kwargs))
    frame = page.locator("iframe.mail-preview").evaluate(
        "e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; }"
    )
    assert frame[0] > 600, frame
    assert frame[1] >= 400, frame
    assert no_sideways_scroll(page)
    # The header list is a styled grid, not the browser's indented <dl>.
    assert page.locator("dl.key-values").evaluate("e => getComputedStyle(e).display") == "grid"
    crumbs = page.get_by_role("navigation", name="Breadcrumbs")
    assert crumbs.inner_text().split("\n")[:2] == ["Amazon SES", "Sent messages"]


def test_resend_row_sits_under_the_summary_header(
    page: Any,
    live_server: Any,
    transactional_db: None,
    owner: Any,
    make_email: Callable[..., Identity],
) -> None:
    email = make_email("news@example.com")
    # The creation's on-commit start may have run already; a second start only supersedes it.
    start_identity_verification(identity_id=email.pk)
    sign_in(page, live_server, owner.username)
    page.goto(live_server.url + "/us-east-1/verified-identities/news@example.com/")
    box = page.locator("#email-verification")
    expect(box).to_contain_text("You can resend in")
    assert page.locator(".container__actions #email-verification").count() == 0
    header = page.locator("#summary-title").bounding_box()
    assert box.bounding_box()["y"] > header["y"] + header["height"]


def test_templates_list_has_a_heading_and_a_padded_empty_state(
    page: Any, live_server: Any, transactional_db: None, owner: Any, region: Region
) -> None:
    sign_in(page, live_server, owner.username)
    page.get_by_role("link", name="Custom verification templates").click()
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "Custom verification email templates"
    note = page.get_by_role("note").filter(has_text="Your account is in the sandbox")
    assert note.inner_text().rstrip().endswith("Request production access")
    empty = page.locator(".empty")
    assert float(empty.evaluate("e => parseFloat(getComputedStyle(e).paddingLeft)")) >= 16


def test_history_by_column_keeps_names_whole(
    page: Any, live_server: Any, transactional_db: None, owner: Any, region: Region
) -> None:
    sign_in(page, live_server, owner.username)
    page.get_by_role("link", name="Create identity").first.click()
    page.get_by_role("radio", name="Domain").check()
    page.fill("#id_domain", "history.example.com")
    page.get_by_role("button", name="Create identity").click()
    page.wait_for_url("**/history.example.com/")
    page.set_viewport_size({"width": 390, "height": 800})
    cell = page.locator("td.table__nowrap", has_text="owner").first
    line_height = cell.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 20")
    assert cell.bounding_box()["height"] < 2 * line_height + 20  # one line plus padding


def test_new_access_key_has_copy_buttons_and_a_csv(
    page: Any, live_server: Any, transactional_db: None, owner: Any, region: Region, tmp_path: Path
) -> None:
    sign_in(page, live_server, owner.username)
    page.get_by_role("link", name="API access keys").click()
    crumbs = page.get_by_role("navigation", name="Breadcrumbs")
    assert crumbs.inner_text().split("\n") == ["Amazon SES", "API access keys"]
    page.get_by_role("button", name="Create access key").click()
    key_id = page.locator("#new-key-id").inner_text()
    secret = page.locator("#new-key-secret").inner_text()
    assert page.get_by_role("button", name="Copy the secret access key").is_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download .csv file").click()
    download = download_info.value
    assert download.suggested_filename == f"{key_id}_accessKeys.csv"
    saved = tmp_path / "keys.csv"
    download.save_as(saved)
    assert saved.read_bytes() == (
        f"Access key ID,Secret access key\r\n{key_id},{secret}\r\n".encode()
    )
    page.set_viewport_size({"width": 390, "height": 800})
    assert no_sideways_scroll(page)


def test_bulk_delete_is_guarded_and_lands_on_the_list(
    page: Any,
    live_server: Any,
    transactional_db: None,
    owner: Any,
    make_domain: Callable[..., Identity],
) -> None:
    make_domain("alpha.example.com")
    make_domain("beta.example.com")
    sign_in(page, live_server, owner.username)
    delete = page.locator("button[form=bulk-delete-form]")
    expect(delete).to_be_disabled()  # nothing selected yet
    page.get_by_label("Select alpha.example.com").check()
    page.get_by_label("Select beta.example.com").check()
    expect(delete).to_be_enabled()
    delete.click()  # with JavaScript, the confirmation opens in a dialog over the list
    confirm = page.locator("#delete-confirm button[type=submit]")
    expect(confirm).to_be_disabled()
    page.fill("#id_confirm", "delet")
    expect(confirm).to_be_disabled()
    page.fill("#id_confirm", "delete")
    expect(confirm).to_be_enabled()
    confirm.click()
    page.wait_for_url("**/us-east-1/verified-identities/")
    expect(page.locator(".flashes")).to_contain_text("Deleted 2 identities.")
    assert Identity.objects.count() == 0
    # Opening the confirmation's URL directly is the list, not an empty 405 page.
    page.goto(live_server.url + "/us-east-1/verified-identities/delete/")
    assert page.url == live_server.url + "/us-east-1/verified-identities/"


def test_single_delete_button_waits_for_the_name(
    page: Any,
    live_server: Any,
    transactional_db: None,
    owner: Any,
    make_domain: Callable[..., Identity],
) -> None:
    make_domain("gone.example.com")
    sign_in(page, live_server, owner.username)
    page.goto(live_server.url + "/us-east-1/verified-identities/gone.example.com/delete/")
    button = page.get_by_role("button", name="Delete")
    expect(button).to_be_disabled()
    page.fill("#id_confirm", "gone.example.com")
    expect(button).to_be_enabled()
    button.click()
    page.wait_for_url("**/us-east-1/verified-identities/")
    assert not Identity.objects.filter(name="gone.example.com").exists()


def test_error_page_region_switch_breadcrumbs_and_favicon(
    page: Any,
    live_server: Any,
    transactional_db: None,
    owner: Any,
    region: Region,
    other_region: Region,
) -> None:
    sign_in(page, live_server, owner.username)
    response = page.goto(live_server.url + "/no/such/page/")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    assert page.get_by_role("navigation", name="Amazon SES").is_visible()

    page.goto(live_server.url + "/us-east-1/custom-verification-templates/")
    page.select_option("#region-select", "eu-west-1")
    page.wait_for_url("**/eu-west-1/custom-verification-templates/")

    page.get_by_role("link", name="DNS servers").click()
    crumbs = page.get_by_role("navigation", name="Breadcrumbs")
    assert crumbs.inner_text().split("\n") == ["Amazon SES", "DNS servers"]

    icon = page.goto(live_server.url + "/favicon.ico")
    assert (icon.status, icon.headers["content-type"]) == (200, "image/vnd.microsoft.icon")


def test_navigation_is_grouped_as_in_ses(
    page: Any, live_server: Any, transactional_db: None, owner: Any, region: Region
) -> None:
    sign_in(page, live_server, owner.username)
    nav = page.get_by_role("navigation", name="Amazon SES")
    items = [line.strip() for line in nav.inner_text().split("\n") if line.strip()]
    assert items == [
        "Amazon SES",
        "Account dashboard",
        "Configuration",
        "Verified identities",
        "Configuration sets",
        "Custom verification templates",
        "Which identity applies?",
        "Mail",
        "Sent messages",
        "SMTP settings",
        "Access and DNS",
        "API access keys",
        "DNS servers",
    ]


def test_deletes_confirm_in_a_dialog(
    page: Any,
    live_server: Any,
    transactional_db: None,
    owner: Any,
    make_domain: Callable[..., Identity],
) -> None:
    for name in ("alpha.example.com", "beta.example.com", "gamma.example.com"):
        make_domain(name)
    sign_in(page, live_server, owner.username)
    # Bulk: the typed confirmation opens over the list, which stays where it is.
    page.get_by_label("Select alpha.example.com").check()
    page.get_by_label("Select beta.example.com").check()
    page.locator("button[form=bulk-delete-form]").click()
    dialog = page.get_by_role("dialog", name="Delete 2 identities")
    expect(dialog).to_be_visible()
    assert page.url.endswith("/us-east-1/verified-identities/")
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.locator("button[form=bulk-delete-form]").click()
    expect(dialog).to_be_visible()
    confirm = dialog.get_by_role("button", name="Delete")
    expect(confirm).to_be_disabled()
    dialog.get_by_label("To confirm deletion, enter delete").fill("delete")
    confirm.click()
    page.wait_for_url("**/us-east-1/verified-identities/")
    expect(page.locator(".flashes")).to_contain_text("Deleted 2 identities.")
    assert list(Identity.objects.values_list("name", flat=True)) == ["gamma.example.com"]

    # Single: from the identity page, a wrong name keeps the dialog open with the error.
    page.goto(live_server.url + "/us-east-1/verified-identities/gamma.example.com/")
    page.get_by_role("link", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete identity")
    expect(dialog).to_be_visible()
    dialog.get_by_label("To confirm deletion, enter gamma.example.com").fill("gamma.example.com")
    dialog.get_by_role("button", name="Delete").click()
    page.wait_for_url("**/us-east-1/verified-identities/")
    assert not Identity.objects.exists()
