"""Two gateway processes on one cluster: a key revoked, narrowed or rotated away, or an admin session ended,
on one is refused by the other.

Also checks, on real processes, that neither the key nor the admin's password or token reach any log or
any Elasticsearch index.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from tests.helpers import (
    ADMIN_PASSWORD,
    HTTP_TIMEOUT,
    TEST_TENANT_ID,
    GatewayProcess,
    eventually,
    replica_env,
)


@pytest.fixture
def replicas(
    es: Elasticsearch, es_url: str, tmp_path: Path
) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    shared = replica_env()
    pair = (GatewayProcess(es_url, tmp_path / "a", shared), GatewayProcess(es_url, tmp_path / "b", shared))
    try:
        for replica in pair:
            replica.wait_ready()
        yield pair
    finally:
        for replica in pair:
            replica.stop()


def test_revocation_reaches_the_other_replica(
    replicas: tuple[GatewayProcess, GatewayProcess], es: Elasticsearch
) -> None:
    a, b = replicas
    auth = a.admin_headers()
    token = auth["Authorization"].removeprefix("Bearer ")
    body = {"name": "Ingest Key", "description": "replicas", "expiration": "2099-01-02"}
    key = httpx.post(
        f"{a.url}/api/admin/createApiToken", json=body, headers=auth, timeout=HTTP_TIMEOUT
    ).json()["token"]
    assert b.search(key) == 200  # B has now verified, and cached, the key
    assert b.search(key) == 200
    verified = httpx.get(f"{b.url}/api/admin/verifyApiToken/{key}", headers=auth, timeout=HTTP_TIMEOUT)
    assert verified.json()["is_valid"] is True

    revoked = httpx.post(
        f"{a.url}/api/admin/revokeApiToken", json={"token": key}, headers=auth, timeout=HTTP_TIMEOUT
    )
    assert revoked.json() == {"message": "User token disabled"}
    # B polls the revocation generation 4 times per window (1 s); how long it took is not asserted here
    # (tests/auth/test_verifier.py checks the bound on an injected clock), only that B gets there.
    eventually(lambda: b.search(key) == 401, "replica B to refuse the key revoked on A", every=0.02)
    assert b.search(key) == 401
    assert a.search(key) == 401

    # Nothing secret was written anywhere: not in either replica's log, not in any index.
    for replica in replicas:
        replica.stop()  # flushes the buffered access log
        log = replica.log.read_text()
        assert "POST /jas/datasource/search" in log  # the access log is on
        for secret in (key, token, ADMIN_PASSWORD):
            assert secret not in log
    es.indices.refresh(index="*", expand_wildcards="all")
    stored = es.search(index="*", expand_wildcards="all", size=1000, query={"match_all": {}})["hits"]["hits"]
    dump = json.dumps(stored)
    assert len(stored) >= 3  # the user, the key record, the revocation generation
    for secret in (key, token, ADMIN_PASSWORD):
        assert secret not in dump


def test_a_logout_on_one_replica_is_refused_by_the_other(
    replicas: tuple[GatewayProcess, GatewayProcess],
) -> None:
    a, b = replicas
    headers = a.admin_headers()

    def on_b(token_headers: dict[str, str]) -> int:
        return httpx.get(
            f"{b.url}/api/authentication/verify", headers=token_headers, timeout=HTTP_TIMEOUT
        ).status_code

    renewed = httpx.post(f"{b.url}/api/authentication/renewToken", headers=headers, timeout=HTTP_TIMEOUT)
    renewed_headers = {"Authorization": f"Bearer {renewed.json()['token']}"}
    assert on_b(headers) == on_b(renewed_headers) == 200
    ended = httpx.post(f"{a.url}/api/authentication/logout", headers=headers, timeout=HTTP_TIMEOUT)
    assert ended.status_code == 204
    # No window to wait for: B reads the session with a real-time GET on every request, so the first request
    # after A's answer is already refused (GATEWAY_REVOCATION_WINDOW_SECONDS bounds API keys, not sessions).
    assert on_b(headers) == 401
    assert on_b(renewed_headers) == 401
    assert (
        httpx.post(
            f"{b.url}/api/authentication/renewToken", headers=headers, timeout=HTTP_TIMEOUT
        ).status_code
        == 401
    )


def test_narrowing_and_rotation_reach_the_other_replica_within_the_window(
    replicas: tuple[GatewayProcess, GatewayProcess],
) -> None:
    a, b = replicas
    auth = a.admin_headers()

    def admin(path: str, body: dict[str, object]) -> dict[str, str]:
        answer = httpx.post(f"{a.url}/api/admin/{path}", json=body, headers=auth, timeout=HTTP_TIMEOUT)
        assert answer.status_code == 200, answer.text
        result: dict[str, str] = answer.json()
        return result

    def write_on_b(key: str) -> int:
        body = {"action": "upsert", "identities": [{"usr_id": "u1", "usr_name": "Ann"}]}
        headers = {"X-API-KEY": key, "x-tenant-id": TEST_TENANT_ID}
        return httpx.post(
            f"{b.url}/api/ingest/identities", json=body, headers=headers, timeout=HTTP_TIMEOUT
        ).status_code

    # Narrowing on A: B refuses the key's writes within the revocation window (1 s).
    key = a.create_api_key()
    assert write_on_b(key) == 200  # B has verified, and cached, the key
    admin("updateApiToken", {"token": key, "scopes": ["search"]})
    eventually(
        lambda: write_on_b(key) == 403, "B to refuse a write of the narrowed key", within=1.0, every=0.02
    )

    # A rotation with an overlap: both keys work on both replicas.
    rotated = admin("rotateApiToken", {"token": key, "overlapHours": 1})
    for replica in (a, b):
        assert replica.search(key) == 200 and replica.search(rotated["token"]) == 200

    # Without an overlap: the old key is refused by both within the window, the new one works on both.
    old = rotated["token"]
    assert b.search(old) == 200  # cached on B
    newest = admin("rotateApiToken", {"token": old, "overlapHours": 0})["token"]
    refused = (401, 401)
    eventually(lambda: (a.search(old), b.search(old)) == refused, "both to refuse the old key", within=1.0)
    assert (a.search(newest), b.search(newest)) == (200, 200)
