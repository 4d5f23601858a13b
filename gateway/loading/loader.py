"""Entity CSV files → batches on the ingest path, streamed, with a progress bar and per-line errors.

Used by ``gateway seed load`` (writing through ``Ingestor`` directly) and by ``gateway ingest-job``
(writing through the HTTP ingest endpoints): both hand batches to an ``EntitySink``. Memory stays flat in
the file size: rows are read one at a time, one batch is in flight while the next is read, and only the
first ``MAX_KEPT_ERRORS`` bad rows are kept (all are counted).
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from tqdm import tqdm

from gateway.ingest.datasources import DataSource, EntityType
from gateway.ingest.entities import ENTITY_KINDS, EntityKind
from gateway.ingest.writer import Action, Ingestor, ItemFailure, RunStamp

DEFAULT_BATCH_SIZE = 2000
MAX_KEPT_ERRORS = 1000


class SourceError(ValueError):
    """A data source that cannot be read at all (bad definition, unreachable database): nothing was read."""


class UnsafeUri(ValueError):
    """A data-source URI that does not name a file inside the data root."""


def resolve_file_uri(uri: str, data_root: Path) -> Path:
    """``file:/data/input/x.csv`` → ``<data_root>/data/input/x.csv``; anything reaching outside is refused.

    The data root plays the part of the filesystem root the original's jobs saw, so definitions written
    for it work unchanged. ``..`` segments and symbolic links are resolved before the check.
    """
    parts = urlsplit(uri)
    if parts.scheme != "file":
        raise UnsafeUri(f"not a file: URI: {uri!r}")
    if parts.netloc not in ("", "localhost"):
        raise UnsafeUri(f"file: URIs on other hosts are not supported: {uri!r}")
    relative = unquote(parts.path).lstrip("/")
    if not relative or "\x00" in relative:
        raise UnsafeUri(f"no file path in {uri!r}")
    root = data_root.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise UnsafeUri(f"{uri!r} points outside the data root")
    return path


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    message: str
    fatal: bool = False  # the read stopped here: the rest of the file (or query) was not read

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class FileReport:
    """What happened to one file: rows written, rows refused (the first few kept with their lines)."""

    file: str
    entity: str
    loaded: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)
    incomplete: bool = False  # not read to its end (kept whatever the number of errors before)

    def add_error(self, error: RowError) -> None:
        self.failed += 1
        self.incomplete = self.incomplete or error.fatal
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(error)


class EntitySink(Protocol):
    async def write(self, kind: EntityKind, action: Action, items: list[dict[str, str]]) -> list[ItemFailure]:
        """Write one batch; return the items that failed (by position)."""
        ...


class IngestorSink:
    """Writes straight through the gateway's ingest code path (no HTTP), stamped with ``run`` if given."""

    def __init__(self, ingestor: Ingestor, run: RunStamp | None = None) -> None:
        self.ingestor = ingestor
        self.run = run

    async def write(self, kind: EntityKind, action: Action, items: list[dict[str, str]]) -> list[ItemFailure]:
        return (await self.ingestor.ingest(kind, action, items, self.run)).failures


def read_rows(
    path: Path, kind: EntityKind, progress: tqdm[Any] | None = None
) -> Iterator[tuple[int, dict[str, str]] | RowError]:
    """``(line, row)`` per data row and a RowError per unreadable one; the header names the fields."""
    name = str(path)
    undecodable: list[bool] = []  # set while the row being read holds bytes that are not UTF-8
    with path.open("rb") as raw:

        def lines() -> Iterator[str]:
            for chunk in raw:
                if progress is not None:
                    progress.update(len(chunk))
                try:
                    yield chunk.decode("utf-8")
                except UnicodeDecodeError:  # keep reading: the row holding these bytes is reported
                    undecodable.append(True)
                    yield chunk.decode("utf-8", "surrogateescape")

        # strict: a stray quote is an error, not a field swallowing the rest of the file
        reader = csv.reader(lines(), strict=True)
        try:
            header = [h.strip().lstrip("\ufeff") for h in next(reader)]
        except StopIteration:
            yield RowError(name, 1, "empty file: a header row is required", fatal=True)
            return
        missing = [f for f in kind.id_fields if f not in header]
        if missing or len(set(header)) != len(header) or "" in header:
            problem = (
                f"missing columns: {', '.join(missing)}" if missing else "blank or repeated column names"
            )
            yield RowError(name, 1, f"bad header ({problem})", fatal=True)
            return
        while True:
            line = reader.line_num + 1  # where the row starts (a quoted field may span lines)
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # where the rows are is no longer known: stop reading the file
                yield RowError(
                    name, line, f"malformed CSV, the rest of the file is not read: {exc}", fatal=True
                )
                return
            if not row:
                continue  # blank line
            if len(row) != len(header):
                yield RowError(name, line, f"expected {len(header)} fields, found {len(row)}")
                continue
            if undecodable:
                undecodable.clear()
                yield RowError(name, line, "not valid UTF-8")
                continue
            yield line, dict(zip(header, row, strict=True))


