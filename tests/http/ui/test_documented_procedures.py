"""The documentation's two UI procedures, step by step with its words as the labels, in a real browser.

"Create an API key using the UI" and "Deactivate API keys using the UI" (generate-an-api-key.md), against a
real ``gateway serve`` and Elasticsearch; the key read from the page must answer the documented search.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.helpers import TEST_TENANT_ID, GatewayProcess, eventually
from tests.http.ui.pages import AdminApi, ConsoleWatch, in_days, key_rows, log_in, open_self_service, row_of

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _answers(gateway: GatewayProcess, key: str, status: int) -> bool:
    """The documented search with ``key`` answers ``status`` (a revocation reaches the cache within the
    revocation window, 1 s by default: retried until then, with a generous bound)."""
    return eventually(lambda: gateway.search(key) == status, f"the documented search to answer {status}")


def test_create_an_api_key_using_the_ui_then_deactivate_it(
    page: Page, gateway: str, ui_gateway: GatewayProcess, console: ConsoleWatch
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway)
    AdminApi(gateway).create("Nightly export")  # another key, so that searching visibly narrows the list
    log_in(page, gateway)

    # Create an API key using the UI
    open_self_service(page)  # 1. the admin drop-down on the top-left; 2. Self Service
    page.get_by_role("tab", name="API Keys").click()  # 3.
    page.get_by_role("button", name="Generate API Key").click()  # 4.
    dialog = page.get_by_role("dialog", name="Generate API Key")
    dialog.get_by_label("Name", exact=True).fill("Ingest Key")  # 5.
    dialog.get_by_label("Description", exact=True).fill("API key for ingestion endpoints")
    dialog.get_by_label("Expiration date").fill(in_days(30))
    dialog.get_by_role("button", name="Create").click()
    box = page.get_by_label("API key", exact=True)  # 6. a copy of the key in the box
    expect(box).to_have_value(UUID)
    key = box.input_value()
    expect(page.get_by_text("It cannot be retrieved once this dialog is closed.")).to_be_visible()
    expect(box).to_have_attribute("readonly", "")
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key
    expect(page.get_by_label("Try it: the documented data-source search")).to_have_value(
        re.compile(f"x-tenant-id: {TEST_TENANT_ID}.*authorization: {key}", re.S)
    )
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    still_shown = "[...document.querySelectorAll('input, textarea')].some(e => e.value.includes(k))"
    assert page.evaluate(f"(k) => {still_shown} || document.body.innerText.includes(k)", key) is False
    created = row_of(page, "Ingest Key")  # the new key appears in the list, marked as just created
    expect(created).to_contain_text("Just created")
    expect(created).to_contain_text(f"…{key[-4:]}")
    expect(created.get_by_role("cell", name="Active", exact=True)).to_be_visible()
    expect(created).to_contain_text("Never")  # last used
    requested = page.evaluate("performance.getEntriesByType('resource').map((entry) => entry.name)")
    assert requested and not [url for url in requested if key in url]  # the page never put the key in a URL
    assert _answers(ui_gateway, key, 200)  # the copied key answers the documented search

    # Deactivate API keys using the UI
    open_self_service(page)  # 1., 2.
    page.get_by_role("tab", name="API Keys").click()  # 3.
    expect(key_rows(page)).to_have_count(2)
    page.get_by_label("Search", exact=True).fill(key)  # 4. in the Search field, enter the API key
    expect(key_rows(page)).to_have_count(1)
    expect(key_rows(page)).to_contain_text("Ingest Key")
    page.get_by_role("button", name="Actions for Ingest Key").click()  # 5. the three dots, then Revoke
    page.get_by_role("menuitem", name="Revoke").click()
    page.get_by_role("dialog", name="Revoke API key").get_by_role("button", name="Revoke").click()
    expect(row_of(page, "Ingest Key").get_by_role("cell", name="Revoked", exact=True)).to_be_visible()
    assert _answers(ui_gateway, key, 401)  # revoked: the key no longer works

    page.get_by_role("button", name="Actions for Ingest Key").click()  # a revoked key can then be deleted
    page.get_by_role("menuitem", name="Delete").click()
    page.get_by_role("dialog", name="Delete API key").get_by_role("button", name="Delete").click()
    expect(key_rows(page)).to_have_count(0)
    expect(page.get_by_text("No API keys match.")).to_be_visible()
    page.get_by_label("Search", exact=True).fill("")
    expect(key_rows(page)).to_have_count(1)  # the other key is untouched
    expect(key_rows(page)).to_contain_text("Nightly export")
    assert console.dialogs == []
