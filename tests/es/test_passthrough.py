"""The passthrough client against the real node: pipelined batches answer every caller with its own
response, and a dead endpoint is a clean error."""

from __future__ import annotations

import asyncio
import json

import orjson
import pytest
from elasticsearch import Elasticsearch

from gateway.errors import ElasticsearchUnavailable
from gateway.es.connection_settings import ConnectionSettings
from gateway.es.passthrough import MAX_PIPELINE, PassthroughClient
from tests.helpers import free_port, make_settings

INDEX = "autonomous-iam_passthrough_test"


def test_concurrent_searches_each_get_their_own_answer(es: Elasticsearch, es_url: str) -> None:
    es.bulk(
        operations=[op for n in range(30) for op in ({"index": {"_index": INDEX}}, {"n": n})], refresh=True
    )
    client = PassthroughClient(ConnectionSettings.from_settings(make_settings(es_url=es_url)))

    async def one(n: int) -> int:
        body = orjson.dumps({"query": {"term": {"n": n}}, "size": 1})
        response = await client.post(f"/{INDEX}/_search", body)
        assert response.status == 200
        hits = json.loads(response.body)["hits"]["hits"]
        return int(hits[0]["_source"]["n"])

    async def run() -> list[int]:
        try:
            # several batches of pipelined requests in one loop iteration, then again on reused connections
            first = await asyncio.gather(*(one(n) for n in range(3 * MAX_PIPELINE + 5)))
            second = await asyncio.gather(*(one(n % 30) for n in range(60)))
            return [*first, *second]
        finally:
            await client.close()

    answers = asyncio.run(run())
    assert answers == [*range(3 * MAX_PIPELINE + 5), *(n % 30 for n in range(60))]


def test_errors_from_elasticsearch_reach_the_right_caller(es: Elasticsearch, es_url: str) -> None:
    es.index(index=INDEX, document={"n": 1}, refresh=True)
    client = PassthroughClient(ConnectionSettings.from_settings(make_settings(es_url=es_url)))

    async def run() -> list[int]:
        good = orjson.dumps({"query": {"match_all": {}}})
        bad = orjson.dumps({"query": {"no_such_query": {}}})
        try:
            responses = await asyncio.gather(
                *(client.post(f"/{INDEX}/_search", bad if i % 3 == 0 else good) for i in range(12))
            )
            return [r.status for r in responses]
        finally:
            await client.close()

    assert asyncio.run(run()) == [400 if i % 3 == 0 else 200 for i in range(12)]


def test_an_unreachable_node_fails_every_caller_promptly() -> None:
    client = PassthroughClient(
        ConnectionSettings.from_settings(
            make_settings(es_url=f"http://127.0.0.1:{free_port()}", es_request_timeout=2)
        )
    )

    async def run() -> list[BaseException | object]:
        try:
            return await asyncio.wait_for(
                asyncio.gather(*(client.post("/x/_search", b"{}") for _ in range(5)), return_exceptions=True),
                60,  # bounds a hang only: a refused connection fails at once, whatever the machine
            )
        finally:
            await client.close()

    results = asyncio.run(run())
    assert len(results) == 5 and all(isinstance(r, ElasticsearchUnavailable) for r in results)


@pytest.mark.parametrize("count", [1, MAX_PIPELINE + 1])
def test_callers_that_give_up_do_not_disturb_the_others(es: Elasticsearch, es_url: str, count: int) -> None:
    es.index(index=INDEX, document={"n": 1}, refresh=True)
    client = PassthroughClient(ConnectionSettings.from_settings(make_settings(es_url=es_url)))

    async def run() -> int:
        body = orjson.dumps({"query": {"match_all": {}}})
        try:
            abandoned = [asyncio.ensure_future(client.post(f"/{INDEX}/_search", body)) for _ in range(count)]
            kept = asyncio.ensure_future(client.post(f"/{INDEX}/_search", body))
            await asyncio.sleep(0)
            for task in abandoned:
                task.cancel()
            response = await kept
            again = await client.post(f"/{INDEX}/_search", body)  # the connection is still usable
            assert again.status == 200
            return response.status
        finally:
            await client.close()

    assert asyncio.run(run()) == 200
