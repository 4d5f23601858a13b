"""The search fast path and the FastAPI route share one function; each is reachable and answers alike."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.datastructures import State
from starlette.types import Receive, Scope, Send

from gateway.app import create_app
from gateway.http import fastpath
from gateway.http.routes import search as search_route
from gateway.settings import Settings
from tests.helpers import DOCUMENTED_SEARCH, TEST_TENANT_ID, create_key, login


@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "route"])
def test_the_search_is_served_by_the_fast_path_or_else_by_the_route(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    calls = {"fast path": 0, "route": 0}
    shared = search_route.search

    async def counting_fast_path(state: State, scope: Scope, receive: Receive, send: Send) -> None:
        calls["fast path"] += 1
        await fastpath.serve_search(state, scope, receive, send)

    async def counting_search(*args: object) -> bytes:
        calls["route"] += 1
        return await shared(*args)  # type: ignore[arg-type]

    app = create_app(settings)
    assert isinstance(app, fastpath.GatewayApp)
    # The route looks ``search`` up in its module at call time; the fast path holds its own reference.
    monkeypatch.setattr(search_route, "search", counting_search)
    if fast:
        app.fast_paths[("POST", fastpath.SEARCH_PATH)] = counting_fast_path
    else:
        app.fast_paths.clear()
    with TestClient(app) as client:
        key = create_key(client, login(client))
        headers = {"authorization": key, "x-tenant-id": TEST_TENANT_ID}
        ok = client.post(fastpath.SEARCH_PATH, json=DOCUMENTED_SEARCH, headers=headers)
        refused = client.post(fastpath.SEARCH_PATH, json={"query": {"profile": True}}, headers=headers)
        anonymous = client.post(fastpath.SEARCH_PATH, json=DOCUMENTED_SEARCH)
    assert ok.status_code == 200 and "hits" in ok.json()
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "search_rejected"
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "ApiKey"
    assert calls == ({"fast path": 3, "route": 0} if fast else {"fast path": 0, "route": 3})
