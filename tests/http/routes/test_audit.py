"""The audit trail through GET /api/admin/audit: every admin action and refused key use is in it, a flood of
refusals is one counted event a minute, and no key, password or token ever is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.audit.store import AUDIT_PATTERN
from gateway.loading.seed import DATASOURCES_FILE, load_datasources
from gateway.services import Services
from gateway.settings import Settings
from tests.conftest import ES_TEST_TIMEOUT
from tests.helpers import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    ALL_SCOPES,
    OTHER_TENANT_ID,
    TEST_TENANT_ID,
    FrozenClock,
    bearer,
    create_key,
    eventually,
    login,
    make_settings,
    search,
    with_es,
)

AUDIT = "/api/admin/audit"
LOGIN = "/api/authentication/login"
SHOWCASE = "2d7a6a76-469c-4035-b312-fb1daf104e98"
WRONG_PASSWORD = "not-the-right-one-7f3a"
TYPED_INTO_THE_NAME = "my-secret-password-9c1e"  # a password typed into the user name field


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()  # refusals in one test land in one minute


def _services(client: TestClient) -> Services:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


def flush(client: TestClient, clock: FrozenClock) -> None:
    """Let the counted minute end and write it, as the once-a-minute task does."""
    clock.advance(61)
    client.portal.call(_services(client).audit.flush)  # type: ignore[union-attr]


def events(client: TestClient, token: str, **filters: Any) -> list[dict[str, Any]]:
    answer = client.get(AUDIT, params=filters, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["events"]
    return found


def _headers(key: str, tenant: str = TEST_TENANT_ID) -> dict[str, str]:
    return {"X-API-KEY": key, "x-tenant-id": tenant}


def _key_id(client: TestClient, token: str, key: str) -> str:
    found = client.get("/api/admin/getTokens", params={"search": key}, headers=bearer(token)).json()
    key_id: str = found[0]["id"]
    return key_id


def test_every_admin_action_and_refusal_is_in_the_trail_and_no_secret_is(
    client: TestClient, clock: FrozenClock, es: Elasticsearch
) -> None:
    assert client.post(LOGIN, json={"username": ADMIN_USER, "password": WRONG_PASSWORD}).status_code == 401
    typo = {"username": TYPED_INTO_THE_NAME, "password": ADMIN_PASSWORD}
    assert client.post(LOGIN, json=typo).status_code == 401
    token = login(client)
    first = create_key(client, token, name="Nightly")
    first_id = _key_id(client, token, first)
    update = {"id": first_id, "description": "nightly HR", "scopes": ["search"]}
    assert client.post("/api/admin/updateApiToken", json=update, headers=bearer(token)).status_code == 200
    rotate = {"id": first_id, "overlapHours": 0}
    rotated = client.post("/api/admin/rotateApiToken", json=rotate, headers=bearer(token)).json()
    second = rotated["token"]
    reader = create_key(client, token, name="Reader", scopes=["search"])
    reader_id = _key_id(client, token, reader)

    # Refused uses of known keys: expired (rotated away), another tenant, no scope (three times), revoked.
    assert search(client, _headers(first)).status_code == 401
    assert search(client, _headers(second, OTHER_TENANT_ID)).status_code == 401
    write = {"action": "upsert", "identities": [{"usr_id": "u1", "usr_name": "Ann"}]}
    for _ in range(3):
        assert client.post("/api/ingest/identities", json=write, headers=_headers(reader)).status_code == 403
    assert (
        client.post("/api/admin/revokeApiToken", json={"token": reader}, headers=bearer(token)).status_code
        == 200
    )
    assert search(client, _headers(reader)).status_code == 401
    assert (
        client.post("/api/admin/deleteApiToken", json={"token": reader}, headers=bearer(token)).status_code
        == 200
    )
    assert client.post("/api/authentication/logout", headers=bearer(token)).status_code == 204

    flush(client, clock)
    token = login(client)
    trail = events(client, token, maxResults=1000)
    seen = sorted((e["action"], e["outcome"], e["actor"] or "", e["keyName"] or "") for e in trail)
    assert seen == sorted(
        [
            ("login", "failure", ADMIN_USER, ""),
            ("login", "failure", "", ""),  # no such account: what was typed is not recorded
            ("login", "success", ADMIN_USER, ""),
            ("login", "success", ADMIN_USER, ""),  # the one reading the trail
            ("key.create", "success", ADMIN_USER, "Nightly"),
            ("key.update", "success", ADMIN_USER, "Nightly"),
            ("key.rotate", "success", ADMIN_USER, "Nightly"),
            ("key.create", "success", ADMIN_USER, "Reader"),
            ("key.revoke", "success", ADMIN_USER, "Reader"),
            ("key.delete", "success", ADMIN_USER, "Reader"),
            ("logout", "success", ADMIN_USER, ""),
            ("key.refused", "refused", "Nightly", "Nightly"),  # the old key, expired by the rotation
            ("key.refused", "refused", "Nightly", "Nightly"),  # the new key, with another tenant's id
            ("key.refused", "refused", "Reader", "Reader"),
            ("key.refused", "refused", "Reader", "Reader"),
        ]
    )
    by_action = {(e["action"], e["keyId"], (e["details"] or {}).get("reason")): e for e in trail}
    assert by_action["key.update", first_id, None]["details"]["changed"] == {
        "description": {"old": "for tests", "new": "nightly HR"},
        "scopes": {"old": ["search", "write"], "new": ["search"]},
    }
    rotation = by_action["key.rotate", first_id, None]
    assert rotation["details"]["newKeyId"] == rotated["id"] and rotation["details"]["overlapHours"] == 0
    refusals = {(e["keyId"], e["details"]["reason"]): e for e in trail if e["action"] == "key.refused"}
    assert set(refusals) == {
        (first_id, "expired"),
        (rotated["id"], "tenant"),
        (reader_id, "scope"),
        (reader_id, "revoked"),
    }
    assert refusals[reader_id, "scope"]["count"] == 3
    assert refusals[reader_id, "scope"]["keyName"] == "Reader"
    assert all(e["address"] == "testclient" for e in trail)
    assert all(e["time"] for e in trail)

    es.indices.refresh(index=AUDIT_PATTERN)
    stored = json.dumps(es.search(index=AUDIT_PATTERN, size=1000)["hits"]["hits"])
    for secret in (first, second, reader, token, ADMIN_PASSWORD, WRONG_PASSWORD, TYPED_INTO_THE_NAME):
        assert secret not in stored


def test_filters_and_paging_newest_first(client: TestClient, clock: FrozenClock) -> None:
    token = login(client)
    keys = []
    for number in range(5):
        clock.advance(1)
        keys.append(create_key(client, token, name=f"key {number}"))
    created = events(client, token, action="key.create")
    assert [e["keyName"] for e in created] == [f"key {n}" for n in range(4, -1, -1)]
    page = client.get(
        AUDIT, params={"action": "key.create", "maxResults": 2, "offset": 2}, headers=bearer(token)
    )
    assert page.json()["total"] == 5
    assert [e["keyName"] for e in page.json()["events"]] == ["key 2", "key 1"]

    one = _key_id(client, token, keys[1])
    assert [e["keyName"] for e in events(client, token, keyId=one)] == ["key 1"]
    assert {e["action"] for e in events(client, token, actor=ADMIN_USER)} == {"login", "key.create"}
    assert events(client, token, actor="someone-else") == []
    middle = created[2]["time"]
    assert [e["keyName"] for e in events(client, token, action="key.create", to=middle)] == ["key 1", "key 0"]
    assert [e["keyName"] for e in events(client, token, action="key.create", **{"from": middle})] == [
        "key 4",
        "key 3",
        "key 2",
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"action": "key.explode"},
        {"from": "yesterday"},
        {"to": "1700000000"},
        {"maxResults": 0},
        {"maxResults": 1001},
        {"offset": -1},
        {"offset": 10_000},
        {"keyId": "x" * 65},
    ],
)
def test_bad_filters_are_refused(client: TestClient, params: dict[str, Any]) -> None:
    answer = client.get(AUDIT, params=params, headers=bearer(login(client)))
    assert answer.status_code == 400, answer.text


def test_only_admins_read_the_trail(client: TestClient) -> None:
    key = create_key(client, login(client), scopes=ALL_SCOPES)
    assert client.get(AUDIT).status_code == 401
    assert client.get(AUDIT, headers={"authorization": key, "x-tenant-id": TEST_TENANT_ID}).status_code == 401


def test_a_sync_finish_is_recorded_with_its_deletes_and_force(
    client: TestClient, settings: Settings, clock: FrozenClock
) -> None:
    with_es(
        settings,
        lambda es: load_datasources(es, DATASOURCES_FILE, settings.datasource_index, settings.tenant_name),
    )
    token = login(client)
    key = create_key(client, token, name="HR job", scopes=ALL_SCOPES)
    sync = f"/api/ingest/sync/{SHOWCASE}"
    users = [{"usr_id": f"u{n}", "usr_name": f"User {n}"} for n in range(3)]

    def full_run(written: list[dict[str, str]], force: bool) -> Any:
        run = client.post(f"{sync}/start", headers=_headers(key)).json()["runId"]
        body = {"action": "upsert", "identities": written, "datasourceId": SHOWCASE, "syncRun": run}
        assert client.post("/api/ingest/identities", json=body, headers=_headers(key)).status_code == 200
        finish = {"runId": run, "mode": "full", "complete": ["identities"], "force": force}
        answer = client.post(f"{sync}/finish", json=finish, headers=_headers(key))
        assert answer.status_code == 200, answer.text
        return run

    full_run(users, force=False)
    clock.advance(1)
    run = full_run(users[:1], force=True)  # two of three left the source: past the share, so forced

    event = events(client, token, action="sync.finish")[0]  # the newest
    assert event["keyId"] == _key_id(client, token, key) and event["keyName"] == "HR job"
    assert event["details"] == {
        "datasourceId": SHOWCASE,
        "runId": run,
        "mode": "full",
        "force": True,
        "deleted": {**dict.fromkeys(event["details"]["deleted"], 0), "identities": 2},
    }


def test_throttled_logins_are_counted_per_client_and_minute(
    es: Elasticsearch, es_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    settings = make_settings(
        es_url=es_url,
        state_dir=tmp_path,
        login_max_failures_per_account_client=1,
        login_failure_window_seconds=30,  # over by the time the minute is written
        es_request_timeout=ES_TEST_TIMEOUT,
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        wrong = {"username": ADMIN_USER, "password": WRONG_PASSWORD}
        assert client.post(LOGIN, json=wrong).status_code == 401
        for _ in range(4):
            assert client.post(LOGIN, json=wrong).status_code == 429
        flush(client, clock)
        token = login(client)
        logins = events(client, token, action="login")
    counted = [e for e in logins if e["outcome"] == "throttled"]
    assert len(counted) == 1 and counted[0]["count"] == 4 and counted[0]["actor"] is None
    assert counted[0]["address"] == "testclient"


def test_records_show_the_address_a_key_was_last_used_from(client: TestClient) -> None:
    token = login(client)
    key = create_key(client, token)
    assert _key_id(client, token, key)
    found = client.get("/api/admin/getTokens", params={"search": key}, headers=bearer(token)).json()
    assert found[0]["last_used_address"] is None
    assert search(client, _headers(key)).status_code == 200

    def last_address() -> Any:
        found = client.get("/api/admin/getTokens", params={"search": key}, headers=bearer(token)).json()
        return found[0]["last_used_address"]

    assert eventually(last_address, "the key's last use to be recorded") == "testclient"
