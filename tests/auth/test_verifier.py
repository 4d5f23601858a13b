"""The key cache's revocation bound, on the replica's own clock: a replica that has not confirmed the
cluster's revocation generation within ``revocation_window_seconds`` stops trusting what it cached.

Replica A is the app (real Elasticsearch); replica B is a second verifier over the same cluster whose
background poll never runs, as on a replica that is stalled or cut off from the state index. Time moves
on B's injected clock, so the bound is checked exactly, whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from fastapi.testclient import TestClient

from gateway.auth.apikeys import ApiKeyStore
from gateway.auth.secrets import load_secrets
from gateway.auth.verifier import ApiKeyVerifier
from gateway.errors import NotAuthenticated
from gateway.es.client import build_client
from gateway.es.connection_settings import ConnectionSettings
from gateway.settings import Settings
from tests.helpers import TEST_TENANT_ID, ManualClock, bearer, create_key, login


class FrozenClock(ManualClock):
    """Still until moved: the real time the test spends (logging in, revoking) does not count."""

    def __init__(self) -> None:
        super().__init__()
        self._monotonic, self._now = super().monotonic(), super().now()

    def monotonic(self) -> float:
        return self._monotonic + self.offset

    def now(self) -> dt.datetime:
        return self._now + dt.timedelta(seconds=self.offset)


def test_a_replica_that_missed_a_revocation_refuses_the_key_once_its_window_has_passed(
    client: TestClient, settings: Settings
) -> None:
    token = login(client)
    key = create_key(client, token)
    window = settings.revocation_window_seconds
    b_clock = FrozenClock()

    async def run() -> tuple[bool, bool, bool]:
        es = build_client(ConnectionSettings.from_settings(settings))
        b = ApiKeyVerifier(
            ApiKeyStore(es),
            load_secrets(settings).api_key_hmac_key,
            tenant_id=TEST_TENANT_ID,
            cache_ttl=settings.key_cache_ttl_seconds,
            revocation_window=window,
            clock=b_clock,
        )

        async def accepted() -> bool:
            try:
                await b.verify(key, TEST_TENANT_ID)
            except NotAuthenticated:
                return False
            return True

        try:
            await b.sync()  # B confirms the generation once, then caches the key
            cached = await accepted()
            revoked = await asyncio.to_thread(
                client.post, "/api/admin/revokeApiToken", json={"token": key}, headers=bearer(token)
            )
            assert revoked.status_code == 200, revoked.text
            b_clock.advance(window * 0.9)  # B has not polled since: within the window it serves its cache
            stale = await accepted()
            b_clock.advance(window * 0.2)  # past the window since B's last confirmed generation
            after = await accepted()
            await b.close()
            return cached, stale, after
        finally:
            await es.close()

    cached, stale, after = asyncio.run(run())
    assert (cached, stale, after) == (True, True, False)
