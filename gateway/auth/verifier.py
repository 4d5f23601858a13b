"""Verifying API keys on the hot path: an in-memory cache that every replica keeps revocation-safe.

A verified record is cached for ``key_cache_ttl_seconds``, but a cache hit is only trusted while this
replica has confirmed the cluster's *revocation generation* within ``revocation_window_seconds``. A
background task polls that generation several times per window; revoking or deleting a key changes it,
and every replica then drops its cache. If polling fails (Elasticsearch away), cache hits stop being
trusted and each call goes to Elasticsearch — the gateway fails closed, never open.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass

from elasticsearch import ApiError, TransportError

from gateway.auth.key_store import ApiKeyRecord, ApiKeyStore, key_digest
from gateway.clock import SYSTEM_CLOCK, Clock
from gateway.errors import NotAuthenticated

log = logging.getLogger(__name__)

MAX_CACHED_KEYS = 10_000
LAST_USED_EVERY = 60.0  # seconds between last_used writes per key: cheap, and precise enough
INVALID_KEY = "Invalid API key or tenant."


def invalid_key() -> NotAuthenticated:
    return NotAuthenticated(INVALID_KEY, scheme="ApiKey")


@dataclass(frozen=True)
class _Entry:
    record: ApiKeyRecord
    fetched: float
    generation: str


class ApiKeyVerifier:
    def __init__(
        self,
        store: ApiKeyStore,
        secret: bytes,
        tenant_id: str,
        cache_ttl: float,
        revocation_window: float,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._store = store
        self._secret = secret
        self._tenant_id = tenant_id
        self._ttl = cache_ttl
        self._window = revocation_window
        self._clock = clock
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._generation: str | None = None
        self._synced_at = float("-inf")
        self._last_touch: dict[str, float] = {}
        self._background: set[asyncio.Task[None]] = set()
        # The HMAC digests of keys seen, remembered under a keyed BLAKE2b of the key (never the key itself,
        # and the BLAKE2b key never leaves this process): several times cheaper than the HMAC.
        self._handle_key = os.urandom(32)
        self._digests: dict[bytes, str] = {}

    # --- the hot path ---------------------------------------------------------------------------------

    async def verify(self, key: str, tenant_header: str | None, address: str | None = None) -> ApiKeyRecord:
        """The valid record of ``key``; the same 401 for every key that is not (a known key's refusal is
        marked for the audit trail). ``address``, the client's, is kept as the key's last-use address."""
        digest = self._digest(key)
        now = self._clock.monotonic()
        record = self._cached(digest, now)
        if record is None:
            generation = self._generation
            record = await self._store.get(digest)
            if record is None:
                raise invalid_key()
            if generation == self._generation:  # no revocation seen while we were fetching
                self._remember(digest, record, now, generation)
        return self._admit(record, digest, tenant_header, now, address)

    def verify_cached(
        self, key: str, tenant_header: str | None, address: str | None = None
    ) -> ApiKeyRecord | None:
        """``verify`` without I/O: None when the key's record is not in the cache (or no longer trusted)
        and must be fetched by ``verify``."""
        digest = self._digest(key)
        now = self._clock.monotonic()
        record = self._cached(digest, now)
        return None if record is None else self._admit(record, digest, tenant_header, now, address)

    def still_valid(self, record: ApiKeyRecord, address: str | None = None) -> bool:
        """Whether ``record``, which ``verify_cached`` returned for a key earlier, may be used again as it is
        for the same key and tenant header: still the cached, trusted record, and valid. False: verify the
        key anew (which gives its refusal, if any)."""
        now = self._clock.monotonic()
        if self._cached(record.digest, now) is not record or not record.is_valid(self._clock.now()):
            return False
        self._maybe_touch(record.digest, now, address)
        return True

    def _digest(self, key: str) -> str:
        handle = hashlib.blake2b(key.strip().encode(), key=self._handle_key).digest()
        digest = self._digests.get(handle)
        if digest is None:
            if len(self._digests) >= MAX_CACHED_KEYS:
                self._digests.clear()
            digest = self._digests[handle] = key_digest(self._secret, key)
        return digest

    def _admit(
        self, record: ApiKeyRecord, digest: str, tenant_header: str | None, now: float, address: str | None
    ) -> ApiKeyRecord:
        if not hmac.compare_digest(record.digest, digest):
            raise invalid_key()
        if record.tenant_id != self._tenant_id or (
            tenant_header is not None
            and tenant_header != record.tenant_id  # as sent, most often: no need to normalise it
            and tenant_header.strip().lower() != record.tenant_id
        ):
            raise invalid_key().refusing(record.id, record.name, "tenant")
        if not record.is_valid(self._clock.now()):
            raise invalid_key().refusing(record.id, record.name, "revoked" if record.revoked else "expired")
        self._maybe_touch(digest, now, address)
        return record

    def _cached(self, digest: str, now: float) -> ApiKeyRecord | None:
        entry = self._cache.get(digest)
        if entry is None:
            return None
        trusted = (
            now - entry.fetched < self._ttl
            and now - self._synced_at <= self._window
            and entry.generation == self._generation
        )
        return entry.record if trusted else None

    def _remember(self, digest: str, record: ApiKeyRecord, now: float, generation: str | None) -> None:
        if generation is None:
            return
        self._cache[digest] = _Entry(record, now, generation)
        self._cache.move_to_end(digest)
        while len(self._cache) > MAX_CACHED_KEYS:
            self._cache.popitem(last=False)

    def _maybe_touch(self, digest: str, now: float, address: str | None) -> None:
        if now - self._last_touch.get(digest, float("-inf")) < LAST_USED_EVERY:
            return
        self._last_touch[digest] = now
        if len(self._last_touch) > MAX_CACHED_KEYS:
            self._last_touch.clear()
        task = asyncio.get_running_loop().create_task(self._touch(digest, address))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _touch(self, digest: str, address: str | None) -> None:
        try:
            await self._store.touch(digest, self._clock.now(), address)
        except (ApiError, TransportError) as exc:  # last_used is best effort
            log.debug("could not record last_used: %s", type(exc).__name__)

    # --- revocation -----------------------------------------------------------------------------------

    def forget_all(self) -> None:
        self._cache.clear()

    async def sync(self) -> None:
        asked = self._clock.monotonic()  # the answer is as old as the question: the window counts from here
        generation = await self._store.revocation_generation()
        if generation != self._generation:
            self._cache.clear()
            self._generation = generation
        self._synced_at = asked

    async def watch(self) -> None:
        """Poll the revocation generation until cancelled (runs for the app's lifetime)."""
        interval = self._window / 4
        while True:
            with contextlib.suppress(ApiError, TransportError):
                await self.sync()
            await asyncio.sleep(interval)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
