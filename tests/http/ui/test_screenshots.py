"""The README's pictures of the page: login, the list, the created-key dialog and the row menu.

``make screenshots`` runs this with ``GATEWAY_SCREENSHOTS_DIR=docs/ui``; in the test suite they go to a
temporary folder, so the pictures are known to be taken from the page as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.http.ui.pages import AdminApi, in_days, open_api_keys, row_of

PNG = b"\x89PNG\r\n\x1a\n"


def test_screenshots_of_the_page(page: Page, gateway: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("GATEWAY_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 720})
    api = AdminApi(gateway)
    api.create("Nightly export", description="Export job of the data warehouse", expiration=in_days(5))
    api.revoke(api.create("Old importer", description="Replaced by Ingest Key"))
    api.create("Ingest Key", description="API key for ingestion endpoints", expiration=in_days(90))

    page.goto(f"{gateway}/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    shots = {"login": page.screenshot(path=folder / "login.png")}
    open_api_keys(page, gateway)
    expect(row_of(page, "Nightly export")).to_be_visible()
    expect(page.get_by_text("1 key expires within 7 days: Nightly export (in 5 days).")).to_be_visible()
    shots["keys"] = page.screenshot(path=folder / "api-keys.png")
    page.get_by_role("button", name="Actions for Ingest Key").click()
    expect(page.get_by_role("menuitem", name="Edit")).to_be_focused()
    shots["row menu"] = page.screenshot(path=folder / "row-menu.png")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Generate API Key").click()
    page.get_by_label("Name", exact=True).fill("Ingest job (staging)")
    page.get_by_label("Description", exact=True).fill("Nightly ingestion into staging")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("button", name="Test key").click()
    expect(page.locator("#test-result")).to_contain_text("HTTP 200")
    shots["created key"] = page.screenshot(path=folder / "created-key.png")
    for name, picture in shots.items():
        assert picture.startswith(PNG) and len(picture) > 10_000, name
    assert sorted(p.name for p in folder.glob("*.png")) == [
        "api-keys.png",
        "created-key.png",
        "login.png",
        "row-menu.png",
    ]
