"""``gateway ingest-job`` as a sync run: a full sync deletes what left the source, and only then."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from gateway.ingest.entities import IDENTITIES, document_id
from gateway.ingest.writer import Action
from gateway.jobs.dry_run import KeySink, WouldDelete, would_delete
from gateway.loading.seed import SEED_DIR, load_seed
from gateway.settings import Settings
from tests.helpers import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    ALL_SCOPES,
    HTTP_TIMEOUT,
    TEST_TENANT_ID,
    GatewayProcess,
    make_settings,
    run_cli,
    with_es,
)

SHOWCASE = "2d7a6a76-469c-4035-b312-fb1daf104e98"
ENTITIES = ("applications", "entitlements", "identities", "assignments")
GONE = "usr-0000007"  # removed from identities.csv in these tests


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A private copy of the showcase files."""
    copy = tmp_path / "root"
    shutil.copytree(SEED_DIR / "data", copy / "data")
    return copy


@contextlib.contextmanager
def seeded_gateway(es_url: str, state: Path, root: Path, **env: str) -> Iterator[GatewayProcess]:
    """A gateway, and the demo seed loaded from ``root`` the way ``gateway seed load`` does."""
    shared = {"GATEWAY_ADMIN_USERNAME": ADMIN_USER, "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD, **env}
    process = GatewayProcess(es_url, state, shared)
    try:
        process.wait_ready()
        settings: Settings = make_settings(es_url=es_url, data_root=root)
        with_es(settings, lambda client: load_seed(client, settings, progress=False))
        yield process
    finally:
        process.stop()


@pytest.fixture
def gateway(es: Elasticsearch, es_url: str, tmp_path: Path, root: Path) -> Iterator[GatewayProcess]:
    with seeded_gateway(es_url, tmp_path / "gateway", root) as process:
        yield process


def _job(gateway: GatewayProcess, key: str, root: Path, *extra: str) -> tuple[int, str, str]:
    env = dict(os.environ, INGEST_API_KEY=key, TENANT_ID=TEST_TENANT_ID, GATEWAY_DATA_ROOT=str(root))
    result = run_cli(
        "ingest-job", "--datasource", SHOWCASE, "--url", gateway.url, "--no-progress", *extra, env=env
    )
    return result.returncode, result.stdout, result.stderr


def _keys(es: Elasticsearch, entity: str) -> set[str]:
    index = f"autonomous-iam_autoid_base_{entity}_latest"
    es.indices.refresh(index=index)
    hits = es.search(index=index, size=10_000)["hits"]["hits"]
    return {h["_source"]["metadata"]["primaryKey"] for h in hits}


def _remove_rows(path: Path, starting: str) -> list[str]:
    """Drop the data rows starting with ``starting``; the dropped rows."""
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line for line in lines if not line.startswith(starting)) + "\n")
    return [line for line in lines if line.startswith(starting)]


def _inputs(root: Path) -> Path:
    return root / "data" / "input"


def test_a_full_sync_deletes_what_left_the_source_after_seed_load(
    gateway: GatewayProcess, es: Elasticsearch, root: Path
) -> None:
    before = {entity: _keys(es, entity) for entity in ENTITIES}
    stamp = es.get(index="autonomous-iam_autoid_base_identities_latest", id=document_id(GONE))
    assert stamp["_source"]["metadata"]["datasourceId"] == SHOWCASE  # seed load: the data source's own
    assert stamp["_source"]["metadata"]["syncRun"].startswith("seed-")
    _remove_rows(_inputs(root) / "identities.csv", GONE + ",")
    assignments = _inputs(root) / "assignments.csv"
    lines = assignments.read_text().splitlines()
    dropped = next(line for line in lines if line.startswith("usr-0000003,"))
    assignments.write_text("\n".join(line for line in lines if line != dropped) + "\n")
    dropped_key = dropped.replace(",", ":")
    # The assignments file still lists GONE's rows: they go with the identity.
    cascaded = {k for k in before["assignments"] if k.startswith(GONE + ":")}
    assert cascaded and dropped_key in before["assignments"]
    key = gateway.create_api_key(scopes=ALL_SCOPES)

    code, out, err = _job(gateway, key, root, "--dry-run")
    assert code == 0, err
    assert "identities: 99 read (dry run) from" in out
    assert f"identities: 1 would be deleted: {GONE}" in out
    assert f"assignments: 1 would be deleted: {dropped_key}" in out
    assert "entitlements: 0 would be deleted" in out
    assert {entity: _keys(es, entity) for entity in ENTITIES} == before  # nothing written

    code, out, err = _job(gateway, key, root)
    assert code == 0, err
    assert "identities: 0 created, 99 updated, 1 deleted" in out
    assert f"assignments: 0 created, 315 updated, {len(cascaded) + 1} deleted" in out
    assert "entitlements: 0 created, 40 updated, 0 deleted" in out
    assert _keys(es, "identities") == before["identities"] - {GONE}
    assert _keys(es, "assignments") == before["assignments"] - cascaded - {dropped_key}
    assert _keys(es, "entitlements") == before["entitlements"]

    every = es.search(index="autonomous-iam_*,gateway-*", size=10_000)["hits"]["hits"]
    assert key not in json.dumps(every) + out + err + gateway.log.read_text()


