"""Changing keys from the page (SPEC §10): Edit (updateApiToken) and Rotate (rotateApiToken, the new key shown
once with the old key's new expiry), in a real browser against a real gateway and Elasticsearch."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import Page, expect

from tests.http.ui.pages import AdminApi, key_rows, open_api_keys, row_of

SHOWCASE = "2d7a6a76-469c-4035-b312-fb1daf104e98"  # the seed's Showcase-CSV-DS
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _access(page: Page, name: str) -> str:
    text: str = row_of(page, name).locator("td.access").inner_text()
    return " ".join(text.split())


def _in_utc_words(iso: str) -> str:
    """A time as the page writes it: ``2026-12-08 04:30 UTC``."""
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def test_edit_narrows_a_key_then_widens_it_again(page: Page, gateway: str) -> None:
    api = AdminApi(gateway)
    key = api.create("Nightly job", description="HR import", scopes=["search", "write", "delete"])
    open_api_keys(page, gateway)
    actions = page.get_by_role("button", name="Actions for Nightly job")
    actions.click()
    page.get_by_role("menuitem", name="Edit").click()
    dialog = page.get_by_role("dialog", name="Edit API key")
    expect(dialog.get_by_text(f"Nightly job (key ending {key[-4:]})")).to_be_visible()
    expect(dialog.get_by_label("Name", exact=True)).to_be_hidden()  # a key keeps its name
    expect(dialog.get_by_label("Description", exact=True)).to_have_value("HR import")
    expect(dialog.get_by_label("Description", exact=True)).to_be_focused()
    delete = dialog.get_by_role("checkbox", name="delete", exact=True)
    expect(delete).to_be_checked()
    delete.uncheck()
    dialog.get_by_role("checkbox", name="Showcase-CSV-DS").check()
    dialog.get_by_label("Allowed networks").fill("10.0.0.0/8")
    dialog.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status").filter(has_text="Saved Nightly job")).to_have_text(
        "Saved Nightly job: scopes, data sources, allowed networks changed."
    )
    expect(row_of(page, "Nightly job").locator("td.access")).to_contain_text("Limited")
    assert _access(page, "Nightly job") == "Search and write Limited 1 data source, 1 network"
    expect(actions).to_be_focused()  # back where the edit started
    record = api.record("Nightly job")
    assert record["scopes"] == ["search", "write"]
    assert record["datasources"] == [SHOWCASE]
    assert record["allowedNetworks"] == ["10.0.0.0/8"]
    assert record["description"] == "HR import"  # unchanged members are not sent

    actions.click()
    page.get_by_role("menuitem", name="Edit").click()  # filled with what the key now is
    expect(delete).not_to_be_checked()
    showcase = dialog.get_by_role("checkbox", name="Showcase-CSV-DS")
    expect(showcase).to_be_checked()
    expect(dialog.get_by_label("Allowed networks")).to_have_value("10.0.0.0/8")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_have_text("Nothing has changed.")
    showcase.uncheck()
    dialog.get_by_label("Allowed networks").fill("")
    dialog.get_by_role("button", name="Save").click()
    expect(row_of(page, "Nightly job").locator("td.access")).to_have_text("Search and write")
    record = api.record("Nightly job")
    assert record["datasources"] is None and record["allowedNetworks"] is None


def test_rotate_shows_the_new_key_once_with_the_old_keys_new_expiry(page: Page, gateway: str) -> None:
    api = AdminApi(gateway)
    old_key = api.create("Nightly export", scopes=["search"], allowedNetworks=["127.0.0.0/8"])
    open_api_keys(page, gateway)
    page.get_by_role("button", name="Actions for Nightly export").click()
    page.get_by_role("menuitem", name="Rotate").click()
    asking = page.get_by_role("dialog", name="Rotate API key")
    overlap = asking.get_by_label("Overlap in hours (0 to 168)")
    expect(overlap).to_be_focused()
    expect(overlap).to_have_value("24")
    overlap.fill("200")
    asking.get_by_role("button", name="Rotate").click()
    expect(page.locator("#rotate-overlap-error")).to_have_text("Give a whole number of hours from 0 to 168.")
    overlap.fill("2")
    asking.get_by_role("button", name="Rotate").click()

    box = page.get_by_label("API key", exact=True)
    expect(box).to_have_value(UUID)
    expect(box).to_be_focused()
    new_key = box.input_value()
    assert new_key != old_key
    old = next(entry for entry in api.records("Nightly export") if entry["hint"] == old_key[-4:])
    assert old["rotated_to"] is not None
    expect(page.get_by_role("heading", name="API key rotated")).to_be_visible()
    expires = _in_utc_words(old["expires_at"])
    expect(page.locator("#created-previous")).to_have_text(
        f"The old key of Nightly export (ending {old_key[-4:]}) now expires {expires}; "
        "the new key below has the same name and settings."
    )
    expect(page.get_by_text("It cannot be retrieved once this dialog is closed.")).to_be_visible()
    assert api.search_status(new_key) == 200 and api.search_status(old_key) == 200  # the overlap
    page.get_by_role("button", name="Close").click()
    expect(box).to_have_value("")  # shown once
    expect(key_rows(page)).to_have_count(2)
    expect(key_rows(page).locator("td.status")).to_have_text(
        ["Active", "Expires in less than a day Rotated"], use_inner_text=True
    )
    new_row = key_rows(page).filter(has_text="Just created")
    expect(new_row).to_contain_text(f"…{new_key[-4:]}")
    expect(new_row.locator("td.access")).to_have_text("Search Limited 1 network")  # the same settings

    page.get_by_role("button", name="Actions for Nightly export").last.click()  # the old key, rotated
    page.get_by_role("menuitem", name="Rotate").click()
    asking.get_by_role("button", name="Rotate").click()
    expect(asking.get_by_role("alert")).not_to_be_empty()  # the gateway's 409, as text
    asking.get_by_role("button", name="Cancel").click()
    expect(asking).to_be_hidden()
