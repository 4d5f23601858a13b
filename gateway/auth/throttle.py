"""Login throttling: count recent failures per account and per client address, before any hashing.

A blocked caller gets 429 with ``Retry-After``; the block lifts by itself once its oldest failure leaves
the window. State is per replica and bounded in size, so a flood of made-up usernames cannot exhaust memory.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

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

    def record(self, key: str) -> None:
        failures = self._recent(key) or deque(maxlen=self.limit)
        failures.append(self.clock())
        self._failures[key] = failures
        self._failures.move_to_end(key)
        while len(self._failures) > MAX_TRACKED:
            self._failures.popitem(last=False)

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)


class LoginThrottle:
    def __init__(
        self,
        max_per_account: int,
        max_per_client: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._accounts = _FailureLog(max_per_account, window_seconds, clock)
        self._clients = _FailureLog(max_per_client, window_seconds, clock)

    def retry_after(self, account: str, client: str) -> int | None:
        """Whole seconds to wait before trying again, or None when the attempt may proceed."""
        waits = [w for w in (self._accounts.retry_after(account), self._clients.retry_after(client)) if w]
        return max(1, math.ceil(max(waits))) if waits else None

    def record_failure(self, account: str, client: str) -> None:
        self._accounts.record(account)
        self._clients.record(client)

    def record_success(self, account: str) -> None:
        self._accounts.clear(account)
