"""Seed data: data sources, mappings and the showcase entities, plus the demo administrator.

- ``seed/datasources.csv``: one row per data source, each becoming a data-source document shaped exactly
  like the original product's (SPEC §5), ``_id`` = ``sha512("<branch>_<primaryKey>")``.
- ``seed/mappings.json``: attribute mappings between data-source entities and base entities.
- Entity CSV files of every active CSV data source (``entityTypes`` URIs under the data root), written
  through the ingest path stamped with that data source and a run ``seed-<uuid>``: a full sync's own.
- The showcase SQLite database (``gateway.loading.showcase_db``) that the JDBC showcase data source reads.

Idempotent and streamed; bad rows are reported by file and line. Only ``gateway up`` creates the demo admin.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from elasticsearch import AsyncElasticsearch

from gateway.auth.passwords import PasswordHasher
from gateway.auth.users import UserStore, admin_groups, ensure_user
from gateway.bundled import bundled_dir
from gateway.es.bulk import BulkOp, bulk_write, ingest_policy
from gateway.ingest.datasources import CONNECTION_TYPES, SYNC_TYPES, DataSource, EntityType
from gateway.ingest.entities import BRANCH, ENTITY_KINDS, document_id
from gateway.ingest.writer import Ingestor, RunStamp
from gateway.loading.loader import FileReport, IngestorSink, RowError, load_datasource_files
from gateway.loading.showcase_db import build_showcase_database
from gateway.settings import Settings

log = logging.getLogger(__name__)

DEMO_ADMIN = "bob.rodgers@forgerock.com"
DEMO_PASSWORD = "Welcome123"  # noqa: S105 (the original documentation's demo password, demo only)
SEED_DIR = bundled_dir("seed")
DATASOURCES_FILE = SEED_DIR / "datasources.csv"
MAPPINGS_FILE = SEED_DIR / "mappings.json"
SEED_BATCH_SIZE = 1000
ENTITIES = ("applications", "assignments", "entitlements", "identities")
DATASOURCE_COLUMNS = (
    "datasource_id",
    "name",
    "sync_type",
    "icon",
    "is_active",
    "connection_type",
    *ENTITIES,
    "created",
)
CONNECTION_SETTINGS = "connection_settings"  # optional column: the connectionSettings object, as JSON


class SeedRowError(ValueError):
    """One CSV row that cannot become a document."""


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise SeedRowError(f"is_active must be true or false, not {value!r}")
    return lowered == "true"


def _connection_settings(value: str) -> dict[str, Any]:
    try:
        settings = json.loads(value) if value.strip() else {}
    except ValueError:
        settings = None
    if not isinstance(settings, dict):
        raise SeedRowError(f"{CONNECTION_SETTINGS} must be a JSON object")
    return settings


def _metadata(definition: str, primary_key: str, created: str, tenant_name: str) -> dict[str, Any]:
    """The ``metadata`` block of a ``/common`` document, as the original's scripts wrote it."""
    return {
        "contextId": "scripts",
        "entityType": f"/common/{definition}",
        "primaryKey": primary_key,
        "entityPath": f"/common/{definition}/{primary_key}",
        "entityDefinition": definition,
        "namespace": "/common",
        "branch": BRANCH,
        "created": created,
        "tenantId": tenant_name,
    }


def datasource_from_row(row: dict[str, str]) -> DataSource:
    """One CSV row → its data source (a jdbc row's entity columns hold SQL queries, ``{"query": ...}``;
    every other row's hold URIs); SeedRowError when the row is not one."""
    ds_id = row["datasource_id"].strip()
    if not ds_id or not row["name"].strip():
        raise SeedRowError("datasource_id and name are required")
    if row["sync_type"] not in SYNC_TYPES:
        raise SeedRowError(f"sync_type must be one of {sorted(SYNC_TYPES)}, not {row['sync_type']!r}")
    if row["connection_type"] not in CONNECTION_TYPES:
        raise SeedRowError(f"connection_type must be one of {sorted(CONNECTION_TYPES)}")
    try:
        dt.datetime.fromisoformat(row["created"].replace("Z", "+00:00"))
    except ValueError as exc:
        raise SeedRowError(f"created is not an ISO-8601 time: {row['created']!r}") from exc
    prefix = f"/autoid/system/datasources/{ds_id}"
    kind, settings = row["connection_type"], _connection_settings(row.get(CONNECTION_SETTINGS) or "")
    return DataSource(
        ds_id,
        name=row["name"].strip(),
        sync_type=row["sync_type"],
        icon=row["icon"].strip(),
        active=_boolean(row["is_active"]),
        entity_types=tuple(
            EntityType(f"{prefix}/{entity}", {"query": v} if kind == "jdbc" else {"uri": {"file": v}})
            for entity in ENTITIES
            if (v := row[entity].strip())
        ),
        connection_settings={kind: settings},
    )


def datasource_document(row: dict[str, str], tenant_name: str) -> dict[str, Any]:
    """One CSV row → the data-source document, in the original's key order."""
    source = datasource_from_row(row)
    metadata = _metadata("datasources", source.id, row["created"], tenant_name)
    return {**source.to_document(), "metadata": metadata}


