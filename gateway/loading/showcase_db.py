"""The demo's SQLite database: the showcase CSV files as tables, read by the seed's JDBC data source.

``gateway seed load`` builds it into ``<data root>/data/showcase.sqlite`` (never committed) from the CSV
files in ``<data root>/data/input/``, afresh on every load: written to a temporary file, then renamed into
place. Each table is named after its file and has the file's columns (``TEXT``) plus ``updated``, an
ISO-8601 UTC time: row *n* (from 0) of each file was "updated" on 2022-01-01 plus *n* days, so that
``gateway ingest-job --since`` has something to select.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from gateway.loading.loader import FileReport, RowError

SHOWCASE_INPUT = Path("data", "input")
SHOWCASE_DATABASE = Path("data", "showcase.sqlite")
TABLES = ("applications", "entitlements", "identities", "assignments")
UPDATED_FROM = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)


def _name(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _copy(db: sqlite3.Connection, table: str, path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [h.strip().lstrip("\ufeff") for h in next(reader, [])]
        columns = [c for c in header if c != "updated"] + ["updated"]
        db.execute(f"CREATE TABLE {_name(table)} ({', '.join(_name(c) + ' TEXT' for c in columns)})")

        def rows() -> Iterator[list[str]]:
            for number, row in enumerate(r for r in reader if len(r) == len(header)):
                values = dict(zip(header, row, strict=True))
                moment = UPDATED_FROM + dt.timedelta(days=number)
                values["updated"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
                yield [values[c] for c in columns]

        marks = ", ".join("?" for _ in columns)
        return db.executemany(f"INSERT INTO {_name(table)} VALUES ({marks})", rows()).rowcount  # noqa: S608


def build_showcase_database(data_root: Path) -> FileReport | None:
    """Build the database when the data root holds the showcase files; its report (rows copied)."""
    source = data_root / SHOWCASE_INPUT
    files = [(table, source / f"{table}.csv") for table in TABLES if (source / f"{table}.csv").is_file()]
    if not files:
        return None
    target = data_root / SHOWCASE_DATABASE
    report = FileReport(str(target), "showcase database")
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".showcase-", suffix=".sqlite")
        os.close(handle)
        try:
            with closing(sqlite3.connect(temporary)) as db:
                for table, path in files:
                    report.loaded += _copy(db, table, path)
                db.commit()
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        finally:
            Path(temporary).unlink(missing_ok=True)
    except (OSError, sqlite3.Error, ValueError) as exc:
        report.add_error(RowError(str(target), 0, f"cannot build the showcase database: {exc}"))
    return report
