"""No answer redirects, so no Location is ever built from the request's (caller-chosen) Host header."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient

FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
OTHER_PATHS = ["/", "/static", "/static/", "/static/index.html/", "/docs", "/redoc", "/docs/oauth2-redirect"]


def _toggled(path: str) -> str:
    return path.rstrip("/") if path.endswith("/") and path != "/" else path + "/"


def test_no_path_redirects_whatever_the_host_header_says(client: TestClient) -> None:
    api = [path.replace("{", "").replace("}", "") for path in client.get("/openapi.json").json()["paths"]]
    paths = [*api, *OTHER_PATHS]
    for path, method in itertools.product([*paths, *map(_toggled, paths)], ("GET", "POST", "HEAD")):
        answer = client.request(method, path, headers=FORGED, follow_redirects=False)
        assert not 300 <= answer.status_code < 400, f"{method} {path}: {answer.status_code}"
        assert "location" not in answer.headers, f"{method} {path}: {answer.headers['location']}"
        assert "evil.example" not in answer.text, f"{method} {path}"


def test_a_stray_slash_is_a_json_404(client: TestClient) -> None:
    for path in ("/static", "/version/", "/api/admin/getTokens/"):
        answer = client.get(path, headers=FORGED, follow_redirects=False)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
