"""Schema-driven fuzzing of the whole HTTP API: a real ``gateway serve`` on a real Elasticsearch node.

Schemathesis reads the running server's own ``/openapi.json`` and sends generated requests, valid and
invalid, to every operation, with the credentials each one declares (tests/fuzz/hooks.py). Every answer
must be declared: no 5xx, no hang, a documented status, content type and body. See docs/fuzzing.md.

CI runs a small, deterministic budget; ``make fuzz`` raises it (``GATEWAY_FUZZ_EXAMPLES``) and seeds it.
The Schemathesis command line does the run (its pytest plugin cannot load a schema from a fixture under
pytest 9), so a failure prints Schemathesis' own report with a curl command reproducing each case.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from tests.helpers import ADMIN_PASSWORD, ADMIN_USER, HTTP_TIMEOUT, TEST_TENANT_ID, GatewayProcess, run_cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "5"))
# Unset (CI): deterministic generation, the same cases every run. Set: a seeded run, as `make fuzz` does.
SEED = os.environ.get("GATEWAY_FUZZ_SEED")
# A hang fails the case: far above the slowest honest answer (searches carry a 10 s timeout of their own).
REQUEST_TIMEOUT = "20"
CHECKS = "all"
CONFIG = Path(__file__).with_name("schemathesis.toml")
VIEWER, VIEWER_PASSWORD = "viewer@example.com", "viewer-password-1"


def _cli_env(state_dir: Path, es_url: str) -> dict[str, str]:
    return dict(os.environ, ES_URL=es_url, TENANT_ID=TEST_TENANT_ID, GATEWAY_STATE_DIR=str(state_dir))


def _create_viewer(env: dict[str, str]) -> None:
    created = subprocess.run(
        [sys.executable, "-m", "gateway", "users", "create", VIEWER, "--no-admin", "--password-stdin"],
        input=VIEWER_PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stderr


@pytest.fixture
def gateway(es: Elasticsearch, es_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    shared = {
        "GATEWAY_JWT_SECRET": secrets.token_urlsafe(32),
        "GATEWAY_API_KEY_SECRET": secrets.token_urlsafe(32),
        "GATEWAY_ADMIN_USERNAME": ADMIN_USER,
        "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        # Generated logins fail by the hundred: a short window keeps the throttle from refusing all of them.
        "GATEWAY_LOGIN_FAILURE_WINDOW_SECONDS": "5",
    }
    process = GatewayProcess(es_url, tmp_path / "gateway", shared)
    try:
        process.wait_ready()
        env = _cli_env(tmp_path / "cli", es_url)
        loaded = run_cli("seed", "load", env=env)  # real documents for the searches and reads
        assert loaded.returncode == 0, loaded.stderr
        _create_viewer(env)
        yield process
    finally:
        process.stop()


def _login(url: str, username: str, password: str) -> str:
    response = httpx.post(
        f"{url}/api/authentication/login", json={"username": username, "password": password}, timeout=30
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def _credentials_env(url: str) -> dict[str, str]:
    admin = _login(url, ADMIN_USER, ADMIN_PASSWORD)
    created = httpx.post(
        f"{url}/api/admin/createApiToken",
        json={"name": "Fuzz Key", "description": "fuzzing", "expiration": "2099-01-02"},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=30,
    )
    assert created.status_code == 200, created.text
    return {
        "FUZZ_ADMIN_TOKEN": admin,
        "FUZZ_VIEWER_TOKEN": _login(url, VIEWER, VIEWER_PASSWORD),
        "FUZZ_API_KEY": created.json()["token"],
        "FUZZ_TENANT_ID": TEST_TENANT_ID,
        "FUZZ_LOGOUT_TOKEN": _login(url, ADMIN_USER, ADMIN_PASSWORD),  # a session for the logout cases
    }


def schemathesis_command(url: str, report: Path) -> list[str]:
    return [
        str(Path(sys.executable).parent / "schemathesis"),
        f"--config-file={CONFIG}",
        "run",
        f"{url}/openapi.json",
        f"--checks={CHECKS}",
        "--phases=examples,coverage,fuzzing",
        f"--max-examples={EXAMPLES}",
        f"--seed={SEED}" if SEED else "--generation-deterministic",
        "--workers=1",
        f"--request-timeout={REQUEST_TIMEOUT}",
        "--no-color",
        "--report=ndjson",
        f"--report-ndjson-path={report}",
    ]


def _summary(report: Path) -> dict[str, Any]:
    """Operations and cases of the run, from Schemathesis' event stream."""
    operations: set[str] = set()
    cases = 0
    for line in report.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if finished:
            recorder = finished["recorder"]  # a skipped phase records its operation's label only
            operations.add(recorder["label"])
            cases += len(recorder.get("cases", ()))
    return {"operations": len(operations), "cases": cases}


def test_every_answer_is_declared(
    gateway: GatewayProcess, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    report = tmp_path / "events.ndjson"
    env = dict(
        os.environ,
        **_credentials_env(gateway.url),
        SCHEMATHESIS_HOOKS="tests.fuzz.hooks",
        PYTHONPATH=str(ROOT),
    )
    run = subprocess.run(
        schemathesis_command(gateway.url, report),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=3600,
        check=False,
    )
    # Generated URLs can be kilobytes long: shorten lines, not the report, so every failure stays listed.
    report_text = "\n".join(line[:1500] for line in (run.stdout + run.stderr).splitlines())
    assert run.returncode == 0, report_text
    figures = _summary(report)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        last = run.stdout.strip().splitlines()[-1]
        reporter.write_line(f"\nfuzz: {figures['operations']} operations, {figures['cases']} cases; {last}")
    paths = httpx.get(f"{gateway.url}/openapi.json", timeout=HTTP_TIMEOUT).json()["paths"]
    assert figures["operations"] == sum(len(operations) for operations in paths.values())
