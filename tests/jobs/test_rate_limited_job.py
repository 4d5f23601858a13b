"""A job whose key has a small rate limit (SPEC §10): it waits the gateway's 429s out, and every row lands."""

from __future__ import annotations

import os
import re

import httpx
from elasticsearch import Elasticsearch

from gateway.loading.seed import SEED_DIR
from tests.helpers import ALL_SCOPES, HTTP_TIMEOUT, TEST_TENANT_ID, GatewayProcess, run_cli

SHOWCASE = "2d7a6a76-469c-4035-b312-fb1daf104e98"
ROWS = {"applications": 8, "entitlements": 40, "identities": 100, "assignments": 316}


def refused_for_rate(gateway: GatewayProcess) -> float:
    """The gateway's own count of 429 answers to the ingest and sync routes (its Prometheus metrics)."""
    text = httpx.get(f"{gateway.url}/metrics", timeout=HTTP_TIMEOUT).text
    pattern = r'gateway_http_requests_total\{[^}]*route="/api/ingest/[^"]*",status="429"\} (\S+)'
    return sum(float(value) for value in re.findall(pattern, text))


def test_a_job_waits_out_its_keys_rate_limit_and_writes_every_row(
    gateway: GatewayProcess, es: Elasticsearch
) -> None:
    body = {
        "name": "Slow Job",
        "description": "two requests a second",
        "expiration": "2099-01-02",
        "scopes": ALL_SCOPES,
        "rateLimit": {"requests": 2, "perSeconds": 1},
    }
    created = httpx.post(
        f"{gateway.url}/api/admin/createApiToken",
        json=body,
        headers=gateway.admin_headers(),
        timeout=HTTP_TIMEOUT,
    )
    key = created.json()["token"]
    env = dict(os.environ, INGEST_API_KEY=key, TENANT_ID=TEST_TENANT_ID, GATEWAY_DATA_ROOT=str(SEED_DIR))
    result = run_cli(
        "ingest-job", "--datasource", SHOWCASE, "--url", gateway.url, "--no-progress", "--batch-size", "50",
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "failed" not in result.stdout + result.stderr
    for entity, rows in ROWS.items():
        assert f"{entity}: {rows} loaded" in result.stdout
        index = f"autonomous-iam_autoid_base_{entity}_latest"
        es.indices.refresh(index=index)
        assert es.count(index=index)["count"] == rows
    waits = re.search(r"the key's rate limit made the job wait (\d+) times", result.stdout)
    assert waits is not None and int(waits[1]) >= 1, result.stdout
    assert refused_for_rate(gateway) >= 1  # the gateway did refuse, and the job did not count it
