"""One entry point for every kind of data source a job can read: CSV files, or a database (jdbc)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from gateway.ingest.datasources import DataSource
from gateway.ingest.writer import Action
from gateway.loading.loader import (
    DEFAULT_BATCH_SIZE,
    EntitySink,
    FileReport,
    SourceError,
    load_datasource_files,
)


async def load_datasource(
    sink: EntitySink,
    datasource: DataSource,
    data_root: Path,
    *,
    action: Action,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool | None = None,
    since: dt.datetime | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[FileReport]:
    """Read a data source's entities through ``sink`` as ``action``: its files (csv) or its queries (jdbc).

    ``since`` keeps only rows whose ``updated`` column is later (jdbc only). SourceError when the data
    source cannot be read at all; nothing was written then.
    """
    kinds = datasource.connection_types
    if "jdbc" in kinds:
        from gateway.loading.jdbc import load_jdbc_datasource  # SQLAlchemy: ~15 MiB a CSV job never needs

        return await load_jdbc_datasource(
            sink,
            datasource,
            data_root,
            action,
            batch_size=batch_size,
            progress=progress,
            since=since,
            environ=environ,
        )
    if "csv" not in kinds:
        raise SourceError("not a CSV or JDBC data source")
    if since is not None:
        raise SourceError("--since needs a JDBC data source (an updated column to compare)")
    return await load_datasource_files(
        sink, datasource, data_root, action=action, batch_size=batch_size, progress=progress
    )
