"""/api/admin: create, verify, list, search, revoke and delete API keys."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.auth.key_store import API_KEYS_INDEX
from tests.helpers import ADMIN_USER, TEST_TENANT_ID, bearer, create_key, login, search

CREATE = "/api/admin/createApiToken"


@pytest.fixture
def token(client: TestClient) -> str:
    return login(client)


def test_create_returns_a_uuid_key_once(client: TestClient, token: str, es: Elasticsearch) -> None:
    response = client.post(
        CREATE,
        json={
            "name": "Ingest Key",
            "description": "API key for ingestion endpoints",
            "expiration": "2099-01-02",
        },
        headers=bearer(token),
    )
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["token"]
    key = body["token"]
    assert len(key) == 36 and key.count("-") == 4
    record = es.search(index=API_KEYS_INDEX)["hits"]["hits"][0]
    assert record["_id"] != key and len(record["_id"]) == 64  # stored under its HMAC digest
    assert key not in json.dumps(record)
    assert record["_source"]["hint"] == key[-4:]
    assert record["_source"]["tenant_id"] == TEST_TENANT_ID


def test_verify_shows_the_original_fields(client: TestClient, token: str) -> None:
    key = create_key(client, token, name="Nightly", description="nightly job", expiration="2099-01-02")
    body = client.get(f"/api/admin/verifyApiToken/{key}", headers=bearer(token)).json()
    assert body == {
        "name": "Nightly",
        "description": "nightly job",
        "expiration": "2099-01-02",
        "is_valid": True,
        "creator": ADMIN_USER,
        "modifier": ADMIN_USER,
        # ours (SPEC §10), after the original's fields
        "scopes": ["search", "write"],
        "datasources": None,
        "allowedNetworks": None,
        "rateLimit": None,
    }


def test_a_key_keeps_the_restrictions_it_was_created_with(client: TestClient, token: str) -> None:
    key = create_key(
        client,
        token,
        scopes=["search"],
        datasources=["ds-b", "ds-a", "ds-b"],
        allowedNetworks=["10.1.0.0/16", "2001:DB8::/32"],
        rateLimit={"requests": 5, "perSeconds": 60},
    )
    body = client.get(f"/api/admin/verifyApiToken/{key}", headers=bearer(token)).json()
    assert body["scopes"] == ["search"]
    assert body["datasources"] == ["ds-a", "ds-b"]
    assert body["allowedNetworks"] == ["10.1.0.0/16", "2001:db8::/32"]
    assert body["rateLimit"] == {"requests": 5, "perSeconds": 60}
    off = create_key(client, token, rateLimit=False)
    assert client.get(f"/api/admin/verifyApiToken/{off}", headers=bearer(token)).json()["rateLimit"] is False
    listed = client.get("/api/admin/getTokens", headers=bearer(token)).json()
    assert {entry["hint"]: entry["allowedNetworks"] for entry in listed}[key[-4:]] == [
        "10.1.0.0/16",
        "2001:db8::/32",
    ]


@pytest.mark.parametrize(
    "restriction",
    [
        {"datasources": []},
        {"datasources": [".."]},
        {"datasources": ["a b"]},
        {"allowedNetworks": []},
        {"allowedNetworks": ["10.0.0.1/8"]},
        {"allowedNetworks": ["localhost"]},
        {"allowedNetworks": ["10.0.0.0/8,11.0.0.0/8"]},
        {"rateLimit": {"requests": 0, "perSeconds": 60}},
        {"rateLimit": {"requests": 5}},
        {"rateLimit": {"requests": 5, "perSeconds": 60, "burst": 9}},
        {"rateLimit": True},
        {"rateLimit": "5/60"},
    ],
)
def test_restrictions_outside_their_forms_are_refused(
    client: TestClient, token: str, restriction: dict[str, Any]
) -> None:
    body = {"name": "k", "expiration": "2099-01-02", **restriction}
    response = client.post(CREATE, json=body, headers=bearer(token))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in ("bad_request", "invalid_request", "invalid_id")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "k", "expiration": "2022-01-02"}, "in the past"),
        ({"name": "k", "expiration": "next week"}, "not a date"),
        ({"name": "k", "expiration": "2099-02-30"}, "not a date"),
        ({"expiration": "2099-01-02"}, "name"),
        ({"name": "   ", "expiration": "2099-01-02"}, "name"),
        ({"name": "k"}, "expiration"),
        ({"name": "k", "expiration": "2099-01-02", "admin": True}, "admin"),
        ({"name": 7, "expiration": "2099-01-02"}, "name"),
        ({"name": "k", "expiration": "9999-12-31"}, "more than 100 years ahead"),
        ({"name": "k", "expiration": "9999-12-31T23:59:59-01:00"}, "more than 100 years ahead"),
        (
            {"name": "a\u0000b", "expiration": "2099-01-02"},
            "name may hold printable characters only, not U+0000",
        ),
        ({"name": "a\r\nb", "expiration": "2099-01-02"}, "not U+000D"),
        ({"name": "evil\u202egnp.exe", "expiration": "2099-01-02"}, "not U+202E"),
        ({"name": "a\u2066b", "expiration": "2099-01-02"}, "not U+2066"),
        ({"name": "k", "description": "line\u2028break", "expiration": "2099-01-02"}, "description"),
        ({"name": "k", "description": "a\nb", "expiration": "2099-01-02"}, "not U+000A"),
        ({"name": "zero\u200bwidth", "expiration": "2099-01-02"}, "not U+200B"),
    ],
)
def test_bad_create_requests_are_400_with_a_reason(
    client: TestClient, token: str, body: dict[str, Any], fragment: str
) -> None:
    response = client.post(CREATE, json=body, headers=bearer(token))
    assert response.status_code == 400
    assert fragment in json.dumps(response.json())


def test_a_date_is_valid_through_its_end_in_either_iso_form(client: TestClient, token: str) -> None:
    create_key(client, token, name="basic", expiration="20990101")
    create_key(client, token, name="extended", expiration="2099-01-01")
    listed = client.get("/api/admin/getTokens", headers=bearer(token)).json()
    assert {entry["expires_at"] for entry in listed} == {"2099-01-02T00:00:00+00:00"}


def test_printable_names_in_any_script_are_kept(client: TestClient, token: str) -> None:
    key = create_key(client, token, name="Ingestión — 取り込み ✓", description="tab-free, spaced  text")
    assert client.get(f"/api/admin/verifyApiToken/{key}", headers=bearer(token)).json()["name"] == (
        "Ingestión — 取り込み ✓"
    )


def test_admin_routes_need_a_token(client: TestClient) -> None:
    for method, path in [
        ("POST", CREATE),
        ("POST", "/api/admin/revokeApiToken"),
        ("POST", "/api/admin/deleteApiToken"),
        ("GET", "/api/admin/getTokens"),
        ("GET", "/api/admin/verifyApiToken/19412ace-1d99-44b2-88e0-16136fc5c77a"),
    ]:
        response = client.request(method, path, json={})
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "not_authenticated"


def test_list_pages_newest_first_with_hints_but_no_keys(client: TestClient, token: str) -> None:
    keys = [create_key(client, token, name=f"key {n}") for n in range(3)]
    listed = client.get("/api/admin/getTokens", headers=bearer(token)).json()
    assert [r["name"] for r in listed] == ["key 2", "key 1", "key 0"]
    assert [r["hint"] for r in listed] == [k[-4:] for k in reversed(keys)]
    assert not any(key in json.dumps(listed) for key in keys)
    page = client.get("/api/admin/getTokens?maxResults=1&offset=1", headers=bearer(token)).json()
    assert [r["name"] for r in page] == ["key 1"]
    assert client.get("/api/admin/getTokens?maxResults=0", headers=bearer(token)).status_code == 400
    # Each bound holds on its own (the schema can say that): a page reaching past the window stops there.
    last = client.get("/api/admin/getTokens?offset=9999&maxResults=10", headers=bearer(token))
    assert (last.status_code, last.json()) == (200, [])
    assert client.get("/api/admin/getTokens?offset=10000", headers=bearer(token)).status_code == 400


def test_search_by_name_or_by_full_key(client: TestClient, token: str) -> None:
    create_key(client, token, name="Ingest Key")
    nightly = create_key(client, token, name="Nightly export")
    by_name = client.get("/api/admin/getTokens", params={"search": "nightly"}, headers=bearer(token)).json()
    assert [r["name"] for r in by_name] == ["Nightly export"]
    by_key = client.get("/api/admin/getTokens", params={"search": nightly}, headers=bearer(token)).json()
    assert [r["hint"] for r in by_key] == [nightly[-4:]]
    unknown = "19412ace-1d99-44b2-88e0-16136fc5c77a"
    assert client.get("/api/admin/getTokens", params={"search": unknown}, headers=bearer(token)).json() == []


def test_revoke_disables_the_key_but_keeps_it_listed(client: TestClient, token: str) -> None:
    key = create_key(client, token)
    assert search(client, {"authorization": key}).status_code == 200
    response = client.post("/api/admin/revokeApiToken", json={"token": key}, headers=bearer(token))
    assert response.json() == {"message": "User token disabled"}
    assert search(client, {"authorization": key}).status_code == 401
    assert client.get(f"/api/admin/verifyApiToken/{key}", headers=bearer(token)).json()["is_valid"] is False
    listed = client.get("/api/admin/getTokens", headers=bearer(token)).json()
    assert [(r["is_valid"], r["modifier"]) for r in listed] == [(False, ADMIN_USER)]


def test_revoke_and_delete_by_record_id(client: TestClient, token: str) -> None:
    key = create_key(client, token)
    record_id = client.get("/api/admin/getTokens", headers=bearer(token)).json()[0]["id"]
    assert (
        client.post("/api/admin/revokeApiToken", json={"id": record_id}, headers=bearer(token)).status_code
        == 200
    )
    deleted = client.post("/api/admin/deleteApiToken", json={"id": record_id}, headers=bearer(token))
    assert deleted.json() == {"message": "User token deleted"}
    assert client.get("/api/admin/getTokens", headers=bearer(token)).json() == []
    assert client.get(f"/api/admin/verifyApiToken/{key}", headers=bearer(token)).status_code == 404


def test_delete_by_key_stops_it_at_once(client: TestClient, token: str) -> None:
    key = create_key(client, token)
    assert search(client, {"x-api-key": key}).status_code == 200
    assert (
        client.post("/api/admin/deleteApiToken", json={"token": key}, headers=bearer(token)).status_code
        == 200
    )
    assert search(client, {"x-api-key": key}).status_code == 401


@pytest.mark.parametrize(
    "body", [{}, {"token": "a", "id": "b"}, {"token": ""}, {"tokens": "x"}, {"token": None}]
)
def test_revoke_needs_exactly_one_reference(client: TestClient, token: str, body: dict[str, Any]) -> None:
    assert client.post("/api/admin/revokeApiToken", json=body, headers=bearer(token)).status_code == 400


def test_unknown_keys_are_404(client: TestClient, token: str) -> None:
    unknown = "19412ace-1d99-44b2-88e0-16136fc5c77a"
    for response in (
        client.post("/api/admin/revokeApiToken", json={"token": unknown}, headers=bearer(token)),
        client.post("/api/admin/deleteApiToken", json={"id": "nope"}, headers=bearer(token)),
        client.get(f"/api/admin/verifyApiToken/{unknown}", headers=bearer(token)),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("token_path", "status"), [("%20%20", 404), ("k" * 257, 400)])
def test_verify_refuses_blank_or_overlong_keys_with_a_json_error(
    client: TestClient, token: str, token_path: str, status: int
) -> None:
    """These keys used to fail validation inside the handler, which answered 500."""
    response = client.get(f"/api/admin/verifyApiToken/{token_path}", headers=bearer(token))
    assert response.status_code == status
    assert response.json()["error"]["code"] in ("not_found", "invalid_request")


def test_last_used_is_recorded(client: TestClient, token: str, es: Elasticsearch) -> None:
    key = create_key(client, token)
    before = dt.datetime.now(dt.UTC)
    assert search(client, {"authorization": key}).status_code == 200
    for _ in range(50):  # written in the background, right after the first use
        es.indices.refresh(index=API_KEYS_INDEX)
        listed = client.get("/api/admin/getTokens", headers=bearer(token)).json()
        if listed[0]["last_used"]:
            break
    assert dt.datetime.fromisoformat(listed[0]["last_used"]) >= before.replace(microsecond=0)


def test_keys_never_reach_the_logs_even_at_debug(
    client: TestClient, token: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    key = create_key(client, token)
    client.get(f"/api/admin/verifyApiToken/{key}", headers=bearer(token))
    client.get("/api/admin/getTokens", params={"search": key}, headers=bearer(token))
    search(client, {"authorization": key})
    client.post("/api/admin/revokeApiToken", json={"token": key}, headers=bearer(token))
    search(client, {"authorization": key})
    client.post("/api/admin/deleteApiToken", json={"token": key}, headers=bearer(token))
    # Everything the server side logged; httpx/httpcore records are the test client's own.
    client.app.state.recorder.access_log.flush()  # type: ignore[attr-defined]
    server_log = capsys.readouterr().err + "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )
    assert '"GET /api/admin/verifyApiToken/{token}" 200' in server_log  # redacted to the route template
    assert key not in server_log
    assert token not in server_log
