"""What the browser tests share: logging in and reaching the API Keys tab as the documentation says, the
gateway's JSON API for setting up keys, and a watch on the console."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
from playwright.sync_api import ConsoleMessage, Dialog, Page, expect

from gateway.loading.seed import DEMO_ADMIN, DEMO_PASSWORD
from tests.helpers import DOCUMENTED_SEARCH, HTTP_TIMEOUT, TEST_TENANT_ID

DISPLAY_NAME = "Bob Rodgers"  # the demo admin's, shown as the drop-down's button
NON_ADMIN = "carol.user@example.com"
NON_ADMIN_PASSWORD = "not an admin password"


def in_days(days: int) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).date().isoformat()


def log_in(page: Page, url: str, username: str = DEMO_ADMIN, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{url}/")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def open_self_service(page: Page) -> None:
    """Steps 1 and 2 of both procedures: the drop-down at the top left, then Self Service."""
    page.get_by_role("button", name=DISPLAY_NAME).click()
    page.get_by_role("menuitem", name="Self Service").click()


def open_api_keys(page: Page, url: str) -> None:
    """Log in as the demo admin and follow the documentation to the API Keys tab."""
    log_in(page, url)
    open_self_service(page)
    page.get_by_role("tab", name="API Keys").click()
    expect(page.get_by_role("button", name="Generate API Key")).to_be_visible()


def key_rows(page: Page) -> Any:
    return page.locator("#keys-body tr")


def row_of(page: Page, name: str) -> Any:
    """The row whose name cell starts with ``name`` (a new key's cell also says "Just created")."""
    return key_rows(page).filter(has=page.locator("td.name", has_text=re.compile(f"^{re.escape(name)}")))


class AdminApi:
    """The JSON API as the demo admin, for setting up keys a test does not create through the page."""

    def __init__(self, url: str) -> None:
        self.url = url
        answer = httpx.post(
            f"{url}/api/authentication/login",
            json={"username": DEMO_ADMIN, "password": DEMO_PASSWORD},
            timeout=HTTP_TIMEOUT,
        )
        answer.raise_for_status()
        self.headers = {"Authorization": f"Bearer {answer.json()['token']}"}

    def create(self, name: str, expiration: str | None = None, description: str = "", **limits: Any) -> str:
        """A key; ``limits`` are createApiToken's other members (scopes, datasources, allowedNetworks...)."""
        body = {"name": name, "description": description, "expiration": expiration or in_days(90), **limits}
        key: str = self.post("createApiToken", body)["token"]
        return key

    def post(self, route: str, body: dict[str, Any]) -> Any:
        answer = httpx.post(
            f"{self.url}/api/admin/{route}", json=body, headers=self.headers, timeout=HTTP_TIMEOUT
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def record(self, name: str) -> dict[str, Any]:
        """The newest getTokens entry named ``name``."""
        entries = self.records(name)
        assert entries, f"no key named {name!r}"
        return entries[0]

    def search_status(self, key: str) -> int:
        """The status of the documented search with ``key``."""
        headers = {"authorization": key, "x-tenant-id": TEST_TENANT_ID}
        return httpx.post(
            f"{self.url}/jas/datasource/search", json=DOCUMENTED_SEARCH, headers=headers, timeout=HTTP_TIMEOUT
        ).status_code

    def records(self, name: str) -> list[dict[str, Any]]:
        """The getTokens entries named ``name``, newest first."""
        answer = httpx.get(
            f"{self.url}/api/admin/getTokens",
            params={"search": name, "maxResults": 100},
            headers=self.headers,
            timeout=HTTP_TIMEOUT,
        )
        assert answer.status_code == 200, answer.text
        return [entry for entry in answer.json() if entry["name"] == name]

    def audit(self, **filters: Any) -> dict[str, Any]:
        answer = httpx.get(
            f"{self.url}/api/admin/audit", params=filters, headers=self.headers, timeout=HTTP_TIMEOUT
        )
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        return page

    def revoke(self, key: str) -> None:
        self.post("revokeApiToken", {"token": key})


class ConsoleWatch:
    """Console errors, uncaught exceptions and JavaScript dialogs (alert, confirm) of a page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()
