"""Every id a caller sends that reaches an Elasticsearch URL path answers a clear 4xx JSON error.

Dot segments (plain or percent-encoded), ``/``, ``?``, ``#`` and control characters, as a path parameter
(raw, and encoded so the route receives exactly the value) or in a body; even when a data source with
that id exists. Never a 500, never Elasticsearch's own words. The routes come from the app's OpenAPI
description, so a new route with a path parameter fails here until it is probed too.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.ingest.entities import ENTITY_KINDS
from gateway.loading.seed import DATASOURCES_FILE, load_datasources
from gateway.settings import Settings
from tests.helpers import TEST_TENANT_ID, bearer, create_key, login, showcase_datasource, with_es

PROBES = [".", "..", "%2e", "%2e%2e", "/", "?", "#", "a/../b", "", " ", "\x00", "a\r\nb", "a\u202eb", "..\\x"]
SHOWCASE = "2d7a6a76-469c-4035-b312-fb1daf104e98"
SYNC = "/api/ingest/sync/{datasourceId}"
# Each route with a path parameter, and a body that is valid but for the id.
PATH_ROUTES: dict[str, dict[str, Any] | None] = {
    f"{SYNC}/start": None,
    f"{SYNC}/renew": {"runId": "r"},
    f"{SYNC}/finish": {"runId": "r", "mode": "full"},
    f"{SYNC}/abort": {"runId": "r", "reason": "probe"},
    f"{SYNC}/check": {"entity": "identities", "keys": []},
    "/api/admin/verifyApiToken/{token}": None,
}
ELASTICSEARCH_WORDS = ("uri [", "_doc", "exception", "gateway-", "autonomous-iam", "index_not_found")


@pytest.fixture
def credentials(client: TestClient, settings: Settings, es: Elasticsearch) -> dict[str, dict[str, str]]:
    """Headers of an API key and of an admin; data sources named by every probe; the lease index."""
    with_es(
        settings,
        lambda es: load_datasources(es, DATASOURCES_FILE, settings.datasource_index, settings.tenant_name),
    )
    for number, probe in enumerate(PROBES):
        document = {**showcase_datasource(), "datasource_id": probe}
        es.index(index=settings.datasource_index, id=f"probe-{number}", document=document)
    es.indices.refresh(index=settings.datasource_index)
    admin = bearer(login(client))
    caller = {"X-API-KEY": create_key(client, admin["Authorization"][7:]), "x-tenant-id": TEST_TENANT_ID}
    run = client.post(f"/api/ingest/sync/{SHOWCASE}/start", headers=caller)
    assert run.status_code == 200, run.text  # the lease index exists: its root answers 200
    return {"caller": caller, "admin": admin}


def assert_clear_refusal(answer: Any, *statuses: int) -> None:
    sent = f"{answer.request.method} {answer.request.url.raw_path.decode()}: {answer.text}"
    assert 400 <= answer.status_code < 500, sent
    if statuses:
        assert answer.status_code in statuses, sent
    error = answer.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str), sent
    assert error["code"] != "elasticsearch_rejected", sent
    assert not any(word in answer.text for word in ELASTICSEARCH_WORDS), sent


def percent_encoded(value: str) -> str:
    """Every byte as %XX (even . and letters), so the route receives exactly ``value``."""
    return "".join(f"%{byte:02X}" for byte in value.encode())


def test_every_route_with_a_path_parameter_is_probed(client: TestClient) -> None:
    # Every API route is in the OpenAPI description; the rest are the page and its static files.
    paths = client.get("/openapi.json").json()["paths"]
    assert {path for path in paths if "{" in path} == set(PATH_ROUTES)


def test_an_id_in_a_path_never_reaches_elasticsearch_as_another_url(
    client: TestClient, credentials: dict[str, dict[str, str]]
) -> None:
    for probe in PROBES:
        # Raw as a client would send it (no HTTP client sends a control character unencoded), and encoded.
        segments = [percent_encoded(probe)] + ([probe] if probe.isprintable() else [])
        for segment, (template, body) in itertools.product(segments, PATH_ROUTES.items()):
            path = template.replace("{datasourceId}", segment).replace("{token}", segment)
            admin = "{token}" in template
            method, headers = ("GET", credentials["admin"]) if admin else ("POST", credentials["caller"])
            answer = client.request(method, path, json=body, headers=headers)
            if segment != probe and probe and "/" not in probe and not admin:
                assert_clear_refusal(answer, 400)  # the route received the value: outside the grammar
            else:
                assert_clear_refusal(answer)  # another route, none, or a key that does not exist


def test_an_id_in_a_body_never_reaches_elasticsearch_as_another_url(
    client: TestClient, credentials: dict[str, dict[str, str]]
) -> None:
    for probe in PROBES:
        login_answer = client.post("/api/authentication/login", json={"username": probe, "password": "x"})
        assert_clear_refusal(login_answer, 400, 401, 429)
        for entity, kind in ENTITY_KINDS.items():
            items = [{field: "x" for field in kind.id_fields}]
            body = {"action": "upsert", kind.list_key: items, "datasourceId": probe, "syncRun": "r"}
            answer = client.post(f"/api/ingest/{entity}", json=body, headers=credentials["caller"])
            assert_clear_refusal(answer, 400)
        for action, field in itertools.product(("revokeApiToken", "deleteApiToken"), ("id", "token")):
            answer = client.post(f"/api/admin/{action}", json={field: probe}, headers=credentials["admin"])
            assert_clear_refusal(answer, 400, 404)
