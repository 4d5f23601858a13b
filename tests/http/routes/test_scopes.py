"""Key scopes (SPEC §10): the one route table, the 403 naming a missing scope, defaults and old records."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from gateway.app import create_app
from gateway.auth.key_store import API_KEYS_INDEX
from gateway.http.deps import api_caller
from gateway.http.routes.search import SEARCH_PATH
from gateway.http.scopes import ROUTE_SCOPES
from gateway.loading.seed import DATASOURCES_FILE, load_datasources
from gateway.settings import Settings
from tests.helpers import ALL_SCOPES, TEST_TENANT_ID, bearer, create_key, login, make_settings, with_es

SHOWCASE = "2d7a6a76-469c-4035-b312-fb1daf104e98"
USER = {"usr_id": "u1", "usr_name": "User 1"}


def _uses_api_caller(route: APIRoute) -> bool:
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call is api_caller:
            return True
        pending.extend(dependant.dependencies)
    return False


def _api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI keeps an included router whole
        if included is not None:
            yield from _api_routes(included.routes)


def test_every_route_a_key_may_call_is_in_the_scope_table(tmp_path: Path) -> None:
    app = create_app(make_settings(state_dir=tmp_path))
    routes = list(_api_routes(app.routes))
    paths = app.openapi()["paths"]
    documented = {route.path for route in routes if route.include_in_schema}
    assert documented == set(paths), "the walk must see every documented route"
    key_routes = {
        (method, route.path)
        for route in routes
        if _uses_api_caller(route) or route.path == SEARCH_PATH  # search authenticates on its fast path
        for method in route.methods or ()
    }
    assert key_routes - set(ROUTE_SCOPES) == set(), "routes a key may call with no scope in the table"
    assert set(ROUTE_SCOPES) - key_routes == set(), "table entries that name no key route"
    for (method, path), needs in ROUTE_SCOPES.items():
        operation = paths[path][method.lower()]
        assert operation["x-required-scope"] == needs.scope, (method, path)
        assert f"`{needs.scope}` scope" in operation["description"], (method, path)


@pytest.fixture
def admin(client: TestClient, settings: Settings) -> str:
    with_es(
        settings,
        lambda es: load_datasources(es, DATASOURCES_FILE, settings.datasource_index, settings.tenant_name),
    )
    return login(client)


def _call(client: TestClient, key: str, method: str, path: str, body: Any = None) -> Any:
    headers = {"X-API-KEY": key, "x-tenant-id": TEST_TENANT_ID}
    return client.request(method, path.replace("{datasourceId}", SHOWCASE), json=body, headers=headers)


def _forbidden(answer: Any, scope: str) -> None:
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert error["code"] == "forbidden" and f"'{scope}' scope" in error["message"]
    assert error["details"] == {"requiredScope": scope}


def test_a_search_only_key_searches_and_reads_but_is_refused_every_write_and_sync_route(
    client: TestClient, admin: str, es: Elasticsearch
) -> None:
    key = create_key(client, admin, scopes=["search"])
    writes = [entry for entry, needs in ROUTE_SCOPES.items() if needs.scope != "search"]
    assert len(writes) == 9  # four entity writes, five sync steps
    for method, path in writes:
        body = {"action": "upsert", "identities": [USER]} if path.endswith("identities") else {}
        _forbidden(_call(client, key, method, path, body), "write")
    assert es.count(index="autonomous-iam_autoid_base_identities_latest")["count"] == 0
    for method, path in ROUTE_SCOPES:
        if ROUTE_SCOPES[method, path].scope == "search" and method == "GET":
            assert _call(client, key, method, path).status_code == 200, path
    assert _call(client, key, "POST", SEARCH_PATH, {"query": {"size": 1}}).status_code == 200


def test_a_write_key_cannot_delete_nor_start_or_finish_a_full_run(client: TestClient, admin: str) -> None:
    key = create_key(client, admin)  # the default: search and write
    assert _call(client, key, "POST", "/api/ingest/identities", {"action": "upsert", "identities": [USER]})
    _forbidden(
        _call(client, key, "POST", "/api/ingest/identities", {"action": "delete", "identities": [USER]}),
        "delete",
    )
    sync = "/api/ingest/sync/{datasourceId}"
    _forbidden(_call(client, key, "POST", f"{sync}/start", {"mode": "full"}), "delete")
    started = _call(client, key, "POST", f"{sync}/start")  # no body: a run that deletes nothing
    assert started.status_code == 200 and started.json()["scopes"] == ["search", "write"]
    run = started.json()["runId"]
    finish = {"runId": run, "mode": "full", "complete": ["identities"]}
    _forbidden(_call(client, key, "POST", f"{sync}/finish", finish), "delete")
    answer = _call(client, key, "POST", f"{sync}/finish", {**finish, "mode": "incremental", "complete": []})
    assert answer.status_code == 200, answer.text  # the refused finish left the run in place


def test_scopes_are_allow_listed_and_shown(client: TestClient, admin: str) -> None:
    for scopes in (["admin"], [], ["search", "Write "], "search"):
        body = {"name": "k", "expiration": "2099-01-02", "scopes": scopes}
        answer = client.post("/api/admin/createApiToken", json=body, headers=bearer(admin))
        assert answer.status_code == 400, scopes
    default = create_key(client, admin, name="default")
    limited = create_key(client, admin, name="limited", scopes=["delete", "search", "delete"])
    for key, scopes in ((default, ["search", "write"]), (limited, ["search", "delete"])):
        shown = client.get(f"/api/admin/verifyApiToken/{key}", headers=bearer(admin)).json()
        assert shown["scopes"] == scopes
        listed = client.get("/api/admin/getTokens", params={"search": key}, headers=bearer(admin)).json()
        assert [record["scopes"] for record in listed] == [scopes]


def test_a_key_stored_before_scopes_keeps_all_three(
    client: TestClient, admin: str, es: Elasticsearch
) -> None:
    key = create_key(client, admin, scopes=["search"])
    (hit,) = es.search(index=API_KEYS_INDEX, query={"term": {"name": "Ingest Key"}})["hits"]["hits"]
    old = {name: value for name, value in hit["_source"].items() if name != "scopes"}
    es.index(index=API_KEYS_INDEX, id=hit["_id"], document=old, refresh=True)  # as stored before scopes
    shown = client.get(f"/api/admin/verifyApiToken/{key}", headers=bearer(admin)).json()
    assert shown["scopes"] == ALL_SCOPES
    for action in ("upsert", "delete"):
        answer = _call(
            client, key, "POST", "/api/ingest/identities", {"action": action, "identities": [USER]}
        )
        assert answer.status_code == 200, answer.text
    answer = _call(client, key, "POST", "/api/ingest/sync/{datasourceId}/start", {"mode": "full"})
    assert answer.status_code == 200 and answer.json()["scopes"] == ALL_SCOPES
