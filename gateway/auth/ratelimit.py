"""Per-key rate limits (SPEC §10): a token bucket per key and per replica, and what the RateLimit fields say.

A key's limit is its own ``rateLimit`` or, when it has none, ``GATEWAY_KEY_RATE_LIMIT`` (``off`` by default,
so that an upgrade never throttles a running job); ``false`` turns it off for one key. Each replica keeps
one bucket per key (by record id): it holds up to ``requests`` tokens, refilled evenly (one every
``perSeconds / requests`` seconds), and every request the key makes takes one. An empty bucket refuses with
``RateLimited`` (429) until the next token arrives; refused requests take nothing.

The answers say so in the fields of draft-ietf-httpapi-ratelimit-headers (-11): ``RateLimit-Policy:
"key";q=<requests>;w=<perSeconds>`` and ``RateLimit: "key";r=<remaining>;t=<seconds>``, where ``t`` is the
draft's *effective window*: the seconds within which no more than ``r`` further requests will be accepted,
that is until the next token arrives. At ``r=0`` it equals ``Retry-After``.

The check is on every request of a limited key, so it is a few dict and float operations; the bench
(``bench/key_verification.py``) measures it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from gateway.auth.restrictions import RateLimit, stored_rate
from gateway.clock import Clock
from gateway.errors import TooManyAttempts

POLICY = "key"  # the policy's name in both fields: the quota is the key's
MAX_BUCKETS = 50_000  # keys with a bucket on one replica; idle (full) ones are dropped first
MAX_POLICIES = 1_000  # distinct stored limits remembered parsed
# Float slack: a client that waited exactly Retry-After finds its token there despite rounding.
EPSILON = 1e-6


class Policy:
    """One limit, with what the check and the fields need computed once."""

    __slots__ = ("capacity", "header", "limit", "per_token")

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self.capacity = float(limit.requests)
        self.per_token = limit.per_seconds / limit.requests  # seconds between two tokens
        self.header = f'"{POLICY}";q={limit.requests};w={limit.per_seconds}'


class Quota(NamedTuple):
    """What a request left of its key's limit: the values of the RateLimit-Policy and RateLimit fields."""

    policy: Policy
    remaining: int  # r: requests that may follow at once
    window: int  # t: whole seconds until the next token (no more than ``remaining`` before then)

    @property
    def header(self) -> str:
        return f'"{POLICY}";r={self.remaining};t={self.window}'


class RateLimited(TooManyAttempts):
    """429: the key's bucket is empty on this replica; ``retry_after`` is when its next token arrives."""

    def __init__(self, quota: Quota) -> None:
        limit = quota.policy.limit
        super().__init__(
            f"This API key is over its rate limit of {limit.requests} requests per {limit.per_seconds} "
            f"seconds; retry after {quota.window} seconds.",
            retry_after=quota.window,
        )
        self.quota = quota


class _Bucket:
    __slots__ = ("policy", "stamp", "tokens")

    def __init__(self, policy: Policy, tokens: float, stamp: float) -> None:
        self.policy, self.tokens, self.stamp = policy, tokens, stamp


def _whole_seconds(seconds: float) -> int:
    """Rounded up, at least 1 (``Retry-After`` and ``t`` are whole seconds; never early)."""
    return max(1, math.ceil(seconds - EPSILON))


class KeyRateLimiter:
    """The buckets of one replica. ``default`` is ``GATEWAY_KEY_RATE_LIMIT`` (``N/S`` or ``off``)."""

    def __init__(self, default: str, clock: Clock, max_buckets: int = MAX_BUCKETS) -> None:
        choice = stored_rate(default)
        self._default = Policy(choice) if isinstance(choice, RateLimit) else None
        self._clock = clock
        self._max_buckets = max_buckets
        self._policies: dict[str | None, Policy | None] = {}
        self._buckets: dict[str, _Bucket] = {}

    def policy_for(self, stored: str | None) -> Policy | None:
        """The limit a key's stored ``rate_limit`` means here (None: not limited)."""
        try:
            return self._policies[stored]
        except KeyError:
            pass
        choice = stored_rate(stored)
        policy = (
            self._default if choice is None else Policy(choice) if isinstance(choice, RateLimit) else None
        )
        if len(self._policies) < MAX_POLICIES:
            self._policies[stored] = policy
        return policy

    def take(self, key_id: str, stored: str | None) -> Quota | None:
        """One request of key ``key_id`` (record id; ``stored``: its ``rate_limit``): what is left, None
        when the key is not limited; ``RateLimited`` when its bucket is empty."""
        try:
            policy = self._policies[stored]
        except KeyError:
            policy = self.policy_for(stored)
        if policy is None:
            return None
        now = self._clock.monotonic()
        bucket = self._buckets.get(key_id)
        if bucket is None:
            bucket = self._add(key_id, policy, now)
            tokens = policy.capacity
        else:
            tokens = bucket.tokens + (now - bucket.stamp) / bucket.policy.per_token
            bucket.policy = policy  # a changed limit applies from now; what was left carries over
            if tokens > policy.capacity:
                tokens = policy.capacity
        bucket.stamp = now
        if tokens < 1.0 - EPSILON:
            bucket.tokens = tokens
            raise RateLimited(Quota(policy, 0, _whole_seconds((1.0 - tokens) * policy.per_token)))
        tokens -= 1.0
        bucket.tokens = tokens
        remaining = int(tokens + EPSILON)
        return Quota(policy, remaining, _whole_seconds((remaining + 1 - tokens) * policy.per_token))

    def _add(self, key_id: str, policy: Policy, now: float) -> _Bucket:
        if len(self._buckets) >= self._max_buckets:
            self._evict(now)
        bucket = self._buckets[key_id] = _Bucket(policy, policy.capacity, now)
        return bucket

    def _evict(self, now: float) -> None:
        """Drop the buckets that have refilled (forgetting them changes nothing), then, if that is not
        enough, the oldest ones (those keys start again with a full bucket)."""
        for key_id, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.stamp) / bucket.policy.per_token >= bucket.policy.capacity:
                del self._buckets[key_id]
        excess = len(self._buckets) - self._max_buckets * 9 // 10
        for key_id in list(self._buckets)[: max(0, excess)]:
            del self._buckets[key_id]

    def __len__(self) -> int:
        return len(self._buckets)
