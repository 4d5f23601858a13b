"""Bulk writes with an outcome per operation, retrying only what Elasticsearch pushed back (429).

Operations arrive pre-serialised (``header`` and optional ``body`` as NDJSON lines) so a large batch is
encoded once. Requests are cut at ``max_bytes``/``max_ops``; items answered 429, or requests refused as
a whole with 429, are retried with exponential back-off; every other outcome is returned as is, in the
order the operations were given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch

from gateway.errors import ElasticsearchUnavailable

FILTER_PATH = ["errors", "items.*.status", "items.*.error.type", "items.*.error.reason"]


@dataclass(frozen=True)
class BulkOp:
    header: bytes
    body: bytes | None = None

    @property
    def size(self) -> int:
        return len(self.header) + (len(self.body) if self.body is not None else 0) + 2


@dataclass(frozen=True)
class BulkOutcome:
    status: int
    error_type: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status < 300


@dataclass(frozen=True)
class BulkPolicy:
    max_ops: int = 5000
    max_bytes: int = 5 * 1024 * 1024
    max_retries: int = 3
    initial_backoff: float = 0.5
    refresh: bool = False


def _chunks(ops: Sequence[BulkOp], indices: Sequence[int], policy: BulkPolicy) -> list[list[int]]:
    chunks: list[list[int]] = []
    current: list[int] = []
    size = 0
    for i in indices:
        op_size = ops[i].size
        if current and (len(current) >= policy.max_ops or size + op_size > policy.max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append(i)
        size += op_size
    if current:
        chunks.append(current)
    return chunks


def _outcome(item: dict[str, Any]) -> BulkOutcome:
    result = next(iter(item.values()))
    error = result.get("error")
    if isinstance(error, dict):
        return BulkOutcome(int(result["status"]), error.get("type"), error.get("reason"))
    return BulkOutcome(int(result["status"]))


async def _send(
    es: AsyncElasticsearch, ops: Sequence[BulkOp], chunk: list[int], refresh: bool
) -> list[BulkOutcome]:
    lines: list[bytes] = []
    for i in chunk:
        lines.append(ops[i].header)
        body = ops[i].body
        if body is not None:
            lines.append(body)
    try:
        response = await es.bulk(
            operations=lines,  # type: ignore[arg-type]  # pre-encoded NDJSON lines are sent as they are
            filter_path=FILTER_PATH,
            refresh="wait_for" if refresh else False,
        )
    except ApiError as exc:
        if exc.meta.status == 429:
            return [BulkOutcome(429, "es_rejected_execution_exception", "bulk request rejected")] * len(chunk)
        raise
    items = response.get("items", [])
    if len(items) != len(chunk):  # never expected; refuse to guess which item is which
        raise ElasticsearchUnavailable(f"bulk answered {len(items)} items for {len(chunk)} operations")
    return [_outcome(item) for item in items]


async def bulk_write(
    es: AsyncElasticsearch, ops: Sequence[BulkOp], policy: BulkPolicy = BulkPolicy()
) -> list[BulkOutcome]:
    """One outcome per operation, in order. Raises only when Elasticsearch cannot be reached."""
    outcomes: list[BulkOutcome | None] = [None] * len(ops)
    pending = list(range(len(ops)))
    for attempt in range(policy.max_retries + 1):
        retry: list[int] = []
        for chunk in _chunks(ops, pending, policy):
            for i, outcome in zip(chunk, await _send(es, ops, chunk, policy.refresh), strict=True):
                outcomes[i] = outcome
                if outcome.status == 429:
                    retry.append(i)
        if not retry or attempt == policy.max_retries:
            break
        await asyncio.sleep(policy.initial_backoff * 2**attempt)
        pending = retry
    return [o if o is not None else BulkOutcome(500) for o in outcomes]
