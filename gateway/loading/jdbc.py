"""JDBC data sources: entity rows from a SQL database (PostgreSQL through psycopg 3, or SQLite), streamed.

A definition holds no secret (any key holder can search data-source documents)::

    "connectionSettings": {"jdbc": {"url": "postgresql+psycopg://hr-db.example:5432/hr",
                                    "user": "ingest", "passwordEnv": "JDBC_PASSWORD_HR"}},
    "entityTypes": {"/autoid/system/datasources/<id>/identities":
                    {"query": "SELECT usr_id, usr_name, usr_manager_id, updated FROM people"}}

The password comes from the job's environment (``passwordEnv``) or from a file under the job's data root
(``passwordFile``); a URL carrying a password, an option outside a short allow-list, or a driver other
than psycopg 3 and SQLite is refused before anything is read. A SQLite database path is relative to the
data root and confined to it, like ``file:`` URIs. PostgreSQL reads run in one read-only, repeatable-read
transaction (one snapshot for every entity type) through a server-side cursor; SQLite opens read-only.
Rows come ``batch_size`` at a time, fetched in a worker thread while the previous batch is being written,
so memory stays flat in the table size. Errors name ``jdbc:<entity>`` and the row's number in the result.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from tqdm import tqdm

from gateway.ingest.datasources import DataSource
from gateway.ingest.entities import ENTITY_KINDS, EntityKind
from gateway.ingest.writer import Action
from gateway.loading.jdbc_settings import JdbcError, jdbc_engine
from gateway.loading.loader import (
    DEFAULT_BATCH_SIZE,
    BatchWriter,
    EntitySink,
    FileReport,
    RowError,
)

UPDATED = "updated"
MAX_QUERY = 65_536


def _describe(exc: Exception, secret: str | None) -> str:
    """A database error in one line, without SQLAlchemy's background link (or the password, ever)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines() or [""]
    message = f"{type(cause).__name__}: {lines[0]}"
    return message.replace(secret, "***") if secret else message


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8")  # UnicodeDecodeError: reported for the row
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def entity_query(
    query: str, dialect: str, since: dt.datetime | None, *, rows: bool = True
) -> tuple[str, dict[str, Any]]:
    """The entity query as a subquery, filtered on ``updated`` with a bound parameter when ``since``
    (``rows=False``: the same with no row, for its columns).

    There is always a bound parameter: the driver then sends one statement with the extended protocol, so
    a query that closes the subquery and appends statements of its own is refused by the server.
    """
    sql = f"SELECT * FROM ({query.strip().rstrip(';')}) AS jdbc_rows"  # noqa: S608 (the definition's query)
    condition, params = ("WHERE :one = 1", {"one": 1 if rows else 0})
    if since is None:
        return f"{sql} {condition}", params
    since = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
    if dialect == "sqlite":  # ISO-8601 text in SQLite: compared as instants
        after = f"julianday(jdbc_rows.{UPDATED}) > julianday(:since)"
        return f"{sql} {condition} AND {after}", {**params, "since": since.isoformat()}
    return f"{sql} {condition} AND jdbc_rows.{UPDATED} > :since", {**params, "since": since}


def _queries(datasource: DataSource) -> list[tuple[EntityKind, str | None]]:
    found: list[tuple[EntityKind, str | None]] = []
    for kind in ENTITY_KINDS.values():
        if (entity := datasource.entity_type(kind.name)) is not None:
            query = entity.definition.get("query")
            ok = isinstance(query, str) and query.strip() and len(query) <= MAX_QUERY
            found.append((kind, query if ok else None))
    return found


