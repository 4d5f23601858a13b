"""The Activity tab: the audit trail (GET /api/admin/audit), newest first, filtered and paged on the page."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from gateway.loading.seed import DEMO_ADMIN
from tests.helpers import eventually
from tests.http.ui.pages import AdminApi, log_in, open_self_service


def _rows(page: Page) -> Any:
    return page.locator("#activity-body tr")


def _column(page: Page, n: int) -> Any:
    return _rows(page).locator(f"td:nth-child({n})")


def _open_activity(page: Page, gateway: str) -> None:
    log_in(page, gateway)
    open_self_service(page)
    page.get_by_role("tab", name="Activity").click()


def test_activity_lists_events_newest_first_and_filters_them(page: Page, gateway: str) -> None:
    api = AdminApi(gateway)  # a login
    audited = api.create("Audited key")
    api.create("Other key")
    api.revoke(audited)
    # The trail is searchable once Elasticsearch refreshes: wait for it through the API, not a sleep.
    eventually(lambda: api.audit(action="key.revoke")["total"] == 1, "the revocation in the audit trail")
    _open_activity(page, gateway)  # a second login
    expect(page).to_have_url(f"{gateway}/#/self-service/activity")
    eventually(lambda: api.audit(action="login")["total"] == 2, "the page's login in the audit trail")
    page.get_by_role("button", name="Apply filters").click()  # no filter: everything, newest first
    expect(_column(page, 2)).to_have_text(["login", "key.revoke", "key.create", "key.create", "login"])
    expect(_column(page, 3)).to_have_text(["success"] * 5)
    expect(_column(page, 4)).to_have_text([DEMO_ADMIN] * 5)
    expect(_rows(page).nth(1)).to_contain_text("Audited key")
    expect(page.get_by_text("Events 1\N{EN DASH}5 of 5")).to_be_visible()

    page.get_by_label("Action", exact=True).select_option("key.create")
    page.get_by_role("button", name="Apply filters").click()
    expect(_column(page, 2)).to_have_text(["key.create", "key.create"])
    expect(_column(page, 6)).to_have_text(["Other key", "Audited key"])
    page.get_by_role("button", name="Show only events of key Audited key").click()  # the key's own events
    expect(page.get_by_label("Key ID")).to_have_value(api.record("Audited key")["id"])
    expect(_column(page, 6)).to_have_text(["Audited key"])
    page.get_by_label("Action", exact=True).select_option("")
    page.get_by_role("button", name="Apply filters").click()
    expect(_column(page, 2)).to_have_text(["key.revoke", "key.create"])

    page.get_by_role("button", name="Clear filters").click()
    page.get_by_label("Actor").fill("nobody@example.com")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No events match.")).to_be_visible()
    page.get_by_label("Actor").fill(DEMO_ADMIN)
    page.get_by_label("From (UTC)").fill("2099-01-01T00:00")  # a time range with nothing in it
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No events match.")).to_be_visible()
    page.get_by_label("From (UTC)").fill("2000-01-01T00:00")
    page.get_by_label("To (UTC)").fill("2099-01-01T00:00")
    page.get_by_role("button", name="Apply filters").click()
    expect(_column(page, 2)).to_have_text(["login", "key.revoke", "key.create", "key.create", "login"])


def test_activity_pages_twenty_events_at_a_time(page: Page, gateway: str) -> None:
    api = AdminApi(gateway)
    for n in range(21):
        api.create(f"key {n:02d}")
    eventually(lambda: api.audit(action="key.create")["total"] == 21, "21 creations in the audit trail")
    _open_activity(page, gateway)
    page.get_by_label("Action", exact=True).select_option("key.create")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("Events 1\N{EN DASH}20 of 21")).to_be_visible()
    expect(_rows(page)).to_have_count(20)
    expect(page.get_by_role("button", name="Previous page")).to_be_disabled()
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_text("Events 21\N{EN DASH}21 of 21")).to_be_visible()
    expect(_column(page, 6)).to_have_text(["key 00"])
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
