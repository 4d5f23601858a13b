"""What the Self-Service page needs beyond the original API: status filters, expiry bound, the tenant id."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from tests.helpers import TEST_TENANT_ID, ManualClock, bearer, create_key, login

TOKENS = "/api/admin/getTokens"


@pytest.fixture
def token(client: TestClient) -> str:
    return login(client)


def _names(client: TestClient, token: str, **params: str) -> list[str]:
    response = client.get(TOKENS, params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    return [entry["name"] for entry in response.json()]


def test_status_filter_keeps_active_expired_or_revoked_keys(
    client: TestClient, token: str, clock: ManualClock
) -> None:
    soon = (clock.now() + dt.timedelta(hours=1)).isoformat()
    create_key(client, token, name="short", expiration=soon)
    revoked = create_key(client, token, name="revoked")
    create_key(client, token, name="active")
    client.post("/api/admin/revokeApiToken", json={"token": revoked}, headers=bearer(token))
    clock.advance(2 * 3600)
    token = login(client)  # the clock moved past the first token's life
    assert _names(client, token) == ["active", "revoked", "short"]
    assert _names(client, token, status="active") == ["active"]
    assert _names(client, token, status="expired") == ["short"]
    assert _names(client, token, status="revoked") == ["revoked"]
    listed = client.get(TOKENS, headers=bearer(token)).json()
    assert [(e["revoked"], e["is_valid"]) for e in listed] == [(False, True), (True, False), (False, False)]
    assert client.get(TOKENS, params={"status": "lost"}, headers=bearer(token)).status_code == 400


def test_a_full_key_search_honours_the_status_filter(client: TestClient, token: str) -> None:
    key = create_key(client, token, name="by key")
    assert _names(client, token, search=key, status="active") == ["by key"]
    assert _names(client, token, search=key, status="revoked") == []


def test_expires_before_finds_the_keys_about_to_expire(
    client: TestClient, token: str, clock: ManualClock
) -> None:
    in_three_days = (clock.now() + dt.timedelta(days=3)).date().isoformat()
    create_key(client, token, name="ends soon", expiration=in_three_days)
    create_key(client, token, name="ends later", expiration="2099-01-02")
    week = (clock.now() + dt.timedelta(days=7)).isoformat()
    assert _names(client, token, status="active", expiresBefore=week) == ["ends soon"]
    assert _names(client, token, expiresBefore="2099-12-31T00:00:00") == ["ends later", "ends soon"]


def test_the_tenant_route_names_the_tenant_keys_belong_to(client: TestClient, token: str) -> None:
    response = client.get("/api/admin/tenant", headers=bearer(token))
    assert response.json() == {"tenantId": TEST_TENANT_ID, "tenantName": "autonomous-iam"}
    assert client.get("/api/admin/tenant").status_code == 401
