"""How the job reads a 429: the key's rate limit (waited out) or anything else (the job's own retries)."""

from __future__ import annotations

import asyncio

import httpx

from gateway.jobs.pacing import PacedClient, rate_limit_wait

LIMITED = {"retry-after": "12", "ratelimit-policy": '"key";q=5;w=60', "ratelimit": '"key";r=0;t=12'}


def answer(status: int, headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={"error": {"code": "too_many_requests"}})


def test_only_a_429_naming_the_keys_limit_is_waited_out() -> None:
    assert rate_limit_wait(answer(429, LIMITED)) == 12
    assert rate_limit_wait(answer(429, {**LIMITED, "retry-after": "600"})) == 60  # at most a minute a time
    assert rate_limit_wait(answer(429, {**LIMITED, "retry-after": "soon"})) == 1
    assert rate_limit_wait(answer(429, {"retry-after": "5"})) is None  # Elasticsearch's: the job's retries
    assert rate_limit_wait(answer(200, {"ratelimit": '"key";r=4;t=12'})) is None
    assert rate_limit_wait(answer(503, {"retry-after": "2"})) is None


def test_a_wait_beyond_the_patience_hands_the_429_to_the_job() -> None:
    seen: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(429, {**LIMITED, "retry-after": "86400"})

    async def run() -> httpx.Response:
        transport = httpx.MockTransport(gateway)
        async with PacedClient(transport=transport, base_url="http://gateway", patience=30) as client:
            response = await client.post("/api/ingest/identities", json={})
        assert client.waits == 0
        return response

    assert asyncio.run(run()).status_code == 429
    assert len(seen) == 1
