"""The generated identities in a throw-away PostgreSQL server, for the ``ingest-job-jdbc`` mode."""

from __future__ import annotations

import csv
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from psycopg import sql

from bench._es import free_port
from gateway.embedded.postgres import PostgresServer, pg_bin, postgres_server

PG_PASSWORD_ENV = "JDBC_PASSWORD_BENCH"  # noqa: S105 (the name of a variable, not a password)


@contextmanager
def postgres_for(modes: list[str]) -> Iterator[PostgresServer | None]:
    """A throw-away PostgreSQL server if one of ``modes`` reads from one, else None."""
    if "ingest-job-jdbc" not in modes:
        yield None
        return
    bin_dir = pg_bin()
    if bin_dir is None:
        raise SystemExit(
            "ingest-job-jdbc needs PostgreSQL: install Debian's postgresql package (make db-prereqs)"
        )
    with postgres_server(bin_dir, free_port()) as server:
        yield server


class PostgresTables:
    """The generated identities as PostgreSQL tables (one per file), read by a role that may only read."""

    def __init__(self, server: PostgresServer, files: dict[str, Path]) -> None:
        self.server = server
        self.password = secrets.token_urlsafe(24)
        self.columns: list[str] = []
        with server.connect() as db:
            db.execute(sql.SQL("CREATE ROLE bench LOGIN PASSWORD {}").format(sql.Literal(self.password)))
            for label, path in files.items():
                with path.open(encoding="utf-8") as handle:
                    self.columns = next(csv.reader(handle))
                table = sql.Identifier(f"identities_{label}")
                columns = sql.SQL(", ").join(
                    sql.SQL("{} text").format(sql.Identifier(c)) for c in self.columns
                )
                db.execute(
                    sql.SQL("CREATE TABLE {} ({}, updated timestamptz DEFAULT now())").format(table, columns)
                )
                names = sql.SQL(", ").join(sql.Identifier(c) for c in self.columns)
                copy = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER true)").format(table, names)
                with db.cursor().copy(copy) as load, path.open("rb") as source:
                    while chunk := source.read(1 << 20):
                        load.write(chunk)
                db.execute(sql.SQL("GRANT SELECT ON {} TO bench").format(table))

    def index_datasource(self, es_url: str, label: str) -> str:
        from elasticsearch import Elasticsearch

        from gateway.ingest.entities import document_id

        ds_id = f"bench-jdbc-{label}"
        query = f"SELECT {', '.join(self.columns)}, updated FROM identities_{label}"  # noqa: S608
        document = {
            "datasource_id": ds_id, "name": f"Bench-JDBC-{label}", "sync_type": "full", "isActive": True,
            "entityTypes": {f"/autoid/system/datasources/{ds_id}/identities": {"query": query}},
            "connectionSettings": {"jdbc": {"url": self.server.url("bench"), "passwordEnv": PG_PASSWORD_ENV}},
        }  # fmt: skip
        es = Elasticsearch(es_url)
        es.index(
            index="autonomous-iam_common_datasources_latest",
            id=document_id(ds_id),
            document=document,
            refresh=True,
        )
        es.close()
        return ds_id