class BatchWriter:
    """Hands batches to a sink, one in flight while the next is read; failures land in the report by line."""

    def __init__(self, sink: EntitySink, kind: EntityKind, action: Action, report: FileReport) -> None:
        self.sink, self.kind, self.action, self.report = sink, kind, action, report
        self._in_flight: asyncio.Task[None] | None = None

    async def _write(self, items: list[dict[str, str]], lines: list[int]) -> None:
        failures = await self.sink.write(self.kind, self.action, items)
        for failure in failures:
            message = f"{failure.code}: {failure.reason}"
            self.report.add_error(RowError(self.report.file, lines[failure.item], message))
        self.report.loaded += len(items) - len(failures)

    async def submit(self, items: list[dict[str, str]], lines: list[int]) -> None:
        if self._in_flight is not None:
            await self._in_flight
        self._in_flight = asyncio.create_task(self._write(items, lines))
        await asyncio.sleep(0)  # let the request go out while the next batch is read

    async def finish(self) -> None:
        if self._in_flight is not None:
            await self._in_flight

    def cancel(self) -> None:
        if self._in_flight is not None and not self._in_flight.done():
            self._in_flight.cancel()


async def load_entity_file(
    sink: EntitySink,
    kind: EntityKind,
    path: Path,
    action: Action,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool | None = None,
) -> FileReport:
    """Stream one CSV file through ``sink``; ``progress=None`` shows a bar only on a terminal."""
    report = FileReport(str(path), kind.name)
    size = path.stat().st_size  # noqa: ASYNC240 (one stat call; the rows are read synchronously anyway)
    bar = tqdm(
        total=size,
        unit="B",
        unit_scale=True,
        desc=kind.name,
        disable=None if progress is None else not progress,
        leave=False,
    )
    writer = BatchWriter(sink, kind, action, report)
    try:
        items: list[dict[str, str]] = []
        lines: list[int] = []
        for entry in read_rows(path, kind, bar):
            if isinstance(entry, RowError):
                report.add_error(entry)
                continue
            lines.append(entry[0])
            items.append(entry[1])
            if len(items) >= batch_size:
                await writer.submit(items, lines)
                items, lines = [], []
        if items:
            await writer.submit(items, lines)
        await writer.finish()
    finally:
        writer.cancel()
        bar.close()
    return report


def _file_uri(entity: EntityType) -> str:
    # Definitions come from Elasticsearch documents anyone with write access may have shaped differently.
    uri = entity.definition.get("uri", {})
    if not isinstance(uri, Mapping):
        raise UnsafeUri(f'the uri of {entity.path} must be an object like {{"file": "file:/..."}}')
    return str(uri.get("file", ""))


async def load_datasource_files(
    sink: EntitySink,
    datasource: DataSource,
    data_root: Path,
    *,
    action: Action,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool | None = None,
) -> list[FileReport]:
    """Load the CSV files a data source's ``entityTypes`` point to as ``action``, in dependency order.

    A URI that cannot be used (outside the data root, not a file) is reported as that file's error; the
    other files still load.
    """
    reports: list[FileReport] = []
    for kind in ENTITY_KINDS.values():
        entity = datasource.entity_type(kind.name)
        if entity is None:
            continue
        uri = entity.path  # names the file in reports until its URI is known
        try:
            uri = _file_uri(entity)
            path = resolve_file_uri(uri, data_root)
            if not path.is_file():
                raise UnsafeUri(f"{uri!r} names no file under the data root")
        except UnsafeUri as exc:
            report = FileReport(uri, kind.name)
            report.add_error(RowError(uri, 0, str(exc), fatal=True))
            reports.append(report)
            continue
        reports.append(
            await load_entity_file(sink, kind, path, action, batch_size=batch_size, progress=progress)
        )
    return reports
