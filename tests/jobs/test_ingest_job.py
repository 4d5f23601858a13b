"""``gateway ingest-job`` end to end: a real gateway process, a tenant id and an API key, nothing else."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from gateway.loading.seed import DATASOURCES_FILE, SEED_DIR, load_datasources
from tests.helpers import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    TEST_TENANT_ID,
    GatewayProcess,
    make_settings,
    run_cli,
    with_es,
)

SHOWCASE = "2d7a6a76-469c-4035-b312-fb1daf104e98"
RETIRED = "e1a7c3f5-8b2d-4e69-a0c4-7d9f1b3e5a28"


@pytest.fixture
def gateway(es: Elasticsearch, es_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    shared = {"GATEWAY_ADMIN_USERNAME": ADMIN_USER, "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD}
    process = GatewayProcess(es_url, tmp_path / "gateway", shared)
    try:
        process.wait_ready()
        settings = make_settings(es_url=es_url)
        with_es(
            settings,
            lambda client: load_datasources(
                client, DATASOURCES_FILE, settings.datasource_index, settings.tenant_name
            ),
        )
        yield process
    finally:
        process.stop()


def _job(
    gateway: GatewayProcess, key: str, datasource: str, data_root: Path, *extra: str
) -> tuple[int, str, str]:
    env = dict(os.environ, INGEST_API_KEY=key, TENANT_ID=TEST_TENANT_ID, GATEWAY_DATA_ROOT=str(data_root))
    result = run_cli(
        "ingest-job", "--datasource", datasource, "--url", gateway.url, "--no-progress", *extra, env=env
    )
    return result.returncode, result.stdout, result.stderr


def _count(es: Elasticsearch, entity: str) -> int:
    index = f"autonomous-iam_autoid_base_{entity}_latest"
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def test_job_ingests_the_showcase_data_source(gateway: GatewayProcess, es: Elasticsearch) -> None:
    key = gateway.create_api_key()
    code, out, err = _job(gateway, key, SHOWCASE, SEED_DIR, "--batch-size", "50")
    assert code == 0, err
    assert "data source Showcase-CSV-DS" in out
    for entity, rows in (
        ("applications", 8),
        ("entitlements", 40),
        ("identities", 100),
        ("assignments", 316),
    ):
        assert f"{entity}: {rows} loaded" in out
        assert _count(es, entity) == rows
    assert key not in out + err + gateway.log.read_text()

    code, out, _ = _job(gateway, key, SHOWCASE, SEED_DIR)  # again: upserts, nothing new
    assert code == 0 and _count(es, "identities") == 100


def test_job_reports_bad_rows_by_file_and_line(
    gateway: GatewayProcess, es: Elasticsearch, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    shutil.copytree(SEED_DIR / "data", root / "data")
    identities = root / "data" / "input" / "identities.csv"
    lines = identities.read_text().splitlines()
    lines[3] = "," + lines[3].split(",", 1)[1]  # line 4: blank usr_id
    lines[7] = "usr-x,too,few"  # line 8
    identities.write_text("\n".join(lines) + "\n")
    code, out, err = _job(gateway, gateway.create_api_key(), SHOWCASE, root)
    assert code == 2
    assert "identities: 98 loaded" in out and "2 failed" in out
    assert f"{identities}:4: invalid_item: usr_id must not be blank" in err
    assert f"{identities}:8: expected 7 fields, found 3" in err
    assert _count(es, "identities") == 98 and _count(es, "assignments") == 316


def test_job_fails_clearly_without_a_valid_key_or_data_source(gateway: GatewayProcess) -> None:
    code, _, err = _job(gateway, "00000000-0000-4000-8000-000000000000", SHOWCASE, SEED_DIR)
    assert code == 1 and "data-source search failed: 401" in err
    key = gateway.create_api_key()
    code, _, err = _job(gateway, key, "no-such-id", SEED_DIR)
    assert code == 1 and "no data source with id no-such-id" in err
    code, _, err = _job(gateway, key, RETIRED, SEED_DIR)
    assert code == 1 and "is not active" in err
    code, _, err = _job(gateway, key, SHOWCASE, SEED_DIR, "--url", "http://127.0.0.1:1")
    assert code == 1 and "cannot reach the gateway" in err
