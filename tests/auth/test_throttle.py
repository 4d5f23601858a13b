"""Login throttling per account and per client, released after the window (clock injected)."""

from __future__ import annotations

from gateway.auth.throttle import LoginThrottle
from tests.helpers import ManualClock


def test_account_is_blocked_after_the_limit_and_released_after_the_window() -> None:
    clock = ManualClock()
    throttle = LoginThrottle(max_per_account=3, max_per_client=100, window_seconds=60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("bob", "10.0.0.1") is None
        throttle.record_failure("bob", "10.0.0.1")
        clock.advance(1)
    # failures at t=1000, 1001, 1002; now t=1003: blocked until the first one is 60 s old
    assert throttle.retry_after("bob", "10.0.0.1") == 57
    assert throttle.retry_after("bob", "10.0.0.2") == 57  # per account, whatever the address
    assert throttle.retry_after("alice", "10.0.0.1") is None
    clock.advance(56)
    assert throttle.retry_after("bob", "10.0.0.1") == 1
    clock.advance(1)
    assert throttle.retry_after("bob", "10.0.0.1") is None


def test_client_is_blocked_across_accounts() -> None:
    clock = ManualClock()
    throttle = LoginThrottle(max_per_account=100, max_per_client=2, window_seconds=10, clock=clock)
    throttle.record_failure("a", "10.0.0.9")
    throttle.record_failure("b", "10.0.0.9")
    assert throttle.retry_after("c", "10.0.0.9") == 10
    assert throttle.retry_after("c", "10.0.0.8") is None


def test_success_clears_the_account() -> None:
    throttle = LoginThrottle(max_per_account=2, max_per_client=100, window_seconds=60, clock=ManualClock())
    throttle.record_failure("bob", "x")
    throttle.record_success("bob")
    throttle.record_failure("bob", "x")
    assert throttle.retry_after("bob", "x") is None


def test_reservations_count_at_once_and_released_ones_do_not() -> None:
    throttle = LoginThrottle(max_per_account=2, max_per_client=100, window_seconds=60, clock=ManualClock())
    first = throttle.reserve("bob", "x")
    second = throttle.reserve("bob", "x")
    assert first is not None and second is not None
    assert throttle.reserve("bob", "x") is None  # two attempts in flight already fill the limit
    throttle.release(first)
    assert throttle.reserve("bob", "x") is not None
