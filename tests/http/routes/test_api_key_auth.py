"""How API-key calls authenticate: header forms, tenants, and one 401 for every failure."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.auth.key_store import API_KEYS_INDEX
from tests.conftest import ES_TEST_TIMEOUT
from tests.helpers import (
    OTHER_TENANT_ID,
    TEST_TENANT_ID,
    ManualClock,
    bearer,
    create_key,
    login,
    make_settings,
    search,
)

UNAUTHENTICATED = {"error": {"code": "not_authenticated", "message": "Invalid API key or tenant."}}


def test_every_documented_header_form_works(client: TestClient) -> None:
    key = create_key(client, login(client))
    for headers in (
        {"authorization": key, "x-tenant-id": TEST_TENANT_ID},
        {"X-API-KEY": key},
        {"Authorization": f"ApiKey {key}"},
        {"authorization": key, "X-Tenant-ID": TEST_TENANT_ID.upper()},  # header and value case-insensitive
    ):
        assert search(client, headers).status_code == 200, headers


def test_an_admin_bearer_token_may_search(client: TestClient) -> None:
    token = login(client)
    assert search(client, bearer(token)).status_code == 200
    assert search(client, {**bearer(token), "x-tenant-id": OTHER_TENANT_ID}).status_code == 401


def test_every_failure_looks_the_same(client: TestClient, es: Elasticsearch) -> None:
    token = login(client)
    key = create_key(client, token)
    expired = create_key(client, token, name="expired")
    hits = es.search(index=API_KEYS_INDEX, query={"term": {"name": "expired"}})["hits"]["hits"]
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    es.update(index=API_KEYS_INDEX, id=hits[0]["_id"], doc={"expires_at": past}, refresh=True)
    revoked = create_key(client, token, name="revoked")
    client.post("/api/admin/revokeApiToken", json={"token": revoked}, headers=bearer(token))
    cases = {
        "no credentials": {},
        "unknown key": {"authorization": "19412ace-1d99-44b2-88e0-16136fc5c77a"},
        "garbage": {"authorization": "x" * 300},
        "wrong tenant": {"authorization": key, "x-tenant-id": OTHER_TENANT_ID},
        "malformed tenant": {"authorization": key, "x-tenant-id": "tenant"},
        "expired": {"authorization": expired},
        "revoked": {"authorization": revoked},
        "bad bearer": bearer("not.a.jwt"),
    }
    for name, headers in cases.items():
        response = search(client, headers)
        assert response.status_code == 401, name
        if name != "bad bearer":
            assert response.json() == UNAUTHENTICATED, name


def test_a_key_of_another_deployment_is_refused(client: TestClient, es_url: str, tmp_path: Path) -> None:
    key = create_key(client, login(client))
    # Same cluster and secrets, other tenant: the key is not valid there.
    state_dir = client.app.state.services.settings.state_dir  # type: ignore[attr-defined]
    other = make_settings(
        es_url=es_url, tenant_id=OTHER_TENANT_ID, state_dir=state_dir, es_request_timeout=ES_TEST_TIMEOUT
    )
    with TestClient(create_app(other)) as other_client:
        assert search(other_client, {"authorization": key}).json() == UNAUTHENTICATED
    assert search(client, {"authorization": key}).status_code == 200


def test_a_key_stops_working_when_its_expiration_passes(client: TestClient, clock: ManualClock) -> None:
    token = login(client)
    tomorrow = (clock.now() + dt.timedelta(days=1)).date().isoformat()
    key = create_key(client, token, expiration=tomorrow)  # valid through the end of that day, UTC
    assert search(client, {"authorization": key}).status_code == 200  # verified, and now cached
    clock.advance(dt.timedelta(days=2).total_seconds())
    assert search(client, {"authorization": key}).json() == UNAUTHENTICATED
    verified = client.get(f"/api/admin/verifyApiToken/{key}", headers=bearer(login(client))).json()
    assert verified["is_valid"] is False
