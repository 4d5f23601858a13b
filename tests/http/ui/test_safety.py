"""Markup in API data stays text, and an axe-core scan finds no accessibility violation."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.helpers import eventually
from tests.http.ui.pages import AdminApi, ConsoleWatch, in_days, open_api_keys, row_of

MARKUP = "<img src=x onerror=alert(1)>"


def test_a_key_named_with_markup_is_shown_as_text_and_runs_nothing(
    page: Page, gateway: str, console: ConsoleWatch
) -> None:
    AdminApi(gateway).create(MARKUP, expiration=in_days(3), description=f"<script>alert(2)</script>{MARKUP}")
    open_api_keys(page, gateway)
    row = row_of(page, MARKUP)
    expect(row).to_contain_text(MARKUP)
    expect(row).to_contain_text("<script>alert(2)</script>")
    expect(page.get_by_role("status").filter(has_text="within 7 days")).to_contain_text(MARKUP)  # banner
    page.get_by_role("button", name="Generate API Key").click()  # and through the page itself
    page.get_by_label("Name", exact=True).fill(f"{MARKUP} 2")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("button", name="Close").click()
    expect(row_of(page, f"{MARKUP} 2")).to_contain_text("Just created")
    page.get_by_role("button", name=f"Actions for {MARKUP}", exact=True).click()
    page.get_by_role("menuitem", name="Revoke").click()
    confirm = page.get_by_role("dialog", name="Revoke API key")
    expect(confirm.get_by_role("listitem")).to_have_text(MARKUP)
    confirm.get_by_role("button", name="Cancel").click()
    api = AdminApi(gateway)  # and in the audit trail's Activity tab
    eventually(lambda: api.audit(action="key.create")["total"] == 2, "the creations in the audit trail")
    page.get_by_role("tab", name="Activity").click()
    expect(page.locator("#activity-body")).to_contain_text(f"{MARKUP} 2")
    assert page.locator("img, script:not([src])").count() == 0
    assert console.dialogs == []
    assert console.errors == []


def _violations(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = Axe().run(page).response["violations"]
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]} for v in found]


def test_axe_finds_no_violation_on_the_login_page_the_list_and_each_dialog(page: Page, gateway: str) -> None:
    api = AdminApi(gateway)
    api.create("Ingest Key", description="API key for ingestion endpoints")
    api.create("Ends soon", expiration=in_days(2))
    api.revoke(api.create("Old key"))
    page.goto(f"{gateway}/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    scans = {"login": _violations(page)}
    open_api_keys(page, gateway)
    expect(row_of(page, "Ends soon")).to_be_visible()
    scans["list"] = _violations(page)
    page.get_by_role("tab", name="Profile").click()
    scans["profile"] = _violations(page)
    page.get_by_role("tab", name="API Keys").click()
    page.get_by_role("button", name="Actions for Ingest Key").click()
    scans["row menu"] = _violations(page)
    page.get_by_role("menuitem", name="Delete").click()
    scans["confirm dialog"] = _violations(page)
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Generate API Key").click()
    page.get_by_role("button", name="Create").click()  # no name: the API's error shows beside the field
    expect(page.locator("#key-name-error")).not_to_be_empty()
    scans["generate dialog with errors"] = _violations(page)
    page.get_by_label("Name", exact=True).fill("Scanned")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_label("API key", exact=True)).not_to_be_empty()
    scans["created-key dialog"] = _violations(page)
    assert scans == {name: [] for name in scans}


def test_axe_finds_no_violation_in_edit_rotate_and_activity(page: Page, gateway: str) -> None:
    api = AdminApi(gateway)
    api.create("Ingest Key", scopes=["search"], allowedNetworks=["10.0.0.0/8"], rateLimit=False)
    open_api_keys(page, gateway)
    scans = {"list with limited keys": _violations(page)}
    page.get_by_role("button", name="Actions for Ingest Key").click()
    page.get_by_role("menuitem", name="Edit").click()
    expect(page.get_by_role("checkbox", name="Showcase-CSV-DS")).to_be_visible()
    scans["edit dialog"] = _violations(page)
    page.get_by_label("Allowed networks").fill("not a network")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#key-networks-error")).not_to_be_empty()
    scans["edit dialog with errors"] = _violations(page)
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Actions for Ingest Key").click()
    page.get_by_role("menuitem", name="Rotate").click()
    scans["rotate dialog"] = _violations(page)
    page.get_by_role("button", name="Rotate", exact=True).click()
    expect(page.get_by_role("heading", name="API key rotated")).to_be_visible()
    scans["rotated-key dialog"] = _violations(page)
    page.get_by_role("button", name="Close").click()
    page.get_by_role("tab", name="Activity").click()
    expect(page.locator("#activity-body tr").first).to_be_visible()
    scans["activity"] = _violations(page)
    assert scans == {name: [] for name in scans}
