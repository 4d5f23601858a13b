"""Builders shared by the tests."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import ssl
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from elasticsearch import AsyncElasticsearch
from fastapi.testclient import TestClient

from gateway.clock import SystemClock
from gateway.embedded.ports import free_port as free_port
from gateway.embedded.ports import free_port_range as free_port_range
from gateway.es.client import build_client
from gateway.es.connection_settings import ConnectionSettings
from gateway.settings import DEMO_TENANT_ID, Settings

T = TypeVar("T")
HTTP_TIMEOUT = 60.0  # seconds a test's HTTP call may take: bounds a hang only, never a measure of speed

TEST_TENANT_ID = DEMO_TENANT_ID
OTHER_TENANT_ID = "11111111-2222-4333-8444-555555555555"
ADMIN_USER = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery"


def replica_env() -> dict[str, str]:
    """What every replica of one test deployment shares: the two secrets and the first admin."""
    return {
        "GATEWAY_JWT_SECRET": secrets.token_urlsafe(32),
        "GATEWAY_API_KEY_SECRET": secrets.token_urlsafe(32),
        "GATEWAY_ADMIN_USERNAME": ADMIN_USER,
        "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }


DOCUMENTED_SEARCH = {
    "query": {
        "sort": [{"datasource_id.keyword": {"order": "desc"}}],
        "size": 10,
        "track_total_hits": True,
        "query": {"match_all": {}},
    }
}


def with_es(settings: Settings, work: Callable[[AsyncElasticsearch], Awaitable[T]]) -> T:
    """Run ``work`` with an async client built like the gateway's (``build_client``), then close it."""

    async def run() -> T:
        es = build_client(ConnectionSettings.from_settings(settings))
        try:
            return await work(es)
        finally:
            await es.close()

    return asyncio.run(run())


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "tenant_id": TEST_TENANT_ID,
        "tls": False,
        "admin_username": ADMIN_USER,
        "admin_password": ADMIN_PASSWORD,
    }
    values.update(overrides)
    return Settings(**values)


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the ``gateway`` command as a user would, in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else dict(os.environ),
        timeout=timeout,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )


def start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``run_cli`` without waiting: the running command, its output piped (read it with ``communicate``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env if env is not None else dict(os.environ),
        cwd=Path(__file__).resolve().parent.parent,
    )


def eventually(
    check: Callable[[], T | None], what: str | Callable[[], str], *, within: float = 60.0, every: float = 0.05
) -> T:
    """Wait until ``check()`` returns a true value and return it; fail naming ``what`` when it has not
    after ``within`` seconds. The bound is generous on purpose: it only ends a wait for an event that
    never comes; how long the event took is never asserted."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"still waiting after {within:g} s: {said} (last: {result!r})")
        time.sleep(every)


async def eventually_async(
    check: Callable[[], Awaitable[T | None]], what: str, *, within: float = 60.0, every: float = 0.05
) -> T:
    """``eventually`` for a check that is awaited (the event loop keeps running while it waits)."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {within:g} s: {what} (last: {result!r})")
        await asyncio.sleep(every)