def test_a_failed_or_partial_read_deletes_nothing(
    gateway: GatewayProcess, es: Elasticsearch, root: Path
) -> None:
    before = _keys(es, "identities")
    identities = _inputs(root) / "identities.csv"
    _remove_rows(identities, GONE + ",")
    lines = identities.read_text().splitlines()
    lines[3] = lines[4] = "usr-x,too,few"  # 2 bad rows of 99: more than 1 %
    identities.write_text("\n".join(lines) + "\n")
    key = gateway.create_api_key(scopes=ALL_SCOPES)

    code, _, err = _job(gateway, key, root)
    assert code == 2
    assert "identities.csv: 2 of 99 rows failed, more than the allowed 1.00%" in err
    assert _keys(es, "identities") == before

    (_inputs(root) / "entitlements.csv").unlink()
    code, _, err = _job(gateway, key, root, "--max-bad-rows", "0.05")
    assert code == 2 and "nothing deleted: could not read" in err
    assert _keys(es, "identities") == before

    shutil.copy(SEED_DIR / "data" / "input" / "entitlements.csv", _inputs(root) / "entitlements.csv")
    code, out, err = _job(gateway, key, root, "--max-bad-rows", "0.05")
    assert code == 2, err  # the bad rows are still reported
    seeded = (SEED_DIR / "data" / "input" / "identities.csv").read_text().splitlines()
    gone = {GONE, *(line.split(",")[0] for line in seeded[3:5])}
    assert _keys(es, "identities") == before - gone
    assert "identities: 0 created, 97 updated, 3 deleted" in out


def test_concurrent_runs_are_refused(gateway: GatewayProcess, es: Elasticsearch, root: Path) -> None:
    key = gateway.create_api_key(scopes=ALL_SCOPES)
    headers = {"X-API-KEY": key, "x-tenant-id": TEST_TENANT_ID}
    held = httpx.post(
        f"{gateway.url}/api/ingest/sync/{SHOWCASE}/start", headers=headers, timeout=HTTP_TIMEOUT
    )
    assert held.status_code == 200
    _remove_rows(_inputs(root) / "identities.csv", GONE + ",")
    code, _, err = _job(gateway, key, root)
    assert code == 1 and "another sync run of data source" in err
    assert GONE in _keys(es, "identities")


def test_an_incremental_sync_never_deletes(gateway: GatewayProcess, es: Elasticsearch, root: Path) -> None:
    index = "autonomous-iam_common_datasources_latest"
    es.update(index=index, id=document_id(SHOWCASE), doc={"sync_type": "incremental"}, refresh=True)
    _remove_rows(_inputs(root) / "identities.csv", GONE + ",")
    code, out, err = _job(gateway, gateway.create_api_key(scopes=ALL_SCOPES), root)
    assert code == 0, err
    assert "identities: 0 created, 99 updated, 0 deleted" in out
    assert GONE in _keys(es, "identities")


def test_the_dry_run_check_covers_every_key_range(
    gateway: GatewayProcess, es: Elasticsearch, tmp_path: Path
) -> None:
    """Small chunks: the ranges between them, and before the first and after the last, are all checked."""
    every = sorted(_keys(es, "identities"))
    missing = [every[0], every[41], every[42], every[-1]]
    read = [{"usr_id": k} for k in every if k not in missing] + [{"usr_id": "usr-new"}]
    headers = {"X-API-KEY": gateway.create_api_key(scopes=ALL_SCOPES), "x-tenant-id": TEST_TENANT_ID}

    async def run() -> WouldDelete:
        sink = KeySink(tmp_path)
        try:
            await sink.write(IDENTITIES, Action.UPSERT, read)
            async with httpx.AsyncClient(
                base_url=gateway.url, headers=headers, timeout=HTTP_TIMEOUT
            ) as client:
                return await would_delete(client, SHOWCASE, sink, IDENTITIES, chunk=7)
        finally:
            sink.close()

    result = asyncio.run(run())
    assert (result.count, result.keys) == (4, missing)
