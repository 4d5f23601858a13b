"""The README's pictures of the page: login, the list, the created-key dialog, the row menu, the Edit dialog
and the Activity tab.

``make screenshots`` runs this with ``GATEWAY_SCREENSHOTS_DIR=docs/ui``; in the test suite they go to a
temporary folder, so the pictures are known to be taken from the page as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.helpers import eventually
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
    api.create(
        "HR nightly job",
        description="HR-JDBC-DS import from the job host",
        scopes=["write"],
        datasources=["5b0f6a1e-2c7d-4c55-9a0e-8f3d1c2b4a61"],
        allowedNetworks=["10.20.0.0/16"],
        rateLimit={"requests": 600, "perSeconds": 60},
    )

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
    page.get_by_role("button", name="Actions for HR nightly job").click()
    page.get_by_role("menuitem", name="Edit").click()
    expect(page.get_by_role("checkbox", name="HR-JDBC-DS")).to_be_checked()
    shots["edit"] = page.screenshot(path=folder / "edit-key.png", full_page=True)
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Generate API Key").click()
    page.get_by_label("Name", exact=True).fill("Ingest job (staging)")
    page.get_by_label("Description", exact=True).fill("Nightly ingestion into staging")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("button", name="Test key").click()
    expect(page.locator("#test-result")).to_contain_text("HTTP 200")
    shots["created key"] = page.screenshot(path=folder / "created-key.png")
    page.get_by_role("button", name="Close").click()
    eventually(lambda: api.audit(action="key.create")["total"] == 5, "the creations in the audit trail")
    page.get_by_role("tab", name="Activity").click()
    expect(page.locator("#activity-body tr").first).to_be_visible()
    shots["activity"] = page.screenshot(path=folder / "activity.png")
    for name, picture in shots.items():
        assert picture.startswith(PNG) and len(picture) > 10_000, name
    assert sorted(p.name for p in folder.glob("*.png")) == [
        "activity.png",
        "api-keys.png",
        "created-key.png",
        "edit-key.png",
        "login.png",
        "row-menu.png",
    ]
