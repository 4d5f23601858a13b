"""Least-privilege keys on the page (SPEC §10): the Generate dialog's Scopes, Data sources, Allowed networks
and Rate limit, and the list's Access column with its "Limited" marker."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from gateway.auth.scopes import WHAT_EACH_ALLOWS
from tests.helpers import eventually
from tests.http.ui.pages import AdminApi, open_api_keys, row_of

SHOWCASE = "2d7a6a76-469c-4035-b312-fb1daf104e98"  # the seed's Showcase-CSV-DS


def _access(page: Page, name: str) -> str:
    text: str = row_of(page, name).locator("td.access").inner_text()
    return " ".join(text.split())


def test_generate_a_limited_key_through_the_dialog_and_see_it_listed_as_limited(
    page: Page, gateway: str
) -> None:
    api = AdminApi(gateway)
    api.create("Everything job")  # the defaults: search and write, no limits
    open_api_keys(page, gateway)
    page.get_by_role("button", name="Generate API Key").click()
    dialog = page.get_by_role("dialog", name="Generate API Key")
    for scope, text in WHAT_EACH_ALLOWS.items():  # one line each on what a scope allows
        expect(dialog.get_by_role("checkbox", name=scope, exact=True)).to_have_accessible_description(
            f"Allows {text}."
        )
    expect(dialog.get_by_role("checkbox", name="search", exact=True)).to_be_checked()
    expect(dialog.get_by_role("checkbox", name="write", exact=True)).to_be_checked()
    expect(dialog.get_by_role("checkbox", name="delete", exact=True)).not_to_be_checked()
    expect(dialog.get_by_role("radio", name="The gateway's default")).to_be_checked()

    dialog.get_by_label("Name", exact=True).fill("Dashboard")
    dialog.get_by_role("checkbox", name="write", exact=True).uncheck()
    dialog.get_by_role("group", name="Data sources").get_by_role("checkbox", name="Showcase-CSV-DS").check()
    dialog.get_by_label("Allowed networks").fill("10.20.0.0/16\n2001:db8::/32")
    dialog.get_by_label("At most").fill("5")
    expect(dialog.get_by_role("radio", name="A limit of its own")).to_be_checked()  # typing a limit picks it
    dialog.get_by_label("requests per").fill("60")
    dialog.get_by_role("button", name="Create").click()
    expect(page.get_by_label("API key", exact=True)).not_to_be_empty()
    page.get_by_role("button", name="Close").click()

    expect(row_of(page, "Dashboard")).to_contain_text("Just created")
    assert _access(page, "Dashboard") == "Search Limited 1 data source, 2 networks, 5 requests per 60 seconds"
    assert _access(page, "Everything job") == "Search and write"
    record = api.record("Dashboard")
    assert record["scopes"] == ["search"]
    assert record["datasources"] == [SHOWCASE]
    assert record["allowedNetworks"] == ["10.20.0.0/16", "2001:db8::/32"]
    assert record["rateLimit"] == {"requests": 5, "perSeconds": 60}


def test_the_list_marks_keys_limited_by_scopes_data_sources_or_networks(page: Page, gateway: str) -> None:
    api = AdminApi(gateway)
    api.create("All three", scopes=["search", "write", "delete"], rateLimit=False)
    api.create("Write only", scopes=["write"])
    api.create("One network", allowedNetworks=["192.0.2.0/24"])
    open_api_keys(page, gateway)
    assert _access(page, "All three") == "Search, write and delete No rate limit"
    assert _access(page, "Write only") == "Write Limited"
    assert _access(page, "One network") == "Search and write Limited 1 network"


def test_the_gateways_refusal_of_a_network_shows_beside_the_field(page: Page, gateway: str) -> None:
    open_api_keys(page, gateway)
    page.get_by_role("button", name="Generate API Key").click()
    dialog = page.get_by_role("dialog", name="Generate API Key")
    dialog.get_by_label("Name", exact=True).fill("Bad network")
    networks = dialog.get_by_label("Allowed networks")
    networks.fill("10.0.0.1/8")  # host bits set: not a network
    dialog.get_by_role("button", name="Create").click()
    expect(page.locator("#key-networks-error")).to_contain_text(
        "allowedNetworks: '10.0.0.1/8' is not a network"
    )
    expect(networks).to_be_focused()
    expect(networks).to_have_attribute("aria-invalid", "true")
    dialog.get_by_role("checkbox", name="search", exact=True).uncheck()
    dialog.get_by_role("checkbox", name="write", exact=True).uncheck()
    networks.fill("10.0.0.0/8")
    dialog.get_by_role("button", name="Create").click()  # no scope at all
    expect(page.locator("#key-scopes-error")).not_to_be_empty()
    expect(page.locator("#key-networks-error")).to_be_empty()
    expect(networks).not_to_have_attribute("aria-invalid", "true")


def test_the_list_shows_the_address_a_key_was_last_used_from(page: Page, gateway: str) -> None:
    api = AdminApi(gateway)
    key = api.create("Used key")
    api.create("Unused key")
    assert api.search_status(key) == 200
    eventually(lambda: api.record("Used key")["last_used_address"] == "127.0.0.1", "the last use recorded")
    open_api_keys(page, gateway)
    expect(row_of(page, "Used key").locator("td").nth(6)).to_contain_text("from 127.0.0.1")
    expect(row_of(page, "Unused key").locator("td").nth(6)).to_have_text("Never")