def _columns(conn: Connection, query: str, kind: EntityKind, since: dt.datetime | None) -> list[str] | str:
    """The query's column names, or why they cannot be used (read nothing: the query with no row)."""
    sql, params = entity_query(query, conn.dialect.name, None, rows=False)
    columns = list(conn.execute(text(sql), params).keys())
    missing = [f for f in kind.id_fields if f not in columns]
    if missing or len(set(columns)) != len(columns) or "" in columns:
        problem = f"missing columns: {', '.join(missing)}" if missing else "blank or repeated column names"
        return f"bad columns ({problem})"
    if since is not None and UPDATED not in columns:
        raise JdbcError(f"--since needs an {UPDATED!r} column, and the {kind.name} query has none")
    return columns


async def _stream(
    writer: BatchWriter,
    conn: Connection,
    query: str,
    columns: Sequence[str],
    since: dt.datetime | None,
    batch_size: int,
    bar: tqdm[Any],
) -> None:
    sql, params = entity_query(query, conn.dialect.name, since)
    streaming = conn.execution_options(stream_results=True, yield_per=batch_size)
    result = await asyncio.to_thread(streaming.execute, text(sql), params)
    number = 0
    try:
        while rows := await asyncio.to_thread(result.fetchmany, batch_size):
            items: list[dict[str, str]] = []
            lines: list[int] = []
            for row in rows:
                number += 1
                try:
                    items.append(
                        {
                            name: value if type(value) is str else _text(value)
                            for name, value in zip(columns, row, strict=True)
                        }
                    )
                except UnicodeDecodeError:
                    writer.report.add_error(RowError(writer.report.file, number, "not valid UTF-8"))
                    continue
                lines.append(number)
            bar.update(len(rows))
            if items:
                await writer.submit(items, lines)
        await writer.finish()
    finally:
        await asyncio.to_thread(result.close)


async def load_jdbc_datasource(
    sink: EntitySink,
    datasource: DataSource,
    data_root: Path,
    action: Action,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool | None = None,
    since: dt.datetime | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[FileReport]:
    """Read every entity query of a jdbc data source through ``sink``, in dependency order.

    A definition that cannot be used, a database that cannot be reached, and ``since`` with a query that
    has no ``updated`` column raise JdbcError before any row is written; a failing query is that entity's
    error (the others still load).
    """
    engine, secret = jdbc_engine(datasource.connection_settings.get("jdbc"), data_root, environ)
    reports: list[FileReport] = []
    try:
        try:
            conn = await asyncio.to_thread(engine.connect)
        except SQLAlchemyError as exc:
            raise JdbcError(f"cannot connect to the database: {_describe(exc, secret)}") from None
        with conn:
            plans: list[tuple[FileReport, str, list[str]]] = []
            for kind, query in _queries(datasource):
                report = FileReport(f"jdbc:{kind.name}", kind.name)
                reports.append(report)
                if query is None:
                    report.add_error(
                        RowError(report.file, 0, "no query: give a non-empty SQL query", fatal=True)
                    )
                    continue
                try:
                    columns = await asyncio.to_thread(_columns, conn, query, kind, since)
                except SQLAlchemyError as exc:
                    report.add_error(
                        RowError(report.file, 0, f"query failed: {_describe(exc, secret)}", fatal=True)
                    )
                    await asyncio.to_thread(conn.rollback)
                    continue
                if isinstance(columns, str):
                    report.add_error(RowError(report.file, 0, columns, fatal=True))
                    continue
                plans.append((report, query, columns))
            for report, query, columns in plans:
                kind = ENTITY_KINDS[report.entity]
                writer = BatchWriter(sink, kind, action, report)
                disable = None if progress is None else not progress
                bar = tqdm(desc=kind.name, unit="rows", disable=disable, leave=False)
                try:
                    await _stream(writer, conn, query, columns, since, batch_size, bar)
                except SQLAlchemyError as exc:
                    report.add_error(
                        RowError(report.file, 0, f"query failed: {_describe(exc, secret)}", fatal=True)
                    )
                    await writer.finish()
                    await asyncio.to_thread(conn.rollback)
                finally:
                    writer.cancel()
                    bar.close()
    finally:
        engine.dispose()
    return reports
