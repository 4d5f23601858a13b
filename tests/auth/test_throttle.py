"""Login throttling: bounded guessing per (account, client), per client and per account, and no lock of an
account that others can cause (clock injected)."""

from __future__ import annotations

import pytest

from gateway.auth.throttle import KNOWN_CLIENT_SECONDS, LoginThrottle, client_key
from tests.helpers import ManualClock

WINDOW = 300
PAIR, CLIENT, ACCOUNT = 5, 20, 100  # the defaults (GATEWAY_LOGIN_MAX_FAILURES_*)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def throttle(clock: ManualClock) -> LoginThrottle:
    return LoginThrottle(PAIR, CLIENT, ACCOUNT, WINDOW, clock=clock)


def guesses(throttle: LoginThrottle, account: str, client: str, tries: int = 1000) -> int:
    """How many failed guesses the throttle lets through before it refuses the next one."""
    for allowed in range(tries):
        if throttle.reserve(account, client) is None:
            return allowed
    return tries


def log_in(throttle: LoginThrottle, account: str, client: str) -> None:
    """A successful login, as ``Authenticator.login`` reports it."""
    reservation = throttle.reserve(account, client)
    assert reservation is not None
    throttle.release(reservation)
    throttle.record_success(account, client)


def test_one_client_gets_5_guesses_at_an_account_and_20_in_all_per_window(throttle: LoginThrottle) -> None:
    assert guesses(throttle, "bob", "198.51.100.7") == PAIR
    assert throttle.retry_after("bob", "198.51.100.7") == WINDOW
    spread = sum(guesses(throttle, f"user{i}", "198.51.100.7") for i in range(10))
    assert PAIR + spread == CLIENT  # then every account is refused to that client
    assert throttle.retry_after("someone-else", "198.51.100.7") is not None


def test_many_clients_together_get_100_guesses_then_one_per_new_client_per_window(
    throttle: LoginThrottle,
) -> None:
    total = sum(guesses(throttle, "bob", f"10.0.0.{i}") for i in range(ACCOUNT // PAIR))
    assert total == ACCOUNT  # 20 clients, 5 guesses each: the account-wide limit is reached
    assert throttle.retry_after("bob", "10.0.0.1") == WINDOW
    # from now on a client new to the account gets one guess, then waits for the window: a slow-down
    later = [guesses(throttle, "bob", f"10.0.1.{i}") for i in range(200)]
    assert later == [1] * 200
    assert throttle.retry_after("bob", "10.0.1.7") == WINDOW
    assert throttle.retry_after("bob", "192.0.2.1") is None  # and a right password from a fresh client


def test_failures_from_one_client_do_not_stop_the_right_password_from_another(
    throttle: LoginThrottle,
) -> None:
    assert guesses(throttle, "bob", "203.0.113.66") == PAIR  # the attacker is refused...
    assert throttle.retry_after("bob", "198.51.100.7") is None  # ...the administrator is not
    log_in(throttle, "bob", "198.51.100.7")
    for attacker in range(2, 19):  # 17 more attackers: 90 failures in all, under the account-wide limit
        guesses(throttle, "bob", f"203.0.113.{attacker}")
    assert throttle.retry_after("bob", "192.0.2.50") is None  # a new client with no failures gets through


def test_a_client_that_logged_in_before_gets_through_an_attack_at_the_account_limit(
    throttle: LoginThrottle, clock: ManualClock
) -> None:
    log_in(throttle, "bob", "198.51.100.7")  # the administrator's usual client
    clock.advance(3600)
    for attacker in range(40):
        guesses(throttle, "bob", f"203.0.113.{attacker}")
    throttle.record_failure("bob", "192.0.2.50")
    assert throttle.retry_after("bob", "192.0.2.50") is not None  # a stranger with a failure is refused...
    throttle.record_failure("bob", "198.51.100.7")  # ...the known client is not, even after a typo
    assert throttle.reserve("bob", "198.51.100.7") is not None
    clock.advance(KNOWN_CLIENT_SECONDS)
    assert throttle.retry_after("bob", "198.51.100.7") is None  # the attack's failures have left the window
    for attacker in range(40, 80):
        guesses(throttle, "bob", f"203.0.113.{attacker}")
    throttle.record_failure("bob", "198.51.100.7")
    assert throttle.retry_after("bob", "198.51.100.7") is not None  # a month later it is a stranger again


def test_logins_at_the_account_limit_do_not_lower_the_account_count(throttle: LoginThrottle) -> None:
    log_in(throttle, "bob", "198.51.100.7")
    assert sum(guesses(throttle, "bob", f"10.0.0.{i}") for i in range(ACCOUNT // PAIR)) == ACCOUNT
    for _ in range(10):  # the administrator logs in while the attack holds the limit
        log_in(throttle, "bob", "198.51.100.7")
    throttle.record_failure("bob", "10.0.2.1")
    assert throttle.retry_after("bob", "10.0.2.1") == WINDOW  # still refused: nothing was given back


def test_refusals_lift_when_the_failures_leave_the_window(
    throttle: LoginThrottle, clock: ManualClock
) -> None:
    for _ in range(PAIR):
        throttle.record_failure("bob", "10.0.0.1")
        clock.advance(1)
    # failures at t, t+1, ... t+4; now t+5: refused until the first one is 300 s old
    assert throttle.retry_after("bob", "10.0.0.1") == WINDOW - PAIR
    clock.advance(WINDOW - PAIR - 1)
    assert throttle.retry_after("bob", "10.0.0.1") == 1
    clock.advance(1)
    assert throttle.retry_after("bob", "10.0.0.1") is None


def test_a_success_forgives_its_own_failures_but_not_the_accounts(throttle: LoginThrottle) -> None:
    for _ in range(PAIR - 1):
        throttle.record_failure("bob", "10.0.0.1")  # mistyped four times
    log_in(throttle, "bob", "10.0.0.1")
    assert guesses(throttle, "bob", "10.0.0.1") == PAIR
    # 9 failures counted against the account: a login does not reset what others are trying
    spread = [guesses(throttle, "bob", f"10.0.1.{i}") for i in range(19)]
    assert sum(spread) == ACCOUNT - 2 * PAIR + 1 and spread[-1] == 1  # the 19th reaches the limit


def test_reservations_count_at_once_and_released_ones_do_not(throttle: LoginThrottle) -> None:
    held = [throttle.reserve("bob", "x") for _ in range(PAIR)]
    assert all(held)
    assert throttle.reserve("bob", "x") is None  # attempts in flight already fill the limit
    first = held[0]
    assert first is not None
    throttle.release(first)
    assert throttle.reserve("bob", "x") is not None


def test_an_ipv6_client_is_counted_by_its_64(throttle: LoginThrottle) -> None:
    rotated = [f"2001:db8:1:2::{i:x}" for i in range(50)]
    assert sum(guesses(throttle, "bob", address, tries=1) for address in rotated) == PAIR
    assert throttle.retry_after("bob", "2001:db8:1:3::1") is None  # the next /64 is another client


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("testclient", "testclient"),
    ],
)
def test_client_keys(address: str, key: str) -> None:
    assert client_key(address) == key
