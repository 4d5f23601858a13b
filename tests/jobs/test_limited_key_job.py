"""``gateway ingest-job`` with a key limited to its data source: it runs as with any key, and only there."""

from __future__ import annotations

from typing import Any

import httpx
from elasticsearch import Elasticsearch

from gateway.loading.seed import SEED_DIR
from tests.helpers import ALL_SCOPES, GatewayProcess
from tests.jobs.test_ingest_job import SHOWCASE, _count, _job

HR = "5b0f6a1e-2c7d-4c55-9a0e-8f3d1c2b4a61"


def _limited_key(gateway: GatewayProcess, datasources: list[str]) -> str:
    body: dict[str, Any] = {
        "name": "per-job",
        "description": "one data source",
        "expiration": "2099-01-02",
        "scopes": ALL_SCOPES,
        "datasources": datasources,
    }
    answer = httpx.post(
        f"{gateway.url}/api/admin/createApiToken", json=body, headers=gateway.admin_headers(), timeout=60
    )
    assert answer.status_code == 200, answer.text
    key: str = answer.json()["token"]
    return key


def test_a_key_limited_to_its_data_source_runs_its_job_and_deletes_with_its_run(
    gateway: GatewayProcess, es: Elasticsearch
) -> None:
    key = _limited_key(gateway, [SHOWCASE])
    code, out, err = _job(gateway, key, SHOWCASE, SEED_DIR)
    assert code == 0, err
    assert "identities: 100 loaded" in out and _count(es, "identities") == 100
    # A delete run's deletes are written within its run too, so the limited key may send them.
    code, out, err = _job(gateway, key, SHOWCASE, SEED_DIR, "--action", "delete")
    assert code == 0, err
    assert _count(es, "identities") == 0 and _count(es, "assignments") == 0


def test_a_key_limited_to_another_data_source_cannot_run_the_job(
    gateway: GatewayProcess, es: Elasticsearch
) -> None:
    code, _, err = _job(gateway, _limited_key(gateway, [HR]), SHOWCASE, SEED_DIR)
    assert code == 1, err
    assert _count(es, "identities") == 0
