"""Bulk writes with an outcome per operation, retrying only what Elasticsearch pushed back (429).

Operations arrive pre-serialised (``header`` and optional ``body`` as NDJSON lines) so a large batch is
encoded once. Requests are cut at ``max_bytes``/``max_ops``; items answered 429, or requests refused as
a whole with 429, are retried with exponential back-off; every other outcome is returned as is, in the
order the operations were given.

An item is a success only when Elasticsearch answered it 2xx *and* its ``_shards`` show it written on
enough copies: at least one, and at least ``wait_for_active_shards`` of them (every copy for ``all``).
Every request carries ``wait_for_active_shards`` (checked by Elasticsearch before the write starts) and a
bounded ``timeout``, so a shard without enough active copies fails its items with 503 in bounded time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from elasticsearch import ApiError, AsyncElasticsearch

from gateway.errors import ElasticsearchUnavailable
from gateway.settings import Settings

FILTER_PATH = [
    "errors",
    "items.*.status",
    "items.*.error.type",
    "items.*.error.reason",
    "items.*.result",
    "items.*._shards.total",
    "items.*._shards.successful",
]
TOO_FEW_COPIES = "too_few_shard_copies"  # 2xx, but written on fewer copies than required

ShardCount = int | Literal["all"]


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
    wait_for_active_shards: ShardCount = 1
    timeout: float | None = None  # seconds a shard waits for its copies; None: Elasticsearch's 1 minute


def ingest_policy(settings: Settings) -> BulkPolicy:
    """The policy of every entity write: the configured shard count and a timeout the client outlives."""
    return BulkPolicy(
        wait_for_active_shards=settings.ingest_wait_for_active_shards,
        timeout=settings.ingest_shard_timeout,
    )


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


def required_copies(wait_for: ShardCount, total: int) -> int:
    """Shard copies that must have written an item: ``wait_for`` (every copy for ``all``), at least one."""
    return max(1, total if wait_for == "all" else min(wait_for, total))


def item_outcome(item: dict[str, Any], wait_for: ShardCount = 1) -> BulkOutcome:
    """One bulk item's outcome; a 2xx not shown written on enough shard copies becomes a 503."""
    result = next(iter(item.values()))
    status = int(result["status"])
    error = result.get("error")
    if isinstance(error, dict):
        return BulkOutcome(status, error.get("type"), error.get("reason"))
    if status >= 300:
        return BulkOutcome(status)
    if result.get("result") == "noop":  # an update that changed nothing: nothing to write, no copy wrote
        return BulkOutcome(status)
    shards = result.get("_shards")
    if not isinstance(shards, dict):
        return BulkOutcome(503, TOO_FEW_COPIES, "Elasticsearch did not say which shard copies wrote it")
    successful, total = int(shards.get("successful", 0)), int(shards.get("total", 0))
    needed = required_copies(wait_for, total)
    if successful < needed:
        reason = f"written on {successful} of {total} shard copies, {needed} required"
        return BulkOutcome(503, TOO_FEW_COPIES, reason)
    return BulkOutcome(status)


async def _send(
    es: AsyncElasticsearch, ops: Sequence[BulkOp], chunk: list[int], policy: BulkPolicy
) -> list[BulkOutcome]:
    lines: list[bytes] = []
    for i in chunk:
        lines.append(ops[i].header)
        body = ops[i].body
        if body is not None:
            lines.append(body)
    try:
        # No transport-level retry: a bulk cut off mid-way may have been applied; what to send again is
        # decided per item here (429) and by the caller (503), who knows which items are safe to repeat.
        response = await es.options(max_retries=0).bulk(
            operations=lines,  # type: ignore[arg-type]  # pre-encoded NDJSON lines are sent as they are
            filter_path=FILTER_PATH,
            refresh="wait_for" if policy.refresh else False,
            wait_for_active_shards=policy.wait_for_active_shards,
            timeout=None if policy.timeout is None else f"{max(1, round(policy.timeout * 1000))}ms",
        )
    except ApiError as exc:
        if exc.meta.status == 429:
            return [BulkOutcome(429, "es_rejected_execution_exception", "bulk request rejected")] * len(chunk)
        raise
    items = response.get("items", [])
    if len(items) != len(chunk):  # never expected; refuse to guess which item is which
        raise ElasticsearchUnavailable(f"bulk answered {len(items)} items for {len(chunk)} operations")
    return [item_outcome(item, policy.wait_for_active_shards) for item in items]


async def bulk_write(
    es: AsyncElasticsearch, ops: Sequence[BulkOp], policy: BulkPolicy = BulkPolicy()
) -> list[BulkOutcome]:
    """One outcome per operation, in order. Raises only when Elasticsearch cannot be reached."""
    outcomes: list[BulkOutcome | None] = [None] * len(ops)
    pending = list(range(len(ops)))
    for attempt in range(policy.max_retries + 1):
        retry: list[int] = []
        for chunk in _chunks(ops, pending, policy):
            for i, outcome in zip(chunk, await _send(es, ops, chunk, policy), strict=True):
                outcomes[i] = outcome
                if outcome.status == 429:
                    retry.append(i)
        if not retry or attempt == policy.max_retries:
            break
        await asyncio.sleep(policy.initial_backoff * 2**attempt)
        pending = retry
    return [o if o is not None else BulkOutcome(500) for o in outcomes]
