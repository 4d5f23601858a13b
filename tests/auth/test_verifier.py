"""The key cache's revocation bound, on the replica's own clock: a replica that has not confirmed the
cluster's revocation generation within ``revocation_window_seconds`` stops trusting what it cached.

Replica A is the app (real Elasticsearch); replica B is a second verifier over the same cluster whose
background poll never runs, as on a replica that is stalled or cut off from the state index. Time moves
on B's injected clock, so the bound is checked exactly, whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from elasticsearch import AsyncElasticsearch
from fastapi.testclient import TestClient

from gateway.auth.key_store import ApiKeyStore
from gateway.auth.server_secrets import load_secrets
from gateway.auth.verifier import ApiKeyVerifier
from gateway.errors import NotAuthenticated
from gateway.es.client import build_client
from gateway.es.connection_settings import ConnectionSettings
from gateway.settings import Settings
from tests.helpers import TEST_TENANT_ID, FrozenClock, bearer, create_key, login


class SlowAnswers(ApiKeyStore):
    """The real store, whose revocation-generation answer can arrive late: ``meanwhile`` (when set) runs
    after the generation was read and before B gets it (a revocation, the clock moving on)."""

    def __init__(self, es: AsyncElasticsearch) -> None:
        super().__init__(es)
        self.meanwhile: Callable[[], Awaitable[None]] | None = None

    async def revocation_generation(self) -> str:
        generation = await super().revocation_generation()
        if self.meanwhile is not None:
            await self.meanwhile()
        return generation


@contextlib.asynccontextmanager
async def _replica_b(
    settings: Settings, clock: FrozenClock
) -> AsyncIterator[tuple[ApiKeyVerifier, SlowAnswers]]:
    """Replica B: a verifier of its own over the same cluster, on ``clock``, whose poll never runs."""
    es = build_client(ConnectionSettings.from_settings(settings))
    store = SlowAnswers(es)
    verifier = ApiKeyVerifier(
        store,
        load_secrets(settings).api_key_hmac_key,
        tenant_id=TEST_TENANT_ID,
        cache_ttl=settings.key_cache_ttl_seconds,
        revocation_window=settings.revocation_window_seconds,
        clock=clock,
    )
    try:
        yield verifier, store
    finally:
        await verifier.close()
        await es.close()


async def _accepts(verifier: ApiKeyVerifier, key: str) -> bool:
    try:
        await verifier.verify(key, TEST_TENANT_ID)
    except NotAuthenticated:
        return False
    return True


async def _revoke_on_a(client: TestClient, token: str, key: str) -> None:
    revoked = await asyncio.to_thread(
        client.post, "/api/admin/revokeApiToken", json={"token": key}, headers=bearer(token)
    )
    assert revoked.status_code == 200, revoked.text


def test_a_replica_that_missed_a_revocation_refuses_the_key_once_its_window_has_passed(
    client: TestClient, settings: Settings
) -> None:
    token = login(client)
    key = create_key(client, token)
    window = settings.revocation_window_seconds
    b_clock = FrozenClock()

    async def run() -> tuple[bool, bool, bool]:
        async with _replica_b(settings, b_clock) as (b, _):
            await b.sync()  # B confirms the generation once, then caches the key
            cached = await _accepts(b, key)
            await _revoke_on_a(client, token, key)
            b_clock.advance(window * 0.9)  # B has not polled since: within the window it serves its cache
            stale = await _accepts(b, key)
            b_clock.advance(window * 0.2)  # past the window since B's last confirmed generation
            return cached, stale, await _accepts(b, key)

    assert asyncio.run(run()) == (True, True, False)


def test_the_window_counts_from_when_the_generation_was_asked_for_not_answered(
    client: TestClient, settings: Settings
) -> None:
    """B asks, the key is revoked, B's (old) answer arrives late: B's trust ends one window after asking."""
    token = login(client)
    key = create_key(client, token)
    window = settings.revocation_window_seconds
    b_clock = FrozenClock()

    async def revoke_while_the_answer_travels() -> None:
        await _revoke_on_a(client, token, key)
        b_clock.advance(window * 0.9)

    async def run() -> tuple[bool, bool]:
        async with _replica_b(settings, b_clock) as (b, store):
            await b.sync()
            cached = await _accepts(b, key)
            store.meanwhile = revoke_while_the_answer_travels
            await b.sync()  # read before the revocation: the old generation, 0.9 window late
            store.meanwhile = None
            b_clock.advance(window * 0.2)  # 1.1 windows after B asked, 0.2 after the answer came
            return cached, await _accepts(b, key)

    assert asyncio.run(run()) == (True, False)
