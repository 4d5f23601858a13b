"""Time, as the app sees it: one object passed in, so tests can move it forward instead of sleeping.

Login throttling, the key cache and revocation sync, key expiry, and admin tokens' issue and expiry times
all read it.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (intervals, windows, cache ages)."""
        ...

    def now(self) -> dt.datetime:
        """The current UTC date-time (expirations, token times, records)."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


SYSTEM_CLOCK = SystemClock()
