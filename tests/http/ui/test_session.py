"""Logging in and out: administrators only, a reload keeps the session, a 401 returns to the login page,
and the Profile tab shows who is logged in and the tenant ID a key needs."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.helpers import HTTP_TIMEOUT, TEST_TENANT_ID, bearer
from tests.http.ui.pages import DISPLAY_NAME, NON_ADMIN, NON_ADMIN_PASSWORD, log_in, open_self_service


def test_the_profile_tab_shows_the_user_and_the_tenant_id(page: Page, gateway: str) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway)
    log_in(page, gateway)
    open_self_service(page)
    expect(page.get_by_role("tab", name="Profile")).to_have_attribute("aria-selected", "true")
    profile = page.get_by_role("tabpanel", name="Profile")
    expect(profile).to_contain_text(DISPLAY_NAME)
    expect(profile).to_contain_text("bob.rodgers")
    expect(profile).to_contain_text("Zoran Admin")
    expect(profile.locator("#profile-tenant")).to_have_text(TEST_TENANT_ID)
    page.get_by_role("button", name="Copy tenant ID").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == TEST_TENANT_ID


def test_wrong_password_and_non_admins_are_told_why(page: Page, gateway: str) -> None:
    log_in(page, gateway, password="wrong password")
    expect(page.get_by_role("alert")).to_have_text("Invalid username or password.")
    log_in(page, gateway, username=NON_ADMIN, password=NON_ADMIN_PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("This page is for administrators only.")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_a_reload_keeps_the_session_and_log_out_ends_it(page: Page, gateway: str) -> None:
    log_in(page, gateway)
    open_self_service(page)
    page.get_by_role("tab", name="API Keys").click()
    page.reload()
    expect(page.get_by_role("tab", name="API Keys")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("button", name="Generate API Key")).to_be_visible()
    token = page.evaluate("JSON.parse(sessionStorage.getItem(Object.keys(sessionStorage)[0])).token")
    assert (
        httpx.get(
            f"{gateway}/api/authentication/verify", headers=bearer(token), timeout=HTTP_TIMEOUT
        ).status_code
        == 200
    )
    page.get_by_role("button", name=DISPLAY_NAME).click()
    with page.expect_response("**/api/authentication/logout") as logout:
        page.get_by_role("menuitem", name="Log out").click()
    assert logout.value.status == 204
    expect(page.get_by_role("alert")).to_have_text("You have logged out.")
    assert page.evaluate("sessionStorage.length") == 0
    # The session ended on the gateway, not only in this tab: the token, copied before, is refused.
    assert (
        httpx.get(
            f"{gateway}/api/authentication/verify", headers=bearer(token), timeout=HTTP_TIMEOUT
        ).status_code
        == 401
    )
    page.reload()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_a_refused_token_returns_to_the_login_page_with_a_message(page: Page, gateway: str) -> None:
    log_in(page, gateway)
    open_self_service(page)
    page.evaluate(  # as if the token had expired: the next API call is answered 401
        """() => {
          const key = Object.keys(sessionStorage)[0];
          const session = JSON.parse(sessionStorage.getItem(key));
          sessionStorage.setItem(key, JSON.stringify({ ...session, token: "expired" }));
        }"""
    )
    page.reload()
    expect(page.get_by_role("alert")).to_have_text("Your session has ended. Please log in again.")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_the_token_is_renewed_while_the_page_is_in_use(page: Page, gateway: str) -> None:
    page.clock.install()  # the page's timers run on a clock the test moves
    log_in(page, gateway)
    open_self_service(page)
    page.keyboard.press("ArrowRight")  # in use: a key pressed
    with page.expect_response("**/api/authentication/renewToken") as renewal:
        page.clock.run_for("15:01")  # half the 30-minute token lifetime, plus a second
    assert renewal.value.status == 200
    page.wait_for_function(  # kept for the next reload
        "(token) => JSON.parse(sessionStorage.getItem(Object.keys(sessionStorage)[0])).token === token",
        arg=renewal.value.json()["token"],
    )
    page.get_by_role("tab", name="API Keys").click()  # the renewed token is the one in use
    expect(page.get_by_role("button", name="Generate API Key")).to_be_visible()


def test_log_out_says_so_when_the_gateway_could_not_end_the_session(page: Page, gateway: str) -> None:
    log_in(page, gateway)
    open_self_service(page)
    page.route("**/api/authentication/logout", lambda route: route.abort())  # the network is gone
    page.get_by_role("button", name=DISPLAY_NAME).click()
    page.get_by_role("menuitem", name="Log out").click()
    expect(page.get_by_role("alert")).to_contain_text("the gateway could not be reached")
    assert page.evaluate("sessionStorage.length") == 0  # the tab forgets the session all the same
