"""Access logs of real server processes: keys placed in URLs never reach them, however the app is started."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from gateway.http.observability import SecretRedactingFilter, install_access_log_redaction, redact_url
from tests.helpers import ADMIN_PASSWORD, ADMIN_USER, TEST_TENANT_ID, bearer, free_port, wait_ready

REPO = Path(__file__).resolve().parents[2]
FACTORY = "gateway.app:create_app_from_env"


def _start(command: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    args = {
        # The way the factory's docstring suggests, with uvicorn's own access log left on.
        "uvicorn": ["-m", "uvicorn", "--factory", FACTORY, "--port", str(port)],
        "gateway serve": ["-m", "gateway", "serve", "--no-tls", "--port", str(port)],
    }[command]
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, *args], env=env, cwd=REPO, stdout=out, stderr=out)


@pytest.mark.parametrize("command", ["uvicorn", "gateway serve"])
def test_keys_in_urls_never_reach_the_access_logs(
    command: str, es: Elasticsearch, es_url: str, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "server.log"
    env = dict(
        os.environ,
        ES_URL=es_url,
        TENANT_ID=TEST_TENANT_ID,
        GATEWAY_STATE_DIR=str(tmp_path / "state"),
        GATEWAY_ADMIN_USERNAME=ADMIN_USER,
        GATEWAY_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    process = _start(command, port, env, log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process, log)
        with httpx.Client(base_url=url, timeout=30) as http:
            login = {"username": ADMIN_USER, "password": ADMIN_PASSWORD}
            token = http.post("/api/authentication/login", json=login).json()["token"]
            body = {"name": "Ingest Key", "description": "logged?", "expiration": "2099-01-02"}
            key = http.post("/api/admin/createApiToken", json=body, headers=bearer(token)).json()["token"]
            verified = http.get(f"/api/admin/verifyApiToken/{key}", headers=bearer(token))
            found = http.get("/api/admin/getTokens", params={"search": key}, headers=bearer(token))
        assert verified.status_code == 200 and found.status_code == 200 and len(found.json()) == 1
    finally:
        process.terminate()
        process.wait(timeout=30)
    output = log.read_text()
    assert key not in output
    if command == "uvicorn":  # uvicorn's own line is still there, with the key cut out
        assert '"GET /api/admin/verifyApiToken/{token} HTTP/1.1" 200' in output
        assert '"GET /api/admin/getTokens?search=[redacted] HTTP/1.1" 200' in output
    assert '"GET /api/admin/verifyApiToken/{token}" 200' in output  # the gateway's own access log


def test_urls_lose_their_secrets_and_keep_the_rest() -> None:
    key = "0b8f3c1e-1111-4222-8333-444455556666"
    assert redact_url(f"/api/admin/verifyApiToken/{key}") == "/api/admin/verifyApiToken/{token}"
    assert redact_url(f"/api/admin/verifyApiToken/{key}?x=1") == "/api/admin/verifyApiToken/{token}?x=1"
    assert (
        redact_url(f"/api/admin/getTokens?maxResults=20&search={key}&offset=0")
        == "/api/admin/getTokens?maxResults=20&search=[redacted]&offset=0"
    )
    assert redact_url("/health-check") == "/health-check"


def test_records_of_the_uvicorn_access_logger_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install_access_log_redaction()
    install_access_log_redaction()  # idempotent: one filter however many apps are built
    access = logging.getLogger("uvicorn.access")
    assert len([f for f in access.filters if isinstance(f, SecretRedactingFilter)]) == 1
    request = ("127.0.0.1:5", "GET", "/api/admin/verifyApiToken/k-1", "1.1", 200)
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        access.info('%s - "%s %s HTTP/%s" %d', *request)
    expected = '127.0.0.1:5 - "GET /api/admin/verifyApiToken/{token} HTTP/1.1" 200'
    assert caplog.records[-1].getMessage() == expected
