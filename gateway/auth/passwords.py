"""Password hashing with Argon2id (parameters are stored inside each hash and upgraded on login).

The default profile is RFC 9106's low-memory one (t=3, m=64 MiB, p=4), above OWASP's current minimum.
Hashing is slow by design, so it runs in worker threads, at most ``MAX_CONCURRENT_HASHES`` at a time.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cached_property

import anyio
import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from gateway.settings import MIN_PASSWORD_LENGTH

MAX_CONCURRENT_HASHES = 2


class WeakPassword(ValueError):
    """A password refused by policy."""


@dataclass(frozen=True)
class Verification:
    ok: bool
    needs_rehash: bool = False


class PasswordHasher:
    def __init__(self, parameters: argon2.Parameters = RFC_9106_LOW_MEMORY) -> None:
        self._hasher = argon2.PasswordHasher.from_parameters(parameters)
        self._limiter = anyio.CapacityLimiter(MAX_CONCURRENT_HASHES)

    @cached_property
    def _decoy(self) -> str:
        """Unknown users are checked against this, so they cost as much time as known ones.

        Made on first use rather than at start-up: one Argon2 hash is ~0.1 s that most processes never need.
        """
        return self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise WeakPassword(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> Verification:
        try:
            self._hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verification(ok=False)
        return Verification(ok=True, needs_rehash=self._hasher.check_needs_rehash(stored_hash))

    def burn(self, password: str) -> None:
        self.verify(self._decoy, password)

    async def verify_async(self, stored_hash: str | None, password: str) -> Verification:
        """Verify off the event loop; with no stored hash, spend the same time and fail."""
        if stored_hash is None:
            await anyio.to_thread.run_sync(self.burn, password, limiter=self._limiter)
            return Verification(ok=False)
        return await anyio.to_thread.run_sync(self.verify, stored_hash, password, limiter=self._limiter)

    async def hash_async(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hash, password, limiter=self._limiter)
