"""The Self-Service page's files: served at ``/`` and ``/static/``, strict headers, no inline code."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from gateway.http.ui import STATIC_DIR

UI_PATHS = ["/", "/static/app.css", "/static/js/main.js", "/static/favicon.svg"]


@pytest.mark.parametrize("path", UI_PATHS)
def test_every_ui_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_page_and_its_modules_have_the_right_types(client: TestClient) -> None:
    assert client.get("/").headers["content-type"].startswith("text/html")
    assert (
        client.get("/static/js/main.js")
        .headers["content-type"]
        .startswith(("text/javascript", "application/javascript"))
    )
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")
    missing = client.get("/static/js/nothing.js")
    assert missing.status_code == 404
    assert "frame-ancestors 'none'" in missing.headers["content-security-policy"]  # errors carry it too


@pytest.mark.parametrize(
    "path", ["/static/%2e%2e/ui.py", "/static/..%2fui.py", "/static/js/%2e%2e/%2e%2e/ui.py"]
)
def test_the_static_files_never_reach_outside_their_folder(client: TestClient, path: str) -> None:
    response = client.get(path)  # encoded dots reach StaticFiles as they are, not normalised by the client
    assert response.status_code == 404
    assert "STATIC_DIR" not in response.text


def test_the_markup_has_no_inline_script_style_or_handler() -> None:
    html = (STATIC_DIR / "index.html").read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert "<style" not in html and " style=" not in html
    assert re.findall(r"\son[a-z]+=", html) == []


def test_scripts_never_write_html() -> None:
    """API data reaches the page through textContent only: no script parses markup."""
    for script in sorted((STATIC_DIR / "js").glob("*.js")):
        code = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in code, f"{script.name} uses {sink}"


def test_the_ui_is_not_part_of_the_api_description(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and not any(path.startswith("/static") for path in paths)


def test_no_page_loads_code_from_another_origin(client: TestClient) -> None:
    """FastAPI's /docs and /redoc pulled Swagger UI and ReDoc from a CDN onto this origin: gone."""
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        answer = client.get(path)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", path
    assert client.get("/openapi.json").status_code == 200
    for path in UI_PATHS:
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", client.get(path).text), path


def test_the_page_explains_each_scope_with_the_gateways_own_words() -> None:
    """The Generate dialog's line on each scope is gateway.auth.scopes.WHAT_EACH_ALLOWS, word for word."""
    from gateway.auth.scopes import WHAT_EACH_ALLOWS

    code = (STATIC_DIR / "js" / "restrictions.js").read_text()
    table = re.search(r"WHAT_EACH_ALLOWS = \{(.*?)\};", code, re.S)
    assert table is not None
    shown = dict(re.findall(r'^\s*(\w+): "([^"]*)",$', table.group(1), re.M))
    assert shown == WHAT_EACH_ALLOWS


def test_the_activity_filter_offers_every_action_the_gateway_records() -> None:
    from gateway.audit.events import ACTIONS

    code = (STATIC_DIR / "js" / "activity.js").read_text()
    listed = re.search(r"export const ACTIONS = \[(.*?)\];", code, re.S)
    assert listed is not None
    assert tuple(re.findall(r'"([^"]+)"', listed.group(1))) == ACTIONS
