"""``--dry-run``: what a full sync would delete, with nothing written anywhere.

The job reads the data source's files as a real run does (same rows, same bad-row reports), but its sink
only keeps each valid row's primary key, in a SQLite file on disk, so memory stays flat for millions of
rows. Then, per entity type, it sends the sorted keys range by range to
``POST /api/ingest/sync/{id}/check``: each answer is the data source's entities in that range that are not
among the keys, so the ranges together name exactly what a full sync would delete (a count, and the
first keys). Assignments a deleted identity or entitlement would take with it are not counted.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

from gateway.ingest.entities import EntityKind, InvalidItem, item_ids, primary_key
from gateway.ingest.writer import Action, ItemFailure
from gateway.jobs.sync_run import SyncRunError

CHUNK = 5000
MAX_SHOWN = 100


@dataclass
class WouldDelete:
    count: int = 0
    keys: list[str] = field(default_factory=list)


class KeySink:
    """An ``EntitySink`` that writes nothing: it records the primary keys a run would write."""

    def __init__(self, directory: Path) -> None:
        self.db = sqlite3.connect(directory / "keys.sqlite")
        self.db.execute("CREATE TABLE keys (kind TEXT, key TEXT, PRIMARY KEY (kind, key)) WITHOUT ROWID")

    async def write(self, kind: EntityKind, action: Action, items: list[dict[str, str]]) -> list[ItemFailure]:
        failures: list[ItemFailure] = []
        keys: list[tuple[str, str]] = []
        for position, item in enumerate(items):
            try:
                keys.append((kind.name, primary_key(kind, item_ids(kind, item))))
            except InvalidItem as exc:
                failures.append(ItemFailure(position, None, 400, "invalid_item", str(exc)))
        self.db.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?)", keys)
        return failures

    def sorted_chunks(self, kind: EntityKind, size: int = CHUNK) -> Iterator[list[str]]:
        """The kind's keys in byte order (SQLite's BINARY collation, as Elasticsearch's keyword order)."""
        cursor = self.db.execute("SELECT key FROM keys WHERE kind = ? ORDER BY key", (kind.name,))
        while rows := cursor.fetchmany(size):
            yield [row[0] for row in rows]

    def close(self) -> None:
        self.db.close()


async def would_delete(
    client: httpx.AsyncClient, datasource_id: str, sink: KeySink, kind: EntityKind, chunk: int = CHUNK
) -> WouldDelete:
    result = WouldDelete()

    async def check(after: str | None, through: str | None, keys: list[str]) -> None:
        body = {"entity": kind.name, "after": after, "through": through, "keys": keys}
        response = await client.post(f"/api/ingest/sync/{quote(datasource_id, safe='')}/check", json=body)
        if response.status_code != 200:
            raise SyncRunError(f"check {kind.name}: {response.status_code} {response.text[:200]}")
        answer = response.json()
        result.count += int(answer["count"])
        result.keys.extend(answer["keys"][: MAX_SHOWN - len(result.keys)])

    after: str | None = None
    for keys in sink.sorted_chunks(kind, chunk):
        await check(after, keys[-1], keys)
        after = keys[-1]
    await check(after, None, [])
    return result


def temporary_directory() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="gateway-dry-run-")
