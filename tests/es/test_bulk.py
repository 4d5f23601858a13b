"""Bulk writes against the real node; Elasticsearch push-back (429) injected by wrapping the real client.

Missing shard copies are real: the node is alone, so a second copy of a shard never becomes active.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError, AsyncElasticsearch, ConnectionError, Elasticsearch

from gateway.es.bulk import TOO_FEW_COPIES, BulkOp, BulkPolicy, ShardCount, bulk_write, item_outcome
from tests.helpers import free_port

INDEX = "autonomous-iam_bulk_test"
FAST = BulkPolicy(initial_backoff=0.01)


def _ops(count: int) -> list[BulkOp]:
    return [
        BulkOp(orjson.dumps({"index": {"_index": INDEX, "_id": str(i)}}), orjson.dumps({"n": i}))
        for i in range(count)
    ]


def _meta(status: int) -> ApiResponseMeta:
    return ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))


REJECTED = {"index": {"status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "full"}}}


class PushingBack:
    """The real client, except that its first ``rejections`` bulk calls are refused the way Elasticsearch
    refuses them when its write queue is full: per item (``items``) or for the whole request."""

    def __init__(self, es: AsyncElasticsearch, rejections: int, whole_request: bool) -> None:
        self._es = es
        self.rejections = rejections
        self.whole_request = whole_request
        self.calls: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._es, name)

    def options(self, **kwargs: Any) -> PushingBack:  # per-request options stay on the real client
        self._es = self._es.options(**kwargs)
        return self

    async def bulk(self, *, operations: Any, **kwargs: Any) -> Any:
        self.calls.append(len(operations))
        if self.rejections > 0:
            self.rejections -= 1
            if self.whole_request:
                raise ApiError("es_rejected_execution_exception", _meta(429), {"status": 429})
            if len(operations) <= 2:
                return {"errors": True, "items": [REJECTED]}
            response = await self._es.bulk(operations=operations[2:], **kwargs)  # first item "rejected"
            return {**response, "errors": True, "items": [REJECTED, *response["items"]]}
        return await self._es.bulk(operations=operations, **kwargs)


def _run(es_url: str, work: Callable[[AsyncElasticsearch], Any]) -> Any:
    async def run() -> Any:
        client = AsyncElasticsearch(es_url)
        try:
            return await work(client)
        finally:
            await client.close()

    return asyncio.run(run())


@pytest.mark.parametrize("whole_request", [False, True])
def test_pushed_back_items_are_retried_until_written(
    es: Elasticsearch, es_url: str, whole_request: bool
) -> None:
    async def work(client: AsyncElasticsearch) -> Any:
        wrapper = PushingBack(client, rejections=2, whole_request=whole_request)
        outcomes = await bulk_write(wrapper, _ops(5), FAST)  # type: ignore[arg-type]
        return wrapper.calls, outcomes

    calls, outcomes = _run(es_url, work)
    assert all(o.ok for o in outcomes) and len(outcomes) == 5
    assert len(calls) == 3 and calls[0] == 10  # first the whole batch, then only what was pushed back
    es.indices.refresh(index=INDEX)
    assert es.count(index=INDEX)["count"] == 5


def test_items_still_pushed_back_after_the_last_retry_are_reported(es: Elasticsearch, es_url: str) -> None:
    async def work(client: AsyncElasticsearch) -> Any:
        wrapper = PushingBack(client, rejections=10, whole_request=True)
        return await bulk_write(wrapper, _ops(3), BulkPolicy(max_retries=2, initial_backoff=0.01))  # type: ignore[arg-type]

    outcomes = _run(es_url, work)
    assert [o.status for o in outcomes] == [429, 429, 429]


def test_large_batches_are_split_and_answered_in_order(es: Elasticsearch, es_url: str) -> None:
    ops = _ops(25)
    ops[7] = BulkOp(
        orjson.dumps({"create": {"_index": INDEX, "_id": "3"}}), orjson.dumps({"n": 3})
    )  # dup of 3
    outcomes = _run(es_url, lambda client: bulk_write(client, ops, BulkPolicy(max_ops=4, max_bytes=200)))
    assert [i for i, o in enumerate(outcomes) if not o.ok] == [7]
    assert outcomes[7].status == 409 and outcomes[7].error_type == "version_conflict_engine_exception"


def test_an_unreachable_cluster_raises_instead_of_reporting_success() -> None:
    with pytest.raises(ConnectionError):
        _run(f"http://127.0.0.1:{free_port()}", lambda client: bulk_write(client, _ops(1), FAST))


class Recording:
    """The real client, keeping the bulk responses Elasticsearch sent back."""

    def __init__(self, es: AsyncElasticsearch) -> None:
        self._es = es
        self.responses: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._es, name)

    def options(self, **kwargs: Any) -> Recording:  # per-request options stay on the real client
        self._es = self._es.options(**kwargs)
        return self

    async def bulk(self, **kwargs: Any) -> Any:
        response = await self._es.bulk(**kwargs)
        self.responses.append(dict(response.body))
        return response


def test_a_refreshing_policy_makes_the_documents_searchable_at_once(es: Elasticsearch, es_url: str) -> None:
    outcomes = _run(es_url, lambda client: bulk_write(client, _ops(3), BulkPolicy(refresh=True)))
    assert all(o.ok for o in outcomes)
    assert es.count(index=INDEX)["count"] == 3


def test_bulk_responses_carry_only_statuses_results_errors_and_copy_counts(
    es: Elasticsearch, es_url: str
) -> None:
    ops = [*_ops(2), BulkOp(orjson.dumps({"create": {"_index": INDEX, "_id": "0"}}), orjson.dumps({"n": 0}))]

    async def work(client: AsyncElasticsearch) -> Any:
        wrapper = Recording(client)
        return wrapper.responses, await bulk_write(wrapper, ops)  # type: ignore[arg-type]

    responses, outcomes = _run(es_url, work)
    assert [o.status for o in outcomes] == [201, 201, 409]
    assert outcomes[2].error_type == "version_conflict_engine_exception" and outcomes[2].reason
    assert [set(r) for r in responses] == [{"errors", "items"}]  # no took, _index, _version, _shards ...
    results = [next(iter(item.values())) for item in responses[0]["items"]]
    written = {"status", "result", "_shards"}  # result: a no-op update is ok without any copy writing
    assert [set(r) for r in results] == [written, written, {"status", "error"}]
    assert set(results[0]["_shards"]) == {"total", "successful"}  # what the copies check needs, no more
    assert set(results[2]["error"]) == {"type", "reason"}


def _index_with_one_copy(es: Elasticsearch, replicas: str = "0-1") -> None:
    """Like the gateway's templates (auto_expand_replicas 0-1): one copy per shard on a single node."""
    settings = {"number_of_shards": 1, "auto_expand_replicas": replicas}
    if replicas.isdigit():
        settings = {"number_of_shards": 1, "number_of_replicas": int(replicas)}
    es.indices.create(index=INDEX, settings=settings, wait_for_active_shards="1")


