"""Login throttling that slows guessing down without letting a stranger lock an administrator out.

After OWASP's authentication cheat sheet and NIST SP 800-63B §5.2.2, failures are counted three ways over
a sliding window, and each count refuses (429 with ``Retry-After``) only what it is about:

- per (account, client) pair, a low limit: one client guessing one account is stopped quickly, and only
  that client, for that account;
- per client, across accounts: one client spraying passwords over many accounts;
- per account, across clients, a much higher limit: a distributed attack on one account. It only refuses
  clients with a recent failure of their own at that account, and never one that has logged in to it
  successfully before (NIST's allow-list of addresses a subscriber authenticated from): past the limit
  each new client gets one guess per window, a slow-down, and no one is locked out.

So a right password from a client with no recent failures at an account always gets through, whatever
others are trying; and a login that succeeds never lowers the account-wide count others' guesses built.

An attempt is counted as a failure when it starts (``reserve``), not when its password check ends: checking,
awaiting the hash and recording afterwards let any number of concurrent guesses through the same check. A
successful attempt gives its reservation back. State is per replica and bounded in size, so a flood of
made-up usernames or addresses cannot exhaust memory; IPv6 clients are counted by /64, the block one host
commonly holds, so rotating addresses within it gains nothing.
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from gateway.clock import SYSTEM_CLOCK, Clock

MAX_TRACKED = 100_000
KNOWN_CLIENT_SECONDS = 30 * 24 * 3600.0  # how long a successful login vouches for its client


def client_key(address: str) -> str:
    """What a client is counted as: its IPv4 address, or the /64 of its IPv6 address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an address (a test client, a Unix socket): counted as given
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class _FailureLog:
    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def _recent(self, key: Hashable) -> deque[float] | None:
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

    def count(self, key: Hashable) -> int:
        failures = self._recent(key)
        return len(failures) if failures is not None else 0

    def retry_after(self, key: Hashable) -> float | None:
        failures = self._recent(key)
        if failures is None or len(failures) < self.limit:
            return None
        return failures[-self.limit] + self.window - self.clock()

    def record(self, key: Hashable, now: float) -> None:
        failures = self._recent(key) or deque(maxlen=self.limit)
        failures.append(now)
        self._failures[key] = failures
        self._failures.move_to_end(key)
        while len(self._failures) > MAX_TRACKED:
            self._failures.popitem(last=False)

    def forget(self, key: Hashable, at: float) -> None:
        failures = self._failures.get(key)
        if failures is not None and at in failures:  # gone already if it left the window
            failures.remove(at)

    def clear(self, key: Hashable) -> None:
        self._failures.pop(key, None)


class _KnownClients:
    """(account, client) pairs with a successful login: only a right password puts a pair here."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._since: OrderedDict[tuple[str, str], float] = OrderedDict()

    def add(self, account: str, client: str) -> None:
        self._since[(account, client)] = self.clock()
        self._since.move_to_end((account, client))
        while len(self._since) > MAX_TRACKED:
            self._since.popitem(last=False)

    def __contains__(self, pair: tuple[str, str]) -> bool:
        since = self._since.get(pair)
        return since is not None and self.clock() - since < KNOWN_CLIENT_SECONDS


@dataclass(frozen=True)
class Reservation:
    """One login attempt, counted as a failure until it is released."""

    account: str
    client: str
    at: float
    account_counted: bool = True  # False when the account-wide log was full already


class LoginThrottle:
    def __init__(
        self,
        max_per_account_client: int,
        max_per_client: int,
        max_per_account: int,
        window_seconds: float,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._pairs = _FailureLog(max_per_account_client, window_seconds, clock.monotonic)
        self._clients = _FailureLog(max_per_client, window_seconds, clock.monotonic)
        self._accounts = _FailureLog(max_per_account, window_seconds, clock.monotonic)
        self._known = _KnownClients(clock.monotonic)

    def retry_after(self, account: str, client: str) -> int | None:
        """Whole seconds to wait before trying again, or None when the attempt may proceed."""
        client = client_key(client)
        waits = [self._pairs.retry_after((account, client)), self._clients.retry_after(client)]
        if self._account_limit_applies(account, client):
            waits.append(self._accounts.retry_after(account))
        positive = [wait for wait in waits if wait]
        return max(1, math.ceil(max(positive))) if positive else None

    def _account_limit_applies(self, account: str, client: str) -> bool:
        """The account-wide count only slows down clients with recent failures of their own at this
        account (never one it knows): a right password from a client with none always gets through."""
        return (account, client) not in self._known and self._pairs.count((account, client)) > 0

    def reserve(self, account: str, client: str) -> Reservation | None:
        """Count an attempt as a failure before it is checked, or None when it must wait (``retry_after``).

        Synchronous on purpose: between the check and the count no other request can run.
        """
        if self.retry_after(account, client) is not None:
            return None
        key = client_key(client)
        now = self._pairs.clock()
        # A full account-wide log is not pushed on: the attempt would evict an older failure, and its
        # release (a right password) would then lower the count that others' guesses built.
        counted = self._accounts.count(account) < self._accounts.limit
        reservation = Reservation(account, key, now, counted)
        self._record(reservation)
        return reservation

    def _record(self, attempt: Reservation) -> None:
        self._pairs.record((attempt.account, attempt.client), attempt.at)
        self._clients.record(attempt.client, attempt.at)
        if attempt.account_counted:
            self._accounts.record(attempt.account, attempt.at)

    def release(self, reservation: Reservation) -> None:
        """The attempt was not a failed guess after all (it succeeded, or the check itself failed)."""
        self._pairs.forget((reservation.account, reservation.client), reservation.at)
        self._clients.forget(reservation.client, reservation.at)
        if reservation.account_counted:
            self._accounts.forget(reservation.account, reservation.at)

    def record_failure(self, account: str, client: str) -> None:
        counted = self._accounts.count(account) < self._accounts.limit
        self._record(Reservation(account, client_key(client), self._pairs.clock(), counted))

    def record_success(self, account: str, client: str) -> None:
        """A right password: the pair's failures are forgiven and its client is known to the account.

        The account-wide count is left alone: logging in does not reset what others are trying.
        """
        client = client_key(client)
        self._pairs.clear((account, client))
        self._known.add(account, client)