class ManualClock(SystemClock):
    """The system clock, moved forward by ``advance`` instead of by sleeping (both of its readings)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return super().monotonic() + self.offset

    def now(self) -> dt.datetime:
        return super().now() + dt.timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class FrozenClock(ManualClock):
    """Still until moved: the real time a test spends (requests, start-ups) never counts on it."""

    def __init__(self) -> None:
        super().__init__()
        self._monotonic, self._now = SystemClock.monotonic(self), SystemClock.now(self)

    def monotonic(self) -> float:
        return self._monotonic + self.offset

    def now(self) -> dt.datetime:
        return self._now + dt.timedelta(seconds=self.offset)


def pid_alive(pid: int) -> bool:
    """Whether a process runs (a zombie, exited but not yet reaped, does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: TestClient, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> str:
    response = client.post("/api/authentication/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


# Every scope: for tests that delete (the ingest delete action, full syncs); new keys default to the others.
ALL_SCOPES = ["search", "write", "delete"]


def create_key(client: TestClient, token: str, *, scopes: list[str] | None = None, **fields: Any) -> str:
    body: dict[str, Any] = {"name": "Ingest Key", "description": "for tests", "expiration": "2099-01-02"}
    body.update(fields)
    if scopes is not None:
        body["scopes"] = scopes
    response = client.post("/api/admin/createApiToken", json=body, headers=bearer(token))
    assert response.status_code == 200, response.text
    key: str = response.json()["token"]
    return key


def search(client: TestClient, headers: dict[str, str], body: Any = None) -> Any:
    return client.post(
        "/jas/datasource/search", json=DOCUMENTED_SEARCH if body is None else body, headers=headers
    )


def showcase_datasource() -> dict[str, Any]:
    """SPEC §5's document, exactly."""
    ds = "2d7a6a76-469c-4035-b312-fb1daf104e98"
    prefix = f"/autoid/system/datasources/{ds}"
    return {
        "datasource_id": ds,
        "name": "Showcase-CSV-DS",
        "sync_type": "full",
        "icon": "apps",
        "isActive": True,
        "entityTypes": {
            f"{prefix}/{entity}": {"uri": {"file": f"file:/data/input/{entity}.csv"}}
            for entity in ("applications", "assignments", "entitlements", "identities")
        },
        "connectionSettings": {"csv": {}},
        "metadata": {
            "contextId": "scripts",
            "entityType": "/common/datasources",
            "primaryKey": ds,
            "entityPath": f"/common/datasources/{ds}",
            "entityDefinition": "datasources",
            "namespace": "/common",
            "branch": "actual",
            "created": "2021-08-25T03:53:33.634Z",
            "tenantId": "autonomous-iam",
        },
    }


def wait_ready(
    url: str,
    process: subprocess.Popen[bytes],
    log: Path,
    seconds: float = 60,
    verify: Callable[[], ssl.SSLContext | bool] = lambda: True,
) -> None:
    """Poll ``/readyz`` until a gateway process answers 200; fail with its log if it dies or never does."""

    def ready() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.get(f"{url}/readyz", timeout=2, verify=verify()).status_code == 200
        except (httpx.TransportError, OSError):  # not listening yet, or its certificate not written yet
            return False

    eventually(ready, lambda: f"{url} to become ready:\n{log.read_text()}", within=seconds, every=0.2)


class GatewayProcess:
    """A ``gateway serve`` child process on a free port, as an operator would run it: plain HTTP, or
    with ``tls`` HTTPS with a self-signed certificate (``client_tls`` trusts it); ``env`` adds settings."""

    def __init__(
        self,
        es_url: str,
        state_dir: Path,
        shared: dict[str, str],
        *,
        tls: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.tls = tls
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.log = state_dir / "gateway.log"
        state_dir.mkdir(parents=True)
        environment = dict(
            os.environ, ES_URL=es_url, TENANT_ID=TEST_TENANT_ID, GATEWAY_STATE_DIR=str(state_dir), **shared
        )
        environment.update(env or {})
        command = [sys.executable, "-m", "gateway", "serve", "--port", str(self.port)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command if tls else [*command, "--no-tls"],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def client_tls(self) -> ssl.SSLContext:
        """A client context that trusts this process's self-signed certificate."""
        return ssl.create_default_context(cafile=self.log.parent / "tls" / "cert.pem")

    def _verify(self) -> ssl.SSLContext | bool:
        return self.client_tls() if self.tls else True

    def wait_ready(self) -> None:
        wait_ready(self.url, self.process, self.log, verify=self._verify)

    def admin_headers(self) -> dict[str, str]:
        """A bearer token of the first admin (GATEWAY_ADMIN_USERNAME = ADMIN_USER in ``shared``)."""
        body = {"username": ADMIN_USER, "password": ADMIN_PASSWORD}
        answer = httpx.post(
            f"{self.url}/api/authentication/login", json=body, timeout=30, verify=self._verify()
        )
        assert answer.status_code == 200, answer.text
        return bearer(answer.json()["token"])

    def create_api_key(self, name: str = "Ingest Key", scopes: list[str] | None = None) -> str:
        body: dict[str, Any] = {"name": name, "description": "for tests", "expiration": "2099-01-02"}
        if scopes is not None:
            body["scopes"] = scopes
        answer = httpx.post(
            f"{self.url}/api/admin/createApiToken",
            json=body,
            headers=self.admin_headers(),
            timeout=30,
            verify=self._verify(),
        )
        assert answer.status_code == 200, answer.text
        key: str = answer.json()["token"]
        return key

    def search(self, key: str) -> int:
        headers = {"authorization": key, "x-tenant-id": TEST_TENANT_ID}
        return httpx.post(
            f"{self.url}/jas/datasource/search",
            json=DOCUMENTED_SEARCH,
            headers=headers,
            timeout=HTTP_TIMEOUT,
            verify=self._verify(),
        ).status_code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
