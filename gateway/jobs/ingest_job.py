"""An ingestion job, as the original product's jobs run: with a tenant id and an API key only.

It finds the data source through the passthrough search, reads the CSV files its ``entityTypes`` point
to (resolved under a local data root), pushes them through the HTTP ingest endpoints in batches, and
reports counts and failed rows by file and line. Nothing here touches Elasticsearch directly.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from gateway.ingest.entities import EntityKind
from gateway.ingest.writer import Action, ItemFailure
from gateway.loading.loader import DEFAULT_BATCH_SIZE, FileReport, load_datasource_files

RETRIES = 3
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class JobError(Exception):
    """The job cannot go on (bad key, unknown data source, gateway unreachable)."""


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return f"{response.status_code} {error.get('code')}: {error.get('message')}"
    except (ValueError, AttributeError):
        return f"{response.status_code}"


class HttpSink:
    """Sends batches to ``POST /api/ingest/<entity>``; retries when the gateway asks to back off."""

    def __init__(self, client: httpx.AsyncClient, backoff: float = 1.0) -> None:
        self.client = client
        self.backoff = backoff

    async def write(self, kind: EntityKind, action: Action, items: list[dict[str, str]]) -> list[ItemFailure]:
        body = orjson.dumps({"action": action.value, kind.list_key: items})
        for attempt in range(RETRIES + 1):
            response = await self.client.post(
                f"/api/ingest/{kind.name}", content=body, headers={"content-type": "application/json"}
            )
            if response.status_code == 200:
                return []
            if response.status_code == 207:
                return [
                    ItemFailure(e["item"], e.get("id"), e["status"], e["code"], e["reason"])
                    for e in response.json()["errors"]
                ]
            if response.status_code not in RETRY_STATUSES or attempt == RETRIES:
                raise JobError(f"POST /api/ingest/{kind.name}: {_message(response)}")
            await asyncio.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")


async def find_datasource(client: httpx.AsyncClient, datasource_id: str) -> dict[str, Any]:
    """The data source's document, through the passthrough search (as the original's jobs do)."""
    query = {"query": {"query": {"term": {"datasource_id.keyword": datasource_id}}, "size": 1}}
    response = await client.post("/jas/datasource/search", json=query)
    if response.status_code != 200:
        raise JobError(f"data-source search failed: {_message(response)}")
    hits = response.json()["hits"]["hits"]
    if not hits:
        raise JobError(f"no data source with id {datasource_id}")
    source: dict[str, Any] = hits[0]["_source"]
    return source


@dataclass
class JobReport:
    datasource: dict[str, Any]
    files: list[FileReport] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(f.failed for f in self.files)


async def run_job(
    base_url: str,
    tenant_id: str,
    api_key: str,
    datasource_id: str,
    data_root: Path,
    *,
    verify: bool | str = True,
    action: Action | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool | None = None,
    backoff: float = 1.0,
) -> JobReport:
    headers = {"x-tenant-id": tenant_id, "X-API-KEY": api_key}
    try:
        async with httpx.AsyncClient(
            base_url=base_url, headers=headers, verify=verify, timeout=httpx.Timeout(120, connect=10)
        ) as client:
            datasource = await find_datasource(client, datasource_id)
            if "csv" not in (datasource.get("connectionSettings") or {}):
                raise JobError(f"data source {datasource.get('name')} is not a CSV data source")
            if not datasource.get("isActive", False):
                raise JobError(f"data source {datasource.get('name')} is not active")
            files = await load_datasource_files(
                HttpSink(client, backoff),
                datasource,
                data_root,
                action=action,
                batch_size=batch_size,
                progress=progress,
            )
            return JobReport(datasource, files)
    except httpx.HTTPError as exc:
        raise JobError(f"cannot reach the gateway at {base_url}: {type(exc).__name__}: {exc}") from exc
