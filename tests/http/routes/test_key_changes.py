"""/api/admin/updateApiToken and rotateApiToken (SPEC §10): change a key, replace it with an overlap."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import TEST_TENANT_ID, ManualClock, bearer, create_key, login, search

UPDATE = "/api/admin/updateApiToken"
ROTATE = "/api/admin/rotateApiToken"
USER = {"usr_id": "u1", "usr_name": "Ann"}


@pytest.fixture
def token(client: TestClient) -> str:
    return login(client)


def _key_headers(key: str) -> dict[str, str]:
    return {"authorization": key, "x-tenant-id": TEST_TENANT_ID}


def _write(client: TestClient, key: str) -> int:
    body = {"action": "upsert", "identities": [USER]}
    headers = {"X-API-KEY": key, "x-tenant-id": TEST_TENANT_ID}
    return client.post("/api/ingest/identities", json=body, headers=headers).status_code


def _record(client: TestClient, token: str, key: str) -> dict[str, Any]:
    found = client.get("/api/admin/getTokens", params={"search": key}, headers=bearer(token)).json()
    assert len(found) == 1
    record: dict[str, Any] = found[0]
    return record


def _post(client: TestClient, token: str, path: str, body: Any) -> Any:
    return client.post(path, json=body, headers=bearer(token))


def test_narrowing_a_key_takes_effect_at_once_and_answers_the_updated_record(
    client: TestClient, token: str
) -> None:
    key = create_key(client, token, description="nightly")
    assert _write(client, key) == 200  # the key is now cached by this replica
    record = _record(client, token, key)

    answer = _post(client, token, UPDATE, {"id": record["id"], "scopes": ["search"]})
    assert answer.status_code == 200, answer.text
    updated = answer.json()
    assert updated["scopes"] == ["search"] and updated["id"] == record["id"]
    assert updated["description"] == "nightly"  # what the update did not name stays as it was
    assert updated == _record(client, token, key)
    assert _write(client, key) == 403
    assert search(client, _key_headers(key)).status_code == 200


def test_restrictions_change_and_null_removes_a_limit(client: TestClient, token: str) -> None:
    key = create_key(
        client,
        token,
        datasources=["ds-a"],
        allowedNetworks=["10.0.0.0/8"],
        rateLimit={"requests": 5, "perSeconds": 60},
    )
    change = {"token": key, "datasources": None, "rateLimit": {"requests": 9, "perSeconds": 1}}
    updated = _post(client, token, UPDATE, change).json()
    assert updated["datasources"] is None
    assert updated["allowedNetworks"] == ["10.0.0.0/8"]
    assert updated["rateLimit"] == {"requests": 9, "perSeconds": 1}
    updated = _post(client, token, UPDATE, {"token": key, "rateLimit": None, "allowedNetworks": None}).json()
    assert updated["rateLimit"] is None and updated["allowedNetworks"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"description": "no key named"},
        {"id": "x", "token": "y", "description": "both"},
        {"id": "x", "description": None},
        {"id": "x", "expiration": None},
        {"id": "x", "scopes": []},
        {"id": "x", "scopes": ["admin"]},
        {"id": "x", "name": "renamed"},
        {"id": "x", "datasources": []},
        {"id": "x", "allowedNetworks": ["10.0.0.1/8"]},
    ],
)
def test_malformed_updates_are_refused(client: TestClient, token: str, body: dict[str, Any]) -> None:
    assert _post(client, token, UPDATE, body).status_code == 400


def test_bad_values_and_unknown_keys(client: TestClient, token: str) -> None:
    key = create_key(client, token)
    assert _post(client, token, UPDATE, {"token": key, "expiration": "2001-01-01"}).status_code == 400
    assert _post(client, token, UPDATE, {"token": key, "description": "a\u202eb"}).status_code == 400
    assert _post(client, token, UPDATE, {"id": "0" * 32, "description": "x"}).status_code == 404
    assert _post(client, token, ROTATE, {"id": "0" * 32}).status_code == 404


def test_a_revoked_key_cannot_be_changed(client: TestClient, token: str) -> None:
    key = create_key(client, token)
    assert _post(client, token, "/api/admin/revokeApiToken", {"token": key}).status_code == 200
    answer = _post(client, token, UPDATE, {"token": key, "expiration": "2099-06-01"})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "conflict"
    assert search(client, _key_headers(key)).status_code == 401


def test_an_expired_key_gets_a_new_expiration(client: TestClient, token: str, clock: ManualClock) -> None:
    tomorrow = (clock.now() + dt.timedelta(days=1)).date().isoformat()
    key = create_key(client, token, expiration=tomorrow)
    clock.advance(3 * 86_400)
    assert search(client, _key_headers(key)).status_code == 401
    later = (clock.now() + dt.timedelta(days=30)).date().isoformat()
    token = login(client)  # the admin's session ended meanwhile
    updated = _post(client, token, UPDATE, {"token": key, "expiration": later}).json()
    assert updated["expiration"] == later and updated["is_valid"] is True
    assert search(client, _key_headers(key)).status_code == 200


def test_rotation_gives_a_new_key_with_the_same_settings_and_ends_the_old_one_after_the_overlap(
    client: TestClient, token: str, clock: ManualClock
) -> None:
    key = create_key(
        client,
        token,
        name="Nightly",
        scopes=["search"],
        datasources=["ds-a"],
        allowedNetworks=["127.0.0.0/8"],
    )
    old = _record(client, token, key)
    answer = _post(client, token, ROTATE, {"token": key, "overlapHours": 2})
    assert answer.status_code == 200, answer.text
    rotated = answer.json()
    assert list(rotated) == ["token", "id", "previousExpires"]
    new_key = rotated["token"]
    expected_end = clock.now() + dt.timedelta(hours=2)
    assert abs(dt.datetime.fromisoformat(rotated["previousExpires"]) - expected_end) < dt.timedelta(minutes=1)

    new = _record(client, token, new_key)
    assert new["id"] == rotated["id"] != old["id"]
    for field in ("name", "description", "scopes", "datasources", "allowedNetworks", "rateLimit"):
        assert new[field] == old[field], field
    assert new["expires_at"] == old["expires_at"]
    assert new["rotated_from"] == old["id"]
    now_old = _record(client, token, key)
    assert now_old["rotated_to"] == new["id"] and now_old["expires_at"] == rotated["previousExpires"]

    for value in (key, new_key):  # both work during the overlap
        assert search(client, _key_headers(value)).status_code == 200
    clock.advance(2 * 3600 + 1)
    assert search(client, _key_headers(key)).status_code == 401
    assert search(client, _key_headers(new_key)).status_code == 200


def test_rotation_with_no_overlap_ends_the_old_key_at_once(client: TestClient, token: str) -> None:
    key = create_key(client, token)
    assert search(client, _key_headers(key)).status_code == 200  # cached
    new_key = _post(client, token, ROTATE, {"token": key, "overlapHours": 0}).json()["token"]
    assert search(client, _key_headers(key)).status_code == 401
    assert search(client, _key_headers(new_key)).status_code == 200


def test_an_overlap_never_extends_a_key(client: TestClient, token: str, clock: ManualClock) -> None:
    soon = (clock.now() + dt.timedelta(hours=3)).isoformat(timespec="seconds").replace("+00:00", "")
    key = create_key(client, token, expiration=soon)
    expires = _record(client, token, key)["expires_at"]
    rotated = _post(client, token, ROTATE, {"token": key}).json()  # default overlap: 24 hours
    assert rotated["previousExpires"] == expires
    assert _record(client, token, rotated["token"])["expires_at"] == expires


def test_revoked_expired_and_rotated_keys_cannot_be_rotated(
    client: TestClient, token: str, clock: ManualClock
) -> None:
    revoked = create_key(client, token)
    _post(client, token, "/api/admin/revokeApiToken", {"token": revoked})
    expiring = create_key(client, token, expiration=(clock.now() + dt.timedelta(days=1)).date().isoformat())
    rotated = create_key(client, token)
    assert _post(client, token, ROTATE, {"token": rotated}).status_code == 200
    clock.advance(3 * 86_400)
    token = login(client)
    for key in (revoked, expiring, rotated):
        answer = _post(client, token, ROTATE, {"token": key})
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize("overlap", [-1, 169, "soon", None])
def test_the_overlap_is_bounded(client: TestClient, token: str, overlap: Any) -> None:
    key = create_key(client, token)
    assert _post(client, token, ROTATE, {"token": key, "overlapHours": overlap}).status_code == 400


def test_keys_need_an_admin(client: TestClient, token: str) -> None:
    key = create_key(client, token)
    for path, body in ((UPDATE, {"token": key, "description": "x"}), (ROTATE, {"token": key})):
        assert client.post(path, json=body, headers=_key_headers(key)).status_code == 401
