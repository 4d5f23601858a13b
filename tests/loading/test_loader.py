"""Entity CSV loading: data-root confinement, row-level errors by line, batching through the ingest path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from fastapi.testclient import TestClient

from gateway.ingest.datasources import DataSource
from gateway.ingest.entities import ASSIGNMENTS, IDENTITIES
from gateway.ingest.writer import Action, Ingestor
from gateway.loading.loader import (
    MAX_KEPT_ERRORS,
    FileReport,
    IngestorSink,
    RowError,
    UnsafeUri,
    load_datasource_files,
    load_entity_file,
    read_rows,
    resolve_file_uri,
)
from gateway.settings import Settings
from tests.helpers import with_es

IDENTITIES_INDEX = "autonomous-iam_autoid_base_identities_latest"


# --- file: URIs -----------------------------------------------------------------------------------------


def test_file_uris_resolve_under_the_data_root(tmp_path: Path) -> None:
    (tmp_path / "data" / "input").mkdir(parents=True)
    expected = (tmp_path / "data" / "input" / "my file.csv").resolve()
    assert resolve_file_uri("file:/data/input/my file.csv", tmp_path) == expected
    assert resolve_file_uri("file:///data/input/my%20file.csv", tmp_path) == expected
    assert resolve_file_uri("file://localhost/data/input/my%20file.csv", tmp_path) == expected
    assert resolve_file_uri("file:/data/../data/input/my file.csv", tmp_path) == expected


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("file:/../etc/passwd", "outside the data root"),
        ("file:/data/../../etc/passwd", "outside the data root"),
        ("file:/data/%2e%2e/%2e%2e/etc/passwd", "outside the data root"),
        ("file://evil.example.com/data/x.csv", "other hosts"),
        ("http://example.com/x.csv", "not a file: URI"),
        ("/data/input/x.csv", "not a file: URI"),
        ("file:", "no file path"),
        ("file:/data/x%00.csv", "no file path"),
    ],
)
def test_uris_reaching_outside_are_refused(tmp_path: Path, uri: str, message: str) -> None:
    with pytest.raises(UnsafeUri, match=message):
        resolve_file_uri(uri, tmp_path / "root")


def test_symbolic_links_out_of_the_root_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside.csv").write_text("usr_id\nx\n")
    os.symlink(tmp_path / "outside.csv", root / "link.csv")
    with pytest.raises(UnsafeUri, match="outside the data root"):
        resolve_file_uri("file:/link.csv", root)


# --- reading rows ---------------------------------------------------------------------------------------


def _read(tmp_path: Path, content: bytes) -> list[tuple[int, dict[str, str]] | RowError]:
    path = tmp_path / "identities.csv"
    path.write_bytes(content)
    return list(read_rows(path, IDENTITIES))


def test_rows_carry_their_line_numbers(tmp_path: Path) -> None:
    rows = _read(
        tmp_path,
        b'\xef\xbb\xbfusr_id,usr_name,note\nu1,Ada,"two\nlines"\n\nu2,Grace,x\nu3,short\nu4,Bad \xff,x\n',
    )
    assert rows[0] == (2, {"usr_id": "u1", "usr_name": "Ada", "note": "two\nlines"})
    assert rows[1] == (5, {"usr_id": "u2", "usr_name": "Grace", "note": "x"})
    assert isinstance(rows[2], RowError) and (rows[2].line, rows[2].message) == (
        6,
        "expected 3 fields, found 2",
    )
    assert isinstance(rows[3], RowError) and (rows[3].line, rows[3].message) == (7, "not valid UTF-8")
    assert len(rows) == 4


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file: a header row is required"),
        (b"usr_name,city\nAda,London\n", "bad header (missing columns: usr_id)"),
        (b"usr_id,usr_id\nu1,u2\n", "bad header (blank or repeated column names)"),
    ],
)
def test_bad_headers_stop_the_file_with_one_error(tmp_path: Path, content: bytes, message: str) -> None:
    (error,) = _read(tmp_path, content)
    assert isinstance(error, RowError) and error.line == 1 and error.message == message


def test_kept_errors_are_bounded_but_all_counted() -> None:
    report = FileReport("f.csv", "identities")
    for line in range(MAX_KEPT_ERRORS + 50):
        report.add_error(RowError("f.csv", line, "bad"))
    assert report.failed == MAX_KEPT_ERRORS + 50 and len(report.errors) == MAX_KEPT_ERRORS


# --- loading through the ingest path --------------------------------------------------------------------


def _load(
    settings: Settings, path: Path, action: Action, batch_size: int, kind: object = IDENTITIES
) -> FileReport:
    async def run(es: AsyncElasticsearch) -> FileReport:
        sink = IngestorSink(Ingestor(es, settings.tenant_name))
        report = await load_entity_file(sink, kind, path, action, batch_size=batch_size, progress=False)  # type: ignore[arg-type]
        await es.indices.refresh(index="autonomous-iam_autoid_base_*")
        return report

    return with_es(settings, run)


def test_good_rows_load_across_batches_and_bad_rows_are_named_by_line(
    client: TestClient, settings: Settings, es: Elasticsearch, tmp_path: Path
) -> None:
    lines = ["usr_id,usr_name,usr_manager_id"] + [f"u{i},User {i},u0" for i in range(50)]
    lines[10] = "u9,too,many,fields"  # line 11
    lines[20] = ",Nobody,u0"  # line 21: blank id, refused by the ingest path
    path = tmp_path / "identities.csv"
    path.write_text("\n".join(lines) + "\n")
    report = _load(settings, path, Action.UPSERT, batch_size=7)
    assert report.loaded == 48 and report.failed == 2
    assert [(e.line, e.message) for e in report.errors] == [
        (11, "expected 3 fields, found 4"),
        (21, "invalid_item: usr_id must not be blank"),
    ]
    assert es.count(index=IDENTITIES_INDEX)["count"] == 48


def test_failures_reported_by_elasticsearch_map_back_to_lines(
    client: TestClient, settings: Settings, es: Elasticsearch, tmp_path: Path
) -> None:
    path = tmp_path / "assignments.csv"
    path.write_text("usr_id,ent_id\nu1,e1\nu2,e2\nu3,e3\n")
    assert _load(settings, path, Action.CREATE, batch_size=2, kind=ASSIGNMENTS).loaded == 3
    path.write_text("usr_id,ent_id\nu4,e4\nu2,e2\nu5,e5\n")
    again = _load(settings, path, Action.CREATE, batch_size=2, kind=ASSIGNMENTS)
    assert again.loaded == 2
    assert [(e.line, e.message) for e in again.errors] == [(3, "conflict: the entity already exists")]
    path.write_text("usr_id,ent_id\nu1,e1\nu9,e9\n")
    deleted = _load(settings, path, Action.DELETE, batch_size=100, kind=ASSIGNMENTS)
    assert deleted.loaded == 1 and [(e.line, e.message) for e in deleted.errors] == [
        (3, "not_found: no such entity")
    ]
    assert es.count(index="autonomous-iam_autoid_base_assignments_latest")["count"] == 4


@pytest.mark.parametrize("uri", ["file:/applications.csv", ["file:/applications.csv"], None, 7])
def test_a_uri_that_is_not_an_object_is_that_files_error(
    client: TestClient, settings: Settings, es: Elasticsearch, tmp_path: Path, uri: object
) -> None:
    (tmp_path / "identities.csv").write_text("usr_id,usr_name,usr_manager_id\nu1,Ada,\n")
    prefix = "/autoid/system/datasources/ds-1"
    document = {
        "datasource_id": "ds-1",
        "sync_type": "full",
        "entityTypes": {
            f"{prefix}/applications": {"uri": uri},
            f"{prefix}/identities": {"uri": {"file": "file:/identities.csv"}},
        },
    }

    async def run(es: AsyncElasticsearch) -> list[FileReport]:
        sink = IngestorSink(Ingestor(es, settings.tenant_name))
        source = DataSource.from_document(document)
        return await load_datasource_files(sink, source, tmp_path, action=source.action, progress=False)

    applications, identities = with_es(settings, run)
    assert (applications.entity, applications.loaded, applications.failed) == ("applications", 0, 1)
    assert applications.errors[0].message == (
        f'the uri of {prefix}/applications must be an object like {{"file": "file:/..."}}'
    )
    assert (identities.entity, identities.loaded, identities.failed) == ("identities", 1, 0)


def test_a_stray_quote_stops_the_file_instead_of_swallowing_the_rest(tmp_path: Path) -> None:
    """Non-strict CSV would read one row whose name holds every line after the quote, and no error."""
    path = tmp_path / "identities.csv"
    rows = [f"u{n},User {n},m" for n in range(1000)]
    rows[5] = 'u5,"User 5,m'  # an opening quote never closed
    path.write_text("usr_id,usr_name,usr_manager_id\n" + "\n".join(rows) + "\n")
    read = list(read_rows(path, IDENTITIES))
    good = [item for item in read if not isinstance(item, RowError)]
    errors = [item for item in read if isinstance(item, RowError)]
    assert [row["usr_id"] for _, row in good] == ["u0", "u1", "u2", "u3", "u4"]
    assert len(errors) == 1 and errors[0].fatal and errors[0].line == 7
    assert "the rest of the file is not read" in errors[0].message


def test_a_report_stays_incomplete_however_many_errors_came_before() -> None:
    report = FileReport("jdbc:identities", "identities")
    for line in range(MAX_KEPT_ERRORS + 5):
        report.add_error(RowError(report.file, line + 1, "usr_id must not be blank"))
    assert not report.incomplete
    report.add_error(RowError(report.file, 0, "query failed: connection lost", fatal=True))
    assert report.incomplete and len(report.errors) == MAX_KEPT_ERRORS  # the error itself was not kept
