"""JDBC definitions: what is refused before anything is read, and reading SQLite through a sink.

Every refusal here happens before a connection is opened. The reading tests use a real SQLite file; the
PostgreSQL and Elasticsearch ends are in tests/jobs/test_jdbc_job.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from gateway.ingest.datasources import DataSource
from gateway.ingest.entities import EntityKind
from gateway.ingest.writer import Action, ItemFailure
from gateway.loading.jdbc import entity_query
from gateway.loading.jdbc_settings import JdbcError, jdbc_engine
from gateway.loading.loader import FileReport, SourceError
from gateway.loading.sources import load_datasource

SECRET = "s3cr3t-Pa55"
ENV = {"JDBC_PASSWORD_HR": SECRET}
PG = "postgresql+psycopg://hr-db.example:5432/hr"


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ("postgresql://x/y", "must be an object"),
        ({}, "url is required"),
        ({"url": "not a url"}, "not a database URL"),
        ({"url": f"postgresql+psycopg://ingest:{SECRET}@hr-db/hr"}, "carries a password"),
        ({"url": "mysql+pymysql://hr-db/hr", "user": "u"}, "'mysql+pymysql' is not supported"),
        ({"url": "postgresql+psycopg2://hr-db/hr", "user": "u"}, "is not supported"),
        ({"url": "jdbc:postgresql://hr-db/hr"}, "not a database URL"),
        ({"url": f"{PG}?password={SECRET}", "user": "u"}, "options password are not allowed"),
        ({"url": f"{PG}?sslpassword=x&sslmode=require", "user": "u"}, "options sslpassword are not allowed"),
        ({"url": f"{PG}?host=/tmp", "user": "u"}, "options host are not allowed"),
        ({"url": PG, "user": "u", "password": SECRET}, "unknown connectionSettings.jdbc keys: password"),
        ({"url": PG}, "name the database user"),
        ({"url": "postgresql+psycopg://a@hr-db/hr", "user": "b"}, "name the database user once"),
        ({"url": "postgresql+psycopg:///hr", "user": "u"}, "names a host and a database"),
        (
            {"url": PG, "user": "u", "passwordEnv": "INGEST_API_KEY"},
            "JDBC_PASSWORD_<name>, not INGEST_API_KEY",
        ),
        ({"url": PG, "user": "u", "passwordEnv": "ES_PASSWORD"}, "JDBC_PASSWORD_<name>, not ES_PASSWORD"),
        ({"url": PG, "user": "u", "passwordEnv": "PGPASSWORD"}, "JDBC_PASSWORD_<name>, not PGPASSWORD"),
        ({"url": PG, "user": "u", "passwordEnv": "AWS_SECRET_ACCESS_KEY"}, "JDBC_PASSWORD_<name>"),
        ({"url": PG, "user": "u", "passwordEnv": "JDBC_PASSWORD_"}, "JDBC_PASSWORD_<name>"),
        (
            {"url": PG, "user": "u", "passwordEnv": "JDBC_PASSWORD_NOT_SET"},
            "NOT_SET (passwordEnv) is not set",
        ),
        ({"url": PG, "user": "u"}, "needs passwordEnv or passwordFile"),
        (
            {"url": "postgresql://%2Ftmp/db", "user": "u", "passwordEnv": "JDBC_PASSWORD_HR"},
            "not a unix socket",
        ),
        ({"url": PG, "user": "u", "passwordEnv": "$(id)"}, "must name an environment variable"),
        ({"url": PG, "user": "u", "passwordEnv": "A", "passwordFile": "/p"}, "not both"),
        ({"url": PG, "user": "u", "passwordFile": "/../outside.txt"}, "names no file under the data root"),
        ({"url": PG, "user": "u", "passwordFile": "/missing"}, "names no file under the data root"),
        ({"url": "sqlite:////etc/passwd"}, "never absolute"),
        ({"url": "sqlite:///../outside.sqlite"}, "outside the data root"),
        ({"url": "sqlite:///link/db.sqlite"}, "outside the data root"),
        ({"url": "sqlite:///nothing.sqlite"}, "names no database file under the data root"),
        ({"url": "sqlite://"}, "names no database file"),
        ({"url": "sqlite:///:memory:"}, "names no database file"),
        ({"url": "sqlite:///db.sqlite?mode=rwc"}, "no options"),
        ({"url": "sqlite:///db.sqlite", "passwordEnv": "JDBC_PASSWORD_HR"}, "takes no password"),
    ],
)
def test_definitions_that_could_leak_or_reach_too_far_are_refused(
    tmp_path: Path, settings: Any, reason: str
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "db.sqlite").touch()
    (tmp_path / "outside.txt").write_text(SECRET)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "db.sqlite").touch()
    (root / "link").symlink_to(tmp_path / "elsewhere")
    env = {**ENV, "INGEST_API_KEY": "k", "ES_PASSWORD": "p", "GATEWAY_JWT_SECRET": "j", "A": "a"}
    with pytest.raises(JdbcError, match=re.escape(reason)):
        jdbc_engine(settings, root, env)


def test_accepted_definitions_keep_the_password_out_of_the_url(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "hr.password").write_text(SECRET + "\n")
    for credentials in ({"passwordEnv": "JDBC_PASSWORD_HR"}, {"passwordFile": "/secrets/hr.password"}):
        settings = {"url": "postgresql://hr-db.example/hr?sslmode=require", "user": "ingest", **credentials}
        engine, password = jdbc_engine(settings, tmp_path, ENV)
        assert password == SECRET
        assert engine.url.drivername == "postgresql+psycopg" and engine.url.password is None
        assert SECRET not in repr(engine.url) and SECRET not in engine.url.render_as_string(False)
        assert dict(engine.url.query) == {"sslmode": "require"}
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.sqlite").touch()
    engine, password = jdbc_engine({"url": "sqlite:///data/x.sqlite"}, tmp_path, {})
    assert password is None and engine.dialect.name == "sqlite"


def test_since_is_a_bound_parameter_never_part_of_the_sql() -> None:
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    sql, params = entity_query("SELECT usr_id, updated FROM people;", "postgresql", moment)
    assert sql == (
        "SELECT * FROM (SELECT usr_id, updated FROM people) AS jdbc_rows "
        "WHERE :one = 1 AND jdbc_rows.updated > :since"
    )
    assert params == {"one": 1, "since": moment}
    sql, params = entity_query("SELECT 1", "sqlite", moment.replace(tzinfo=None))
    assert "julianday(:since)" in sql and params == {"one": 1, "since": "2026-01-02T03:04:05+00:00"}
    assert entity_query("SELECT 1", "sqlite", None) == (
        "SELECT * FROM (SELECT 1) AS jdbc_rows WHERE :one = 1",
        {"one": 1},
    )
    assert entity_query("SELECT 1", "sqlite", None, rows=False)[1] == {"one": 0}


class ListSink:
    """Keeps what it is given; refuses items whose usr_id is blank, like the gateway does."""

    def __init__(self) -> None:
        self.items: dict[str, list[dict[str, str]]] = {}

    async def write(self, kind: EntityKind, action: Action, items: list[dict[str, str]]) -> list[ItemFailure]:
        self.items.setdefault(kind.name, []).extend(items)
        return [
            ItemFailure(i, None, 400, "invalid_item", "usr_id must not be blank")
            for i, item in enumerate(items)
            if item.get("usr_id") == ""
        ]


def _sqlite_source(root: Path, queries: dict[str, str]) -> dict[str, Any]:
    with closing(sqlite3.connect(root / "hr.sqlite")) as db:
        db.execute("CREATE TABLE people (usr_id, usr_name, usr_manager_id, updated)")
        db.executemany(
            "INSERT INTO people VALUES (?, ?, ?, ?)",
            [
                ("u1", "Ada", None, "2026-01-01T00:00:00Z"),
                ("u2", b"Bad \xff", "u1", "2026-02-01T00:00:00Z"),
                (None, "No id", "u1", "2026-03-01T00:00:00Z"),
                ("u4", "Grace", 7, "2026-04-01T10:00:00+02:00"),
            ],
        )
        db.commit()
    prefix = "/autoid/system/datasources/ds"
    return {
        "name": "HR",
        "sync_type": "incremental",
        "entityTypes": {f"{prefix}/{name}": {"query": query} for name, query in queries.items()},
        "connectionSettings": {"jdbc": {"url": "sqlite:///hr.sqlite"}},
    }


def _load(document: dict[str, Any], root: Path, **options: Any) -> tuple[list[FileReport], ListSink]:
    sink = ListSink()
    source = DataSource.from_document({"datasource_id": "ds", **document})
    reading = load_datasource(
        sink, source, root, action=source.action, progress=False, batch_size=2, **options
    )
    return asyncio.run(reading), sink


def test_rows_stream_through_the_sink_with_errors_by_row(tmp_path: Path) -> None:
    source = _sqlite_source(tmp_path, {"identities": "SELECT * FROM people ORDER BY rowid"})
    (report,), sink = _load(source, tmp_path)
    assert (report.file, report.loaded, report.failed) == ("jdbc:identities", 2, 2)
    assert [str(e) for e in report.errors] == [
        "jdbc:identities:2: not valid UTF-8",
        "jdbc:identities:3: invalid_item: usr_id must not be blank",
    ]
    ada, blank, grace = sink.items["identities"]
    assert ada == {"usr_id": "u1", "usr_name": "Ada", "usr_manager_id": "", "updated": "2026-01-01T00:00:00Z"}
    assert blank["usr_id"] == "" and grace["usr_manager_id"] == "7"


def test_since_keeps_later_rows_and_needs_an_updated_column(tmp_path: Path) -> None:
    source = _sqlite_source(
        tmp_path,
        {"identities": "SELECT * FROM people", "assignments": "SELECT usr_id, 'e1' AS ent_id FROM people"},
    )
    with pytest.raises(SourceError, match="--since needs an 'updated' column, and the assignments query"):
        _load(source, tmp_path, since=dt.datetime(2026, 2, 15, tzinfo=dt.UTC))
    del source["entityTypes"]["/autoid/system/datasources/ds/assignments"]
    # 2026-04-01T10:00+02:00 is 08:00 UTC: compared as instants, not as text
    (report,), sink = _load(source, tmp_path, since=dt.datetime(2026, 4, 1, 7, 59, tzinfo=dt.UTC))
    assert [i["usr_id"] for i in sink.items["identities"]] == ["u4"]
    (report,), sink = _load(source, tmp_path, since=dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC))
    assert report.loaded == 0 and sink.items == {}


def test_bad_queries_are_that_entitys_error_and_the_others_still_load(tmp_path: Path) -> None:
    source = _sqlite_source(
        tmp_path,
        {
            "applications": "SELECT usr_id AS app_name FROM people",
            "entitlements": "SELECT nonsense FROM nowhere",
            "identities": "SELECT usr_id, usr_name FROM people WHERE usr_id = 'u1'",
            "assignments": "  ",
        },
    )
    reports, sink = _load(source, tmp_path)
    errors = {r.entity: str(r.errors[0]) for r in reports if r.errors}
    assert errors == {
        "applications": "jdbc:applications:0: bad columns (missing columns: app_id)",
        "entitlements": "jdbc:entitlements:0: query failed: OperationalError: no such table: nowhere",
        "assignments": "jdbc:assignments:0: no query: give a non-empty SQL query",
    }
    assert sink.items == {"identities": [{"usr_id": "u1", "usr_name": "Ada"}]}


def test_a_query_cannot_change_the_database(tmp_path: Path) -> None:
    source = _sqlite_source(tmp_path, {"identities": "DELETE FROM people RETURNING usr_id, usr_name"})
    (report,), _ = _load(source, tmp_path)
    assert report.loaded == 0 and "query failed" in report.errors[0].message
    engine, _ = jdbc_engine(source["connectionSettings"]["jdbc"], tmp_path, {})
    with engine.connect() as conn, pytest.raises(OperationalError, match="readonly database"):
        conn.execute(text("DELETE FROM people"))  # even outside the subquery: opened read-only
    engine.dispose()
    with closing(sqlite3.connect(tmp_path / "hr.sqlite")) as db:
        assert db.execute("SELECT count(*) FROM people").fetchone() == (4,)


def test_csv_sources_refuse_since_and_unknown_kinds_are_refused(tmp_path: Path) -> None:
    csv_source = {"name": "x", "connectionSettings": {"csv": {}}, "entityTypes": {}}
    with pytest.raises(SourceError, match="--since needs a JDBC data source"):
        _load(csv_source, tmp_path, since=dt.datetime.now(dt.UTC))
    with pytest.raises(SourceError, match="not a CSV or JDBC data source"):
        _load({"connectionSettings": {"generic": {}}}, tmp_path)
