"""The API Keys tab beyond the documented steps: status words, filters, paging, banner, bulk actions,
inline errors from the API, and "Test key" running the documented search with the new key."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import Page, expect

from tests.helpers import eventually
from tests.http.ui.pages import AdminApi, in_days, key_rows, open_api_keys, row_of


def _status(page: Page, name: str) -> str:
    text: str = row_of(page, name).locator("td").nth(8).inner_text()
    return text


def test_status_words_filters_and_the_expiry_banner(page: Page, gateway: str) -> None:
    api = AdminApi(gateway)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=10)  # room for a slow create on a busy machine
    short_lived = api.create("Short lived", expiration=expires.isoformat())
    api.create("Ends soon", expiration=in_days(3))
    api.revoke(api.create("Revoked key"))
    api.create("Long lived", expiration=in_days(90))
    # The gateway runs in its own process on the real clock: wait until it refuses "Short lived".
    eventually(lambda: api.search_status(short_lived) == 401, "the short-lived key to expire")
    open_api_keys(page, gateway)
    expect(key_rows(page)).to_have_count(4)
    assert _status(page, "Long lived") == "Active"
    assert _status(page, "Ends soon") == "Expires in 3 days"  # valid through that date: 3 days and some hours
    assert _status(page, "Revoked key") == "Revoked"
    assert _status(page, "Short lived") == "Expired"
    banner = page.locator("#expiry-banner")
    expect(banner).to_have_text("1 key expires within 7 days: Ends soon (in 3 days).", use_inner_text=True)
    for word, names in (
        ("Active", ["Long lived", "Ends soon"]),
        ("Expired", ["Short lived"]),
        ("Revoked", ["Revoked key"]),
        ("All", ["Long lived", "Revoked key", "Ends soon", "Short lived"]),
    ):
        page.get_by_role("radio", name=word).check()
        expect(key_rows(page).locator("td.name")).to_have_text(names)
    page.get_by_label("Search", exact=True).fill("lived")
    expect(key_rows(page).locator("td.name")).to_have_text(["Long lived", "Short lived"])


def test_paging_ten_keys_at_a_time(page: Page, gateway: str) -> None:
    api = AdminApi(gateway)
    for n in range(12):
        api.create(f"key {n:02d}")
    open_api_keys(page, gateway)
    expect(key_rows(page)).to_have_count(10)
    expect(page.get_by_text("Keys 1\N{EN DASH}10")).to_be_visible()
    expect(page.get_by_role("button", name="Previous page")).to_be_disabled()
    page.get_by_role("button", name="Next page").click()
    expect(key_rows(page).locator("td.name")).to_have_text(["key 01", "key 00"])
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    page.get_by_role("button", name="Previous page").click()
    expect(key_rows(page).first).to_contain_text("key 11")


def test_select_several_keys_to_revoke_or_delete_them_together(page: Page, gateway: str) -> None:
    api = AdminApi(gateway)
    for name in ("first", "second", "third"):
        api.create(name)
    open_api_keys(page, gateway)
    page.get_by_role("checkbox", name="Select first").check()
    page.get_by_role("checkbox", name="Select third").check()
    expect(page.get_by_text("2 keys selected")).to_be_visible()
    page.get_by_role("button", name="Revoke selected").click()
    confirm = page.get_by_role("dialog", name="Revoke 2 API keys")
    expect(confirm.get_by_role("listitem")).to_have_text(["first", "third"])
    confirm.get_by_role("button", name="Revoke").click()
    expect(row_of(page, "first").locator("td").nth(8)).to_have_text("Revoked")
    expect(row_of(page, "third").locator("td").nth(8)).to_have_text("Revoked")
    expect(row_of(page, "second").locator("td").nth(8)).to_have_text("Active")
    page.get_by_role("checkbox", name="Select all keys on this page").check()
    page.get_by_role("button", name="Delete selected").click()
    page.get_by_role("dialog", name="Delete 3 API keys").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No API keys match.")).to_be_visible()
    expect(page.get_by_text("No key selected")).to_be_visible()


def test_api_errors_show_beside_their_field(page: Page, gateway: str) -> None:
    open_api_keys(page, gateway)
    page.get_by_role("button", name="Generate API Key").click()
    dialog = page.get_by_role("dialog", name="Generate API Key")
    expect(dialog.get_by_label("Expiration date")).to_have_attribute("min", in_days(1))
    dialog.get_by_role("button", name="Create").click()  # no name
    expect(page.locator("#key-name-error")).to_contain_text("at least 1 character")
    expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
    expect(dialog.get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")
    dialog.get_by_label("Name", exact=True).fill("Too late")
    dialog.get_by_label("Expiration date").fill(in_days(-1))
    dialog.get_by_role("button", name="Create").click()
    expect(page.locator("#key-expiration-error")).to_contain_text("is in the past")
    expect(page.locator("#key-name-error")).to_be_empty()
    dialog.get_by_role("button", name="30 days").click()
    dialog.get_by_role("button", name="Create").click()
    expect(page.get_by_label("API key", exact=True)).not_to_be_empty()


def test_test_key_runs_the_documented_search_with_the_new_key(page: Page, gateway: str) -> None:
    open_api_keys(page, gateway)
    page.get_by_role("button", name="Generate API Key").click()
    page.get_by_label("Name", exact=True).fill("Tried at once")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("button", name="Test key").click()
    expect(page.locator("#test-result")).to_have_text(
        "HTTP 200: the key works. 5 data sources found. The first is Retired-Apps-Cleanup."
    )


def test_a_reload_of_the_list_keeps_an_open_row_menu_usable(page: Page, gateway: str) -> None:
    api = AdminApi(gateway)
    api.create("Ingest Key")
    open_api_keys(page, gateway)
    page.get_by_role("button", name="Actions for Ingest Key").click()
    expect(page.get_by_role("menuitem", name="Edit")).to_be_focused()
    # Reload the list as a tab switch does (the hash route runs again), and wait until the rows are new.
    page.evaluate("document.querySelector('#keys-body tr').dataset.stale = 'yes'")
    page.evaluate("window.dispatchEvent(new HashChangeEvent('hashchange'))")
    expect(page.locator("#keys-body tr[data-stale]")).to_have_count(0)
    expect(page.get_by_role("menuitem", name="Delete")).to_be_visible()
    page.get_by_role("menuitem", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete API key")).to_be_visible()
