"""Which variable ``gateway ingest-job`` reads its key from: JAS_API_KEY (the name the original
documentation gives clients) or INGEST_API_KEY, JAS_API_KEY winning when both are set. The gateway's
answer shows which key was sent: a good one finds no such data source, a refused one is a 401."""

from __future__ import annotations

import os

from gateway.loading.seed import SEED_DIR
from tests.helpers import ALL_SCOPES, TEST_TENANT_ID, GatewayProcess, run_cli

REFUSED = "00000000-0000-4000-8000-000000000000"


def _job_with(gateway: GatewayProcess, **keys: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("JAS_API_KEY", "INGEST_API_KEY")}
    env.update(keys, TENANT_ID=TEST_TENANT_ID, GATEWAY_DATA_ROOT=str(SEED_DIR))
    result = run_cli(
        "ingest-job", "--datasource", "no-such-id", "--url", gateway.url, "--no-progress", env=env
    )
    assert result.returncode == 1, result.stderr
    return result.stderr


def test_the_job_reads_jas_api_key_first_then_ingest_api_key(gateway: GatewayProcess) -> None:
    key = gateway.create_api_key(scopes=ALL_SCOPES)
    accepted, refused = "no data source with id no-such-id", "data-source search failed: 401"
    assert accepted in _job_with(gateway, JAS_API_KEY=key)
    assert accepted in _job_with(gateway, INGEST_API_KEY=key)
    assert accepted in _job_with(gateway, JAS_API_KEY=key, INGEST_API_KEY=REFUSED)
    assert refused in _job_with(gateway, JAS_API_KEY=REFUSED, INGEST_API_KEY=key)
