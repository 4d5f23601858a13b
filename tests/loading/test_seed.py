"""Seed data: data sources (SPEC §5 documents with the original's ids), mappings, the showcase entities."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.ingest.entities import document_id
from gateway.loading.loader import FileReport, RowError
from gateway.loading.seed import SEED_DIR, load_datasources, load_seed, read_datasources
from gateway.settings import Settings
from tests.helpers import DOCUMENTED_SEARCH, create_key, login, run_cli, search, showcase_datasource, with_es

INDEX = "autonomous-iam_common_datasources_latest"
SHOWCASE_ID = "2d7a6a76-469c-4035-b312-fb1daf104e98"
SHOWCASE_JDBC_ID = "7f3b9c2e-5d14-4a8f-b6e1-0c9d2a4f8e73"
DATASOURCES = SEED_DIR / "datasources.csv"
SHOWCASE_DIR = SEED_DIR / "data" / "input"


def _load(settings: Settings, path: Path) -> FileReport:
    return with_es(
        settings, lambda es: load_datasources(es, path, settings.datasource_index, settings.tenant_name)
    )


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
    assert report.loaded == 5 and report.errors == []
    key = create_key(client, login(client))
    body = search(client, {"authorization": key}, DOCUMENTED_SEARCH).json()
    assert body["hits"]["total"] == {"value": 5, "relation": "eq"}
    showcase = next(h for h in body["hits"]["hits"] if h["_source"]["name"] == "Showcase-CSV-DS")
    assert showcase["_id"] == document_id(SHOWCASE_ID)
    assert showcase["_source"] == showcase_datasource()
    assert showcase["sort"] == [SHOWCASE_ID]


def test_loading_twice_changes_nothing(client: TestClient, settings: Settings, es: Elasticsearch) -> None:
    _load(settings, DATASOURCES)
    _load(settings, DATASOURCES)
    assert es.count(index=INDEX)["count"] == 5


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
    assert [(e.line, e.message.split(" ")[0]) for e in report.errors] == [
        (3, "sync_type"),
        (4, "is_active"),
        (5, "wrong"),
        (6, "created"),
    ]
    assert all(e.file == str(bad) for e in report.errors)
    assert es.count(index=INDEX)["count"] == 1


def test_documents_elasticsearch_refuses_are_reported_with_its_reason(
    settings: Settings, es: Elasticsearch
) -> None:
    es.indices.create(index=INDEX, settings={"index.blocks.write": True})
    report = _load(settings, DATASOURCES)
    assert report.loaded == 0 and len(report.errors) == 5
    first = report.errors[0].message
    assert first.startswith(f"document {document_id(SHOWCASE_ID)}: cluster_block_exception: index [{INDEX}]")


def test_missing_columns_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "ds.csv"
    path.write_text("datasource_id,name\nx,y\n")
    (error,) = list(read_datasources(path, "autonomous-iam"))
    assert isinstance(error, RowError) and "missing columns" in error.message and error.line == 1


def _load_all(settings: Settings, datasources: Path = DATASOURCES) -> list[FileReport]:
    return with_es(settings, lambda es: load_seed(es, settings, datasources=datasources))


def test_showcase_data_set_is_coherent() -> None:
    def rows(name: str) -> list[dict[str, str]]:
        with (SHOWCASE_DIR / name).open(newline="") as handle:
            return list(csv.DictReader(handle))

    apps, ents = rows("applications.csv"), rows("entitlements.csv")
    people, grants = rows("identities.csv"), rows("assignments.csv")
    users = {p["usr_id"] for p in people}
    assert 300 <= len(apps) + len(ents) + len(people) + len(grants) <= 1000
    assert len(users) == len(people)
    assert {p["usr_manager_id"] for p in people} - {""} <= users  # every manager exists
    assert sum(1 for p in people if not p["usr_manager_id"]) == 1  # one top of the hierarchy
    assert {a["app_owner_id"] for a in apps} <= users and {e["ent_owner_id"] for e in ents} <= users
    assert {e["app_id"] for e in ents} == {a["app_id"] for a in apps}
    assert {g["usr_id"] for g in grants} <= users
    assert {g["ent_id"] for g in grants} <= {e["ent_id"] for e in ents}
    assert len({(g["usr_id"], g["ent_id"]) for g in grants}) == len(grants)


def test_seed_load_writes_everything_once(client: TestClient, settings: Settings, es: Elasticsearch) -> None:
    first = _load_all(settings)
    assert [(r.entity, r.failed) for r in first] == [
        ("datasources", 0),
        ("mappings", 0),
        ("applications", 0),
        ("entitlements", 0),
        ("identities", 0),
        ("assignments", 0),
        ("showcase database", 0),
    ]
    counts = {r.entity: r.loaded for r in first}
    for entity in ("applications", "entitlements", "identities", "assignments"):
        with (SHOWCASE_DIR / f"{entity}.csv").open() as handle:
            rows = sum(1 for _ in handle) - 1
        assert counts[entity] == rows
        assert es.count(index=f"autonomous-iam_autoid_base_{entity}_latest")["count"] == rows
    person = es.get(index="autonomous-iam_autoid_base_identities_latest", id=document_id("usr-0000001"))
    assert person["_source"]["usr_manager_id"] == "usr-0000000" and person["_source"]["department"]
    created = person["_source"]["metadata"]["created"]
    second = _load_all(settings)  # idempotent: same documents, creation times kept
    assert [r.loaded for r in second] == [r.loaded for r in first]
    assert es.count(index="autonomous-iam_autoid_base_identities_latest")["count"] == counts["identities"]
    again = es.get(index="autonomous-iam_autoid_base_identities_latest", id=document_id("usr-0000001"))
    assert again["_source"]["metadata"]["created"] == created


def test_seed_load_refuses_uris_outside_the_data_root(
    client: TestClient, settings: Settings, es: Elasticsearch, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    (root / "data").mkdir(parents=True)
    (root / "data" / "identities.csv").write_text("usr_id,usr_name\nu1,Ada\n")
    (tmp_path / "secret.csv").write_text("usr_id\nstolen\n")
    lines = DATASOURCES.read_text().splitlines()
    row = lines[1].split(",")
    row[6:10] = [
        "file:/../secret.csv",
        "file:/data/nowhere.csv",
        "http://example.com/x.csv",
        "file:/data/identities.csv",
    ]
    datasources = tmp_path / "datasources.csv"
    datasources.write_text(lines[0] + "\n" + ",".join(row) + "\n")
    reports = _load_all(settings.model_copy(update={"data_root": root}), datasources)
    by_entity = {r.entity: r for r in reports}
    assert by_entity["identities"].loaded == 1
    assert "outside the data root" in by_entity["applications"].errors[0].message
    assert "names no file" in by_entity["assignments"].errors[0].message
    assert "not a file: URI" in by_entity["entitlements"].errors[0].message
    assert es.count(index="autonomous-iam_autoid_base_applications_latest")["count"] == 0


def test_seed_load_command_reports_and_shows_progress(
    client: TestClient, settings: Settings, es: Elasticsearch, es_url: str
) -> None:
    env = dict(os.environ, ES_URL=es_url, TENANT_ID=str(settings.tenant_id))
    result = run_cli("seed", "load", "--progress", env=env)
    assert result.returncode == 0, result.stderr
    assert "identities: 100 loaded from" in result.stdout and "assignments: 316 loaded" in result.stdout
    assert "identities:" in result.stderr and "B/s" in result.stderr  # the progress bar, on stderr
    bad = run_cli("seed", "load", "--data-root", "/nonexistent", env=env)
    assert bad.returncode == 2 and "does not exist" in bad.stderr


def test_jdbc_rows_become_queries_and_connection_settings_without_secrets() -> None:
    documents = {
        d["name"]: d for _, d in (r for r in read_datasources(DATASOURCES, "t") if isinstance(r, tuple))
    }
    showcase = documents["Showcase-JDBC-DS"]
    assert showcase["datasource_id"] == SHOWCASE_JDBC_ID and showcase["sync_type"] == "full"
    assert showcase["connectionSettings"] == {"jdbc": {"url": "sqlite:///data/showcase.sqlite"}}
    queries = {path.rsplit("/", 1)[1]: spec for path, spec in showcase["entityTypes"].items()}
    assert sorted(queries) == ["applications", "assignments", "entitlements", "identities"]
    assert queries["assignments"] == {"query": "SELECT usr_id, ent_id, updated FROM assignments"}
    hr = documents["HR-JDBC-DS"]["connectionSettings"]["jdbc"]
    assert hr == {
        "url": "postgresql+psycopg://hr-db.example:5432/hr",
        "user": "ingest",
        "passwordEnv": "JDBC_PASSWORD_HR",
    }
    assert documents["Entitlements-Enrichment"]["connectionSettings"] == {"generic": {}}


def test_connection_settings_must_be_a_json_object(tmp_path: Path) -> None:
    lines = DATASOURCES.read_text().splitlines()
    path = tmp_path / "ds.csv"
    path.write_text("\n".join([lines[0], lines[1] + "[1]", lines[1] + '"{broken"']) + "\n")
    errors = list(read_datasources(path, "t"))
    assert [(e.line, e.message) for e in errors if isinstance(e, RowError)] == [
        (2, "connection_settings must be a JSON object"),
        (3, "connection_settings must be a JSON object"),
    ]


def test_seed_load_builds_the_showcase_sqlite_database_in_the_data_root(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    shutil.copytree(SHOWCASE_DIR, root / "data" / "input")
    for _ in range(2):  # rebuilt each time, never appended to
        reports = _load_all(settings.model_copy(update={"data_root": root}))
        built = reports[-1]
        assert (built.entity, built.loaded, built.errors) == ("showcase database", 464, [])
        assert built.file == str(root / "data" / "showcase.sqlite")
    with closing(sqlite3.connect(root / "data" / "showcase.sqlite")) as db:
        counts = {
            t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
            for t in ("applications", "entitlements", "identities", "assignments")
        }
        first = db.execute(
            "SELECT usr_id, usr_manager_id, updated FROM identities ORDER BY updated LIMIT 2"
        ).fetchall()
    assert counts == {"applications": 8, "entitlements": 40, "identities": 100, "assignments": 316}
    assert first == [
        ("usr-0000000", "", "2022-01-01T00:00:00Z"),
        ("usr-0000001", "usr-0000000", "2022-01-02T00:00:00Z"),
    ]
    assert sorted(p.name for p in (root / "data").iterdir()) == [
        "input",
        "showcase.sqlite",
    ]  # no temporary left
