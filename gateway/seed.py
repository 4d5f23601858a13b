"""Seed data: data-source definitions from CSV, and the demo administrator for the local stack.

``seed/datasources.csv`` holds one row per data source; each row becomes a document of the data-source
index shaped exactly like the original product's (see SPEC §5), with ``_id`` =
``sha512("<branch>_<primaryKey>")``. Files are streamed row by row; bad rows are reported with file and
line and do not stop the good ones. Only ``gateway up`` creates the demo admin.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_streaming_bulk

from gateway.auth.passwords import PasswordHasher
from gateway.auth.users import UserExists, UserStore, create_user

log = logging.getLogger(__name__)

DEMO_ADMIN = "bob.rodgers@forgerock.com"
DEMO_PASSWORD = "Welcome123"  # noqa: S105 (the original documentation's demo password, demo only)
SEED_DIR = Path(__file__).resolve().parent.parent / "seed"
BRANCH = "actual"
ENTITIES = ("applications", "assignments", "entitlements", "identities")
SYNC_TYPES = frozenset({"full", "incremental", "enrichment", "delete"})
CONNECTION_TYPES = frozenset({"csv", "jdbc", "generic"})
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


def document_id(primary_key: str, branch: str = BRANCH) -> str:
    """The original product's document id: lowercase hex SHA-512 of ``<branch>_<primaryKey>``."""
    return hashlib.sha512(f"{branch}_{primary_key}".encode()).hexdigest()


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class SeedRowError(ValueError):
    """One CSV row that cannot become a document."""


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise SeedRowError(f"is_active must be true or false, not {value!r}")
    return lowered == "true"


def datasource_document(row: dict[str, str], tenant_name: str) -> dict[str, Any]:
    """One CSV row → the data-source document, in the original's key order."""
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
    return {
        "datasource_id": ds_id,
        "name": row["name"].strip(),
        "sync_type": row["sync_type"],
        "icon": row["icon"].strip(),
        "isActive": _boolean(row["is_active"]),
        "entityTypes": {
            f"{prefix}/{entity}": {"uri": {"file": row[entity].strip()}}
            for entity in ENTITIES
            if row[entity].strip()
        },
        "connectionSettings": {row["connection_type"]: {}},
        "metadata": {
            "contextId": "scripts",
            "entityType": "/common/datasources",
            "primaryKey": ds_id,
            "entityPath": f"/common/datasources/{ds_id}",
            "entityDefinition": "datasources",
            "namespace": "/common",
            "branch": BRANCH,
            "created": row["created"],
            "tenantId": tenant_name,
        },
    }


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


@dataclass
class LoadReport:
    loaded: int = 0
    errors: list[RowError] | None = None


async def load_datasources(es: AsyncElasticsearch, path: Path, index: str, tenant_name: str) -> LoadReport:
    """Index every good row (idempotent: ids are deterministic); report bad rows and failed items."""
    errors: list[RowError] = []

    async def actions() -> AsyncIterator[dict[str, Any]]:
        for item in read_datasources(path, tenant_name):
            if isinstance(item, RowError):
                errors.append(item)
                continue
            doc_id, document = item
            yield {"_op_type": "index", "_index": index, "_id": doc_id, "_source": document}

    report = LoadReport(errors=errors)
    async for ok, result in async_streaming_bulk(es, actions(), raise_on_error=False, max_retries=3):
        if ok:
            report.loaded += 1
        else:
            item = next(iter(result.values()))
            errors.append(RowError(str(path), 0, f"document {item.get('_id')}: {item.get('error')}"))
    await es.indices.refresh(index=index)
    return report


async def ensure_demo_admin(es: AsyncElasticsearch, admin_group: str) -> bool:
    """Create the documentation's demo admin if missing; True when created."""
    store = UserStore(es)
    created = False
    if await store.get(DEMO_ADMIN) is None:
        try:
            await create_user(
                store,
                PasswordHasher(),
                DEMO_ADMIN,
                DEMO_PASSWORD,
                display_name="Bob Rodgers",
                uid="bob.rodgers",
                gid_number="999",
                groups=("Zoran User", admin_group),
            )
            created = True
        except UserExists:
            created = False
    log.warning(
        "\n%s\nDEMO ADMIN %s is active with the documented demo password (see the README).\n"
        "It exists for the walk-through only: never load the demo seed into a cluster with real data.\n%s",
        "!" * 78,
        DEMO_ADMIN,
        "!" * 78,
    )
    return created