@pytest.mark.parametrize("wait_for", [2, "all"])
def test_without_enough_active_copies_every_item_is_503_in_bounded_time(
    es: Elasticsearch, es_url: str, wait_for: ShardCount
) -> None:
    # "all" with a replica that cannot be assigned on one node; 2 with the templates' single copy
    _index_with_one_copy(es, "1" if wait_for == "all" else "0-1")
    ops = [*_ops(3), BulkOp(orjson.dumps({"delete": {"_index": INDEX, "_id": "0"}}))]
    policy = BulkPolicy(wait_for_active_shards=wait_for, timeout=1.0)
    outcomes = _run(es_url, lambda client: bulk_write(client, ops, policy))
    assert [o.status for o in outcomes] == [503] * 4
    assert {o.error_type for o in outcomes} == {"unavailable_shards_exception"}
    assert not any(o.ok for o in outcomes)
    # Elasticsearch says how long it waited for the copies: the policy's timeout, not its default minute.
    assert all("Timeout: [1s]" in (o.reason or "") for o in outcomes), outcomes[0].reason
    es.indices.refresh(index=INDEX)
    assert es.count(index=INDEX)["count"] == 0


def test_with_the_default_count_every_item_is_written_and_ok(es: Elasticsearch, es_url: str) -> None:
    _index_with_one_copy(es, "1")  # a replica that is never assigned: the primary alone is enough for 1
    outcomes = _run(es_url, lambda client: bulk_write(client, _ops(4), BulkPolicy(timeout=1.0)))
    assert [o.status for o in outcomes] == [201] * 4
    es.indices.refresh(index=INDEX)
    assert es.count(index=INDEX)["count"] == 4


def _item(status: int, shards: dict[str, int] | None = None, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"status": status, **extra}
    if shards is not None:
        result["_shards"] = shards
    return {"index": result}


@pytest.mark.parametrize(
    ("item", "wait_for", "status"),
    [
        (_item(201, {"total": 1, "successful": 1}), 1, 201),
        (_item(200, {"total": 2, "successful": 1}), 1, 200),  # a replica not assigned: 1 copy asked for
        (_item(201, {"total": 2, "successful": 2}), 2, 201),
        (_item(201, {"total": 3, "successful": 2}), 2, 201),
        (_item(201, {"total": 2, "successful": 1}), 2, 503),  # a replica failed during the write
        (_item(201, {"total": 2, "successful": 1}), "all", 503),
        (_item(201, {"total": 2, "successful": 2}), "all", 201),
        (_item(201, {"total": 1, "successful": 0}), 1, 503),
        (_item(201), 1, 503),  # no _shards: nothing shows the item written
        ({"update": {"status": 200, "result": "noop", "_shards": {"total": 0, "successful": 0}}}, 2, 200),
        (_item(404, {"total": 1, "successful": 1}), 1, 404),  # a delete that found nothing
        (_item(409, error={"type": "version_conflict_engine_exception", "reason": "exists"}), 2, 409),
    ],
)
def test_an_item_is_ok_only_when_written_on_enough_copies(
    item: dict[str, Any], wait_for: ShardCount, status: int
) -> None:
    outcome = item_outcome(item, wait_for)
    assert outcome.status == status and outcome.ok == (status < 300)
    if status == 503:
        assert outcome.error_type == TOO_FEW_COPIES and outcome.reason
