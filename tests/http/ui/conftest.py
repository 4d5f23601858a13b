"""Browser tests: Debian's Chromium driven by Playwright, against a real ``gateway serve`` and Elasticsearch.

Playwright's own browser download is not used: ``executable_path`` points at the system Chromium that
``make prereqs`` installs. Each test starts from a clean cluster holding the documentation's demo admin and
the seed's data sources, as ``make run`` leaves it.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from gateway.auth.passwords import PasswordHasher
from gateway.auth.users import UserStore, ensure_user
from gateway.loading.seed import DATASOURCES_FILE, ensure_demo_admin, load_datasources
from gateway.settings import Settings
from tests.helpers import GatewayProcess, with_es
from tests.http.ui.pages import NON_ADMIN, NON_ADMIN_PASSWORD, ConsoleWatch

CHROMIUM = Path(os.environ.get("GATEWAY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.is_file():  # a missing browser fails the run: the browser tests are never skipped
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make prereqs` (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


# pytest-playwright's fixtures live for the whole session. These three end with this package instead: while
# Playwright's sync API runs, asyncio.run() fails in the main thread, and the rest of the suite uses it.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="package")
def browser(playwright: Playwright, browser_type_launch_args: dict[str, Any]) -> Iterator[Browser]:
    browser = playwright.chromium.launch(**browser_type_launch_args)
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser_context_args() -> dict[str, Any]:
    return {}


@pytest.fixture(scope="package")
def ui_gateway(es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    gateway = GatewayProcess(es_url, tmp_path_factory.mktemp("ui") / "state", {"GATEWAY_ACCESS_LOG": "false"})
    try:
        gateway.wait_ready()
        yield gateway
    finally:
        gateway.stop()


def _in_a_thread(settings: Settings) -> None:
    """The demo state of ``make run``; asyncio runs in its own thread, away from Playwright's loop."""

    async def prepare(es: AsyncElasticsearch) -> None:
        await ensure_demo_admin(es, settings.admin_group)
        await ensure_user(UserStore(es), PasswordHasher(), NON_ADMIN, NON_ADMIN_PASSWORD)
        await load_datasources(es, DATASOURCES_FILE, settings.datasource_index, settings.tenant_name)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(with_es, settings, prepare).result()


@pytest.fixture
def gateway(ui_gateway: GatewayProcess, es: Elasticsearch, settings: Settings) -> str:
    """The URL of a gateway whose cluster holds only the demo admin, a non-admin user and the data sources."""
    _in_a_thread(settings)
    return ui_gateway.url


# Playwright waits for each element or state, up to a bound: generous, since a bound only ends a hang, and
# Chromium on a busy 2-core machine can take far longer than 30 s (Playwright's default) to lay out a page.
UI_TIMEOUT_MS = 120_000
expect.set_options(timeout=UI_TIMEOUT_MS)


@pytest.fixture(autouse=True)
def _generous_waits(page: Page) -> None:
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.set_default_navigation_timeout(UI_TIMEOUT_MS)


@pytest.fixture
def console(page: Page) -> ConsoleWatch:
    return ConsoleWatch(page)
