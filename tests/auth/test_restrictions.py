"""Parsing what a key is limited to: data sources, networks and rate limits (pure functions)."""

from __future__ import annotations

import pytest

from gateway.auth.restrictions import (
    OFF,
    NetworkList,
    RateLimit,
    parse_datasources,
    parse_limits,
    parse_networks,
    parse_rate_limit,
    rate_view,
    stored_rate,
)
from gateway.errors import InvalidInput


def test_datasources_are_sorted_without_repeats_and_checked_against_the_id_grammar() -> None:
    assert parse_datasources(["b", "a", "b"]) == ("a", "b")
    assert parse_datasources(None) is None
    for bad in [[], [".."], ["a/b"], ["x" * 257]]:
        with pytest.raises(InvalidInput):
            parse_datasources(bad)


def test_networks_are_canonical_cidrs_of_either_family() -> None:
    assert parse_networks(["10.0.0.0/8", "2001:DB8::/32", "192.0.2.7"]) == (
        "10.0.0.0/8",
        "192.0.2.7/32",
        "2001:db8::/32",
    )
    assert parse_networks(None) is None


@pytest.mark.parametrize(
    "bad", ["10.0.0.1/8", "10.0.0.0/33", "example.com", "10.0.0.0/8 ", "10.0.0.0/8\n1.1.1.1", "", "::g/64"]
)
def test_anything_but_an_address_or_cidr_with_zero_host_bits_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_networks([bad] if bad != "10.0.0.0/8 " else ["10.0.0.0/8 x"])


def test_a_network_list_matches_addresses_of_its_family_and_mapped_ipv4() -> None:
    allowed = NetworkList(("10.1.0.0/16", "2001:db8::/32"))
    assert allowed.allows("10.1.2.3")
    assert allowed.allows("::ffff:10.1.2.3")
    assert allowed.allows("2001:db8::1")
    assert not allowed.allows("10.2.0.1")
    assert not allowed.allows("127.0.0.1")
    assert not allowed.allows(None)
    assert not allowed.allows("not-an-address")


def test_rate_limits_are_stored_as_text_and_shown_as_sent() -> None:
    assert parse_rate_limit(RateLimit(600, 60)) == "600/60"
    assert parse_rate_limit(False) == OFF
    assert parse_rate_limit(None) is None
    assert stored_rate("600/60") == RateLimit(600, 60)
    assert rate_view("600/60") == {"requests": 600, "perSeconds": 60}
    assert rate_view(OFF) is False
    assert rate_view(None) is None
    with pytest.raises(InvalidInput):
        parse_rate_limit(RateLimit(0, 60))
    with pytest.raises(InvalidInput):
        parse_rate_limit(True)


def test_no_limits_is_the_default() -> None:
    limits = parse_limits()
    assert (limits.datasources, limits.allowed_networks, limits.rate_limit) == (None, None, None)
