"""`gateway up` (what `make run` runs): starts a node and the gateway, and Ctrl-C stops both."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import httpx

from gateway.embedded import node as embedded
from gateway.ingest.entities import document_id
from tests.helpers import (
    DOCUMENTED_SEARCH,
    TEST_TENANT_ID,
    eventually,
    free_port,
    run_cli,
    showcase_datasource,
)
from tests.http.routes.test_search import BROWSER_HEADERS


def _get(url: str) -> int:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, timeout=2, context=context) as response:
        status: int = response.status
        return status


def _new_key(client: httpx.Client, token: str, **fields: Any) -> str:
    created = client.post(
        "/api/admin/createApiToken",
        headers={"Authorization": f"Bearer {token}"},
        json={"expiration": "2099-01-02", **fields},  # a date that never passes while the test is kept
    )
    assert created.status_code == 200, created.text
    return str(created.json()["token"])


def _documented_walk_through(base: str) -> None:
    """The original documentation's three curl calls, against the demo seed `gateway up` loaded."""
    # the demo's self-signed certificate, accepted as the documentation's `curl -k` does
    with httpx.Client(base_url=base, verify=False, timeout=30) as client:  # noqa: S501
        login = client.post(
            "/api/authentication/login",
            json={"username": "bob.rodgers@forgerock.com", "password": "Welcome123"},
        )
        assert login.status_code == 200 and login.json()["user"]["uid"] == "bob.rodgers"
        token = login.json()["token"]
        key = _new_key(client, token, name="Ingest Key", description="API key for ingestion endpoints")
        headers = {**BROWSER_HEADERS, "authorization": key, "accept-encoding": "gzip, deflate, br"}
        found = client.post("/jas/datasource/search", headers=headers, content=json.dumps(DOCUMENTED_SEARCH))
        assert found.status_code == 200
        hits = found.json()["hits"]["hits"]
        showcase = next(h for h in hits if h["_source"]["name"] == "Showcase-CSV-DS")
        assert showcase["_id"] == document_id("2d7a6a76-469c-4035-b312-fb1daf104e98")
        assert json.dumps(showcase["_source"]) == json.dumps(showcase_datasource())
        # the demo seed also loaded the showcase entities its file: URIs point to
        ingest_headers = {"X-API-KEY": key, "x-tenant-id": TEST_TENANT_ID}
        people = client.post(
            "/api/ingest/identities",
            headers=ingest_headers,
            json={"action": "update", "identities": [{"usr_id": "usr-0000099", "city": "Lyon"}]},
        )
        assert people.json() == {"message": "ok"}  # an update succeeds only on an existing identity
        sources = client.get("/api/ingest/datasources", params={"isActive": "true"}, headers=ingest_headers)
        assert len(sources.json()) == 4
        # docs/ingestion.md's job key: a full sync deletes, so its key has the delete scope
        job_key = _new_key(client, token, name="Showcase job", scopes=["search", "write", "delete"])
    # docs/ingestion.md's JDBC job: the SQLite database the seed load built, read through the gateway
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_DATA_ROOT"}
    env.update(INGEST_API_KEY=job_key, TENANT_ID=TEST_TENANT_ID)
    showcase_jdbc = "7f3b9c2e-5d14-4a8f-b6e1-0c9d2a4f8e73"
    job = run_cli("ingest-job", "--datasource", showcase_jdbc, "--url", base, "--insecure", env=env)
    assert job.returncode == 0, job.stderr
    assert "identities: 100 loaded from jdbc:identities" in job.stdout
    assert "assignments: 316 loaded from jdbc:assignments" in job.stdout


def test_up_serves_https_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    port, es_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "ES_URL"}
    env.update(
        TENANT_ID=TEST_TENANT_ID,
        GATEWAY_STATE_DIR=str(tmp_path),
        GATEWAY_PORT=str(port),
        EMBEDDED_ES_PORT=str(es_port),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    node = embedded.NodeConfig(tmp_path / "elasticsearch", port=es_port)
    try:

        def serving() -> bool:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                return _get(f"https://127.0.0.1:{port}/readyz") == 200
            except OSError:
                return False

        eventually(serving, "gateway up to serve", within=240, every=0.5)
        running = embedded.status(node)
        assert running is not None and running.ready
        _documented_walk_through(f"https://127.0.0.1:{port}")
        process.send_signal(signal.SIGINT)  # what Ctrl-C delivers
        process.wait(timeout=60)
        assert embedded.status(node) is None
        assert (
            not Path(f"/proc/{running.pid}/cmdline").exists()
            or not Path(f"/proc/{running.pid}/cmdline").read_bytes()
        )
    finally:
        if process.poll() is None:
            process.kill()
        embedded.stop(node)