def read_datasources(path: Path, tenant_name: str) -> Iterator[tuple[str, dict[str, Any]] | RowError]:
    """Stream ``(document id, document)`` per good row and a RowError per bad one."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in DATASOURCE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            yield RowError(str(path), 1, f"missing columns: {', '.join(missing)}")
            return
        for row in reader:
            line = reader.line_num
            try:
                if None in row or any(value is None for value in row.values()):
                    raise SeedRowError("wrong number of fields")
                document = datasource_document(row, tenant_name)
            except SeedRowError as exc:
                yield RowError(str(path), line, str(exc))
                continue
            yield document_id(document["datasource_id"]), document


def read_mappings(path: Path, tenant_name: str) -> Iterator[tuple[str, dict[str, Any]] | RowError]:
    """``seed/mappings.json``: an array of ``{mapping_id, source_entity, target_entity, properties,
    created}``; errors name the entry (1-based) in place of a line."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        yield RowError(str(path), 0, f"not valid JSON: {exc}")
        return
    if not isinstance(entries, list):
        yield RowError(str(path), 0, "expected a JSON array of mappings")
        return
    for number, entry in enumerate(entries, start=1):
        try:
            document = mapping_document(entry, tenant_name)
        except SeedRowError as exc:
            yield RowError(str(path), number, str(exc))
            continue
        yield document_id(document["mapping_id"]), document


def mapping_document(entry: Any, tenant_name: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise SeedRowError("a mapping must be a JSON object")
    for key in ("mapping_id", "source_entity", "target_entity", "created"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise SeedRowError(f"{key} is required")
    properties = entry.get("properties")
    if not isinstance(properties, list) or not all(
        isinstance(p, dict)
        and isinstance(p.get("source"), str)
        and isinstance(p.get("target"), str)
        and isinstance(p.get("apply"), bool)
        for p in properties
    ):
        raise SeedRowError("properties must be an array of {source, target, apply (true or false)}")
    mapping_id = entry["mapping_id"]
    return {
        "mapping_id": mapping_id,
        "source_entity": entry["source_entity"],
        "target_entity": entry["target_entity"],
        "properties": [{key: p[key] for key in ("source", "target", "apply")} for p in properties],
        "metadata": _metadata("mappings", mapping_id, entry["created"], tenant_name),
    }


async def _index_documents(
    es: AsyncElasticsearch,
    path: Path,
    entity: str,
    index: str,
    documents: Iterator[tuple[str, dict[str, Any]] | RowError],
) -> FileReport:
    """Index every good document (idempotent: ids are deterministic); report bad ones and failed items.

    Written through ``gateway.es.bulk`` like the entity files, so both share its retries and its
    filtered responses; batches keep memory flat in the file size.
    """
    report = FileReport(str(path), entity)
    batch: list[tuple[str, BulkOp]] = []

    async def flush() -> None:
        outcomes = await bulk_write(es, [op for _, op in batch])
        for (doc_id, _), outcome in zip(batch, outcomes, strict=True):
            if outcome.ok:
                report.loaded += 1
            else:
                reason = (
                    f"{outcome.error_type}: {outcome.reason}"
                    if outcome.error_type
                    else f"status {outcome.status}"
                )
                report.add_error(RowError(str(path), 0, f"document {doc_id}: {reason}"))
        batch.clear()

    for item in documents:
        if isinstance(item, RowError):
            report.add_error(item)
            continue
        doc_id, document = item
        header = orjson.dumps({"index": {"_index": index, "_id": doc_id}})
        batch.append((doc_id, BulkOp(header, orjson.dumps(document))))
        if len(batch) >= SEED_BATCH_SIZE:
            await flush()
    if batch:
        await flush()
    await es.indices.refresh(index=index)
    return report


async def load_datasources(es: AsyncElasticsearch, path: Path, index: str, tenant_name: str) -> FileReport:
    return await _index_documents(es, path, "datasources", index, read_datasources(path, tenant_name))


async def load_mappings(es: AsyncElasticsearch, path: Path, index: str, tenant_name: str) -> FileReport:
    return await _index_documents(es, path, "mappings", index, read_mappings(path, tenant_name))


async def load_seed(
    es: AsyncElasticsearch,
    settings: Settings,
    *,
    datasources: Path = DATASOURCES_FILE,
    mappings: Path = MAPPINGS_FILE,
    progress: bool | None = None,
) -> list[FileReport]:
    """Data sources, mappings, the entity files of every active CSV data source (idempotent), and the
    showcase SQLite database that the JDBC data source reads (rebuilt; not loaded here)."""
    reports = [
        await load_datasources(es, datasources, settings.datasource_index, settings.tenant_name),
        await load_mappings(es, mappings, settings.mappings_index, settings.tenant_name),
    ]
    ingestor = Ingestor(es, settings.tenant_name, policy=ingest_policy(settings), context_id="seed")
    for item in read_datasources(datasources, settings.tenant_name):
        source = None if isinstance(item, RowError) else DataSource.from_document(item[1])  # bad: reported
        if source is not None and source.active and "csv" in source.connection_types:
            sink = IngestorSink(ingestor, RunStamp(source.id, f"seed-{uuid.uuid4()}"))
            reports += await load_datasource_files(
                sink, source, settings.data_root, action=source.action, progress=progress
            )
    for kind in ENTITY_KINDS.values():
        await es.indices.refresh(index=kind.index(settings.tenant_name), ignore_unavailable=True)
    built = build_showcase_database(settings.data_root)
    return reports + ([built] if built else [])


async def ensure_demo_admin(es: AsyncElasticsearch, admin_group: str) -> bool:
    """Create the documentation's demo admin if missing; True when created."""
    created = await ensure_user(
        UserStore(es),
        PasswordHasher(),
        DEMO_ADMIN,
        DEMO_PASSWORD,
        display_name="Bob Rodgers",
        uid="bob.rodgers",
        gid_number="999",
        groups=admin_groups(admin_group),
    )
    log.warning(
        "\n%s\nDEMO ADMIN %s is active with the documented demo password (see the README).\n"
        "It exists for the walk-through only: never load the demo seed into a cluster with real data.\n%s",
        "!" * 78,
        DEMO_ADMIN,
        "!" * 78,
    )
    return created
