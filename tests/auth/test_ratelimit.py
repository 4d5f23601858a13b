"""The per-key token bucket (SPEC §10), on an injected clock: limits, refill, the fields' values, memory."""

from __future__ import annotations

import pytest

from gateway.auth.ratelimit import KeyRateLimiter, Quota, RateLimited
from tests.helpers import FrozenClock

FIVE_A_MINUTE = "5/60"


def take_all(limiter: KeyRateLimiter, key: str, stored: str | None, count: int) -> list[Quota | None]:
    return [limiter.take(key, stored) for _ in range(count)]


def test_a_key_gets_its_limit_then_429_until_the_next_token() -> None:
    clock = FrozenClock()
    limiter = KeyRateLimiter("off", clock)
    quotas = take_all(limiter, "k1", FIVE_A_MINUTE, 5)
    assert [q.remaining for q in quotas if q] == [4, 3, 2, 1, 0]
    assert [q.header for q in quotas if q][-1] == '"key";r=0;t=12'
    assert quotas[0] is not None and quotas[0].policy.header == '"key";q=5;w=60'
    with pytest.raises(RateLimited) as refused:
        limiter.take("k1", FIVE_A_MINUTE)
    assert refused.value.retry_after == 12
    assert refused.value.quota.header == '"key";r=0;t=12'
    assert refused.value.code == "too_many_requests"
    clock.advance(11.5)
    with pytest.raises(RateLimited) as again:  # refused requests take nothing; half a second to go
        limiter.take("k1", FIVE_A_MINUTE)
    assert again.value.retry_after == 1
    clock.advance(0.5)  # exactly Retry-After after the first refusal
    quota = limiter.take("k1", FIVE_A_MINUTE)
    assert quota is not None and quota.remaining == 0 and quota.window == 12


def test_the_effective_window_is_the_time_to_the_next_token() -> None:
    clock = FrozenClock()
    limiter = KeyRateLimiter("off", clock)
    first = limiter.take("k", "10/1")  # a token every 0.1 s
    assert first is not None and (first.remaining, first.window) == (9, 1)
    clock.advance(3600)
    full = limiter.take("k", "2/7200")  # one every hour: a full bucket, taken once
    assert full is not None and (full.remaining, full.window) == (1, 3600)
    clock.advance(1800)
    half = limiter.take("k", "2/7200")  # 1.5 tokens before, 0.5 after: the next whole one in 30 min
    assert half is not None and (half.remaining, half.window) == (0, 1800)


def test_buckets_are_per_key() -> None:
    limiter = KeyRateLimiter("off", FrozenClock())
    take_all(limiter, "k1", "2/60", 2)
    with pytest.raises(RateLimited):
        limiter.take("k1", "2/60")
    assert limiter.take("k2", "2/60") is not None


def test_the_default_applies_to_keys_without_their_own_and_off_is_no_limit() -> None:
    limiter = KeyRateLimiter("3/60", FrozenClock())
    quotas = take_all(limiter, "default", None, 3)
    assert all(q is not None and q.policy.header == '"key";q=3;w=60' for q in quotas)
    with pytest.raises(RateLimited):
        limiter.take("default", None)
    assert take_all(limiter, "unlimited", "off", 100) == [None] * 100
    assert take_all(KeyRateLimiter("off", FrozenClock()), "k", None, 100) == [None] * 100


def test_a_changed_limit_applies_at_once_and_keeps_what_was_used() -> None:
    limiter = KeyRateLimiter("off", FrozenClock())
    take_all(limiter, "k", "10/60", 8)  # 2 left
    narrowed = limiter.take("k", "3/60")
    assert narrowed is not None and narrowed.remaining == 1
    limiter.take("k", "3/60")
    with pytest.raises(RateLimited):
        limiter.take("k", "3/60")


def test_memory_is_bounded_and_idle_buckets_go_first() -> None:
    clock = FrozenClock()
    limiter = KeyRateLimiter("off", clock, max_buckets=100)
    take_all(limiter, "busy", "2/3600", 2)  # empty for an hour
    clock.advance(1)
    for n in range(300):
        limiter.take(f"idle-{n}", "1000/1")  # refilled a millisecond later: forgetting them changes nothing
        clock.advance(0.01)
    assert len(limiter) <= 100
    with pytest.raises(RateLimited):  # the busy key's bucket survived the idle ones
        limiter.take("busy", "2/3600")
    for n in range(300):
        limiter.take(f"hot-{n}", "2/3600")  # none refills: the oldest are dropped
    assert len(limiter) <= 100
