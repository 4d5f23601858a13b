"""Login throttling: count recent failures per account and per client address, before any hashing.

A blocked caller gets 429 with ``Retry-After``; the block lifts by itself once its oldest failure leaves
the window. An attempt is counted as a failure when it starts (``reserve``), not when its password check
ends: checking, awaiting the hash and recording afterwards let any number of concurrent guesses through
the same check. A successful attempt gives its reservation back.

State is per replica and bounded in size, so a flood of made-up usernames cannot exhaust memory.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from gateway.clock import SYSTEM_CLOCK, Clock

MAX_TRACKED = 100_000


class _FailureLog:
    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures

    def retry_after(self, key: str) -> float | None:
        failures = self._recent(key)
        if failures is None or len(failures) < self.limit:
            return None
        return failures[-self.limit] + self.window - self.clock()

    def record(self, key: str) -> float:
        now = self.clock()
        failures = self._recent(key) or deque(maxlen=self.limit)
        failures.append(now)
        self._failures[key] = failures
        self._failures.move_to_end(key)
        while len(self._failures) > MAX_TRACKED:
            self._failures.popitem(last=False)
        return now

    def forget(self, key: str, at: float) -> None:
        failures = self._failures.get(key)
        if failures is not None and at in failures:  # gone already if it left the window
            failures.remove(at)

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)


@dataclass(frozen=True)
class Reservation:
    """One login attempt, counted as a failure until it is released."""

    account: str
    client: str
    account_at: float
    client_at: float


class LoginThrottle:
    def __init__(
        self,
        max_per_account: int,
        max_per_client: int,
        window_seconds: float,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._accounts = _FailureLog(max_per_account, window_seconds, clock.monotonic)
        self._clients = _FailureLog(max_per_client, window_seconds, clock.monotonic)

    def retry_after(self, account: str, client: str) -> int | None:
        """Whole seconds to wait before trying again, or None when the attempt may proceed."""
        waits = [w for w in (self._accounts.retry_after(account), self._clients.retry_after(client)) if w]
        return max(1, math.ceil(max(waits))) if waits else None

    def reserve(self, account: str, client: str) -> Reservation | None:
        """Count an attempt as a failure before it is checked, or None when it must wait (``retry_after``).

        Synchronous on purpose: between the check and the count no other request can run.
        """
        if self.retry_after(account, client) is not None:
            return None
        return Reservation(account, client, self._accounts.record(account), self._clients.record(client))

    def release(self, reservation: Reservation) -> None:
        """The attempt was not a failed guess after all (it succeeded, or the check itself failed)."""
        self._accounts.forget(reservation.account, reservation.account_at)
        self._clients.forget(reservation.client, reservation.client_at)

    def record_failure(self, account: str, client: str) -> None:
        self._accounts.record(account)
        self._clients.record(client)

    def record_success(self, account: str) -> None:
        self._accounts.clear(account)
