"""Two gateway processes on one cluster: a key revoked on one is refused by the other within 1 s.

Also checks, on real processes, that neither the key nor the admin's password or token reach any log or
any Elasticsearch index.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from tests.helpers import ADMIN_PASSWORD, ADMIN_USER, DOCUMENTED_SEARCH, TEST_TENANT_ID, free_port

REVOCATION_WINDOW = 1.0


class Replica:
    def __init__(self, es_url: str, state_dir: Path, shared: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = state_dir / "gateway.log"
        state_dir.mkdir(parents=True)
        env = dict(
            os.environ, ES_URL=es_url, TENANT_ID=TEST_TENANT_ID, GATEWAY_STATE_DIR=str(state_dir), **shared
        )
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--no-tls", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"replica on {self.port} never became ready")

    def search(self, key: str) -> int:
        headers = {"authorization": key, "x-tenant-id": TEST_TENANT_ID}
        return httpx.post(
            f"{self.url}/jas/datasource/search", json=DOCUMENTED_SEARCH, headers=headers
        ).status_code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture
def replicas(es: Elasticsearch, es_url: str, tmp_path: Path) -> Iterator[tuple[Replica, Replica]]:
    shared = {
        "GATEWAY_JWT_SECRET": secrets.token_urlsafe(32),
        "GATEWAY_API_KEY_SECRET": secrets.token_urlsafe(32),
        "GATEWAY_ADMIN_USERNAME": ADMIN_USER,
        "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    pair = (Replica(es_url, tmp_path / "a", shared), Replica(es_url, tmp_path / "b", shared))
    try:
        for replica in pair:
            replica.wait_ready()
        yield pair
    finally:
        for replica in pair:
            replica.stop()


def test_revocation_reaches_the_other_replica_within_a_second(
    replicas: tuple[Replica, Replica], es: Elasticsearch
) -> None:
    a, b = replicas
    login = httpx.post(
        f"{a.url}/api/authentication/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD}
    )
    token = login.json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    body = {"name": "Ingest Key", "description": "replicas", "expiration": "2099-01-02"}
    key = httpx.post(f"{a.url}/api/admin/createApiToken", json=body, headers=auth).json()["token"]
    assert b.search(key) == 200  # B has now verified, and cached, the key
    assert b.search(key) == 200
    assert httpx.get(f"{b.url}/api/admin/verifyApiToken/{key}", headers=auth).json()["is_valid"] is True

    revoked = httpx.post(f"{a.url}/api/admin/revokeApiToken", json={"token": key}, headers=auth)
    assert revoked.json() == {"message": "User token disabled"}
    revoked_at = time.monotonic()
    while b.search(key) == 200 and time.monotonic() - revoked_at < REVOCATION_WINDOW:
        time.sleep(0.02)
    print(f"replica B refused the revoked key {time.monotonic() - revoked_at:.3f}s after revocation")
    time.sleep(max(0.0, revoked_at + REVOCATION_WINDOW - time.monotonic()))
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
