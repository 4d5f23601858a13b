"""Data-source seed: the showcase row becomes SPEC §5's document, with the original's document id."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.es.client import build_client
from gateway.seed import SEED_DIR, LoadReport, RowError, document_id, load_datasources, read_datasources
from gateway.settings import Settings
from tests.helpers import DOCUMENTED_SEARCH, create_key, login, search, showcase_datasource

INDEX = "autonomous-iam_common_datasources_latest"
SHOWCASE_ID = "2d7a6a76-469c-4035-b312-fb1daf104e98"
DATASOURCES = SEED_DIR / "datasources.csv"


def _load(settings: Settings, path: Path) -> LoadReport:
    async def run() -> LoadReport:
        es = build_client(settings)
        try:
            return await load_datasources(es, path, settings.datasource_index, settings.tenant_name)
        finally:
            await es.close()

    return asyncio.run(run())


def test_document_id_is_the_originals() -> None:
    expected_start, expected_end = "259b80c7693e92c4c29bd64deac4cd99", "9d8732d59bfd2e239a285184f8e7a35b"
    doc_id = document_id(SHOWCASE_ID)
    assert len(doc_id) == 128 and doc_id.startswith(expected_start) and doc_id.endswith(expected_end)


def test_showcase_row_is_the_spec_document_byte_for_byte() -> None:
    rows = list(read_datasources(DATASOURCES, "autonomous-iam"))
    first = rows[0]
    assert not isinstance(first, RowError)
    assert json.dumps(first[1]) == json.dumps(showcase_datasource())  # same keys, same order
    assert len(rows) >= 4 and not any(isinstance(r, RowError) for r in rows)
    sync_types = {r[1]["sync_type"] for r in rows if not isinstance(r, RowError)}
    assert sync_types == {"full", "incremental", "enrichment", "delete"}


def test_loaded_showcase_answers_the_documented_search(client: TestClient, settings: Settings) -> None:
    report = _load(settings, DATASOURCES)
    assert report.loaded == 4 and report.errors == []
    key = create_key(client, login(client))
    body = search(client, {"authorization": key}, DOCUMENTED_SEARCH).json()
    assert body["hits"]["total"] == {"value": 4, "relation": "eq"}
    showcase = next(h for h in body["hits"]["hits"] if h["_source"]["name"] == "Showcase-CSV-DS")
    assert showcase["_id"] == document_id(SHOWCASE_ID)
    assert showcase["_source"] == showcase_datasource()
    assert showcase["sort"] == [SHOWCASE_ID]


def test_loading_twice_changes_nothing(client: TestClient, settings: Settings, es: Elasticsearch) -> None:
    _load(settings, DATASOURCES)
    _load(settings, DATASOURCES)
    assert es.count(index=INDEX)["count"] == 4


def test_bad_rows_are_reported_by_line_and_good_rows_still_load(
    client: TestClient, settings: Settings, es: Elasticsearch, tmp_path: Path
) -> None:
    lines = DATASOURCES.read_text().splitlines()
    bad = tmp_path / "datasources.csv"
    bad.write_text(
        "\n".join(
            [
                lines[0],
                lines[1],
                lines[2].replace(",incremental,", ",sometimes,"),
                lines[3].replace(",true,", ",yes,"),
                "too,few,fields",
                lines[4].replace("2022-11-02T18:45:10.000Z", "yesterday"),
            ]
        )
        + "\n"
    )
    report = _load(settings, bad)
    assert report.loaded == 1
    assert [(e.line, e.message.split(" ")[0]) for e in report.errors or []] == [
        (3, "sync_type"),
        (4, "is_active"),
        (5, "wrong"),
        (6, "created"),
    ]
    assert all(e.file == str(bad) for e in report.errors or [])
    assert es.count(index=INDEX)["count"] == 1


def test_missing_columns_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "ds.csv"
    path.write_text("datasource_id,name\nx,y\n")
    (error,) = list(read_datasources(path, "autonomous-iam"))
    assert isinstance(error, RowError) and "missing columns" in error.message and error.line == 1
