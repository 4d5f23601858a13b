"""What a key is limited to beyond its scopes (SPEC §10): data sources, networks and a rate limit.

Each restriction is parsed here from what an administrator sends (allow-listed: anything else is a 400) and
kept in the key's record in a canonical form, so every replica reads the same thing:

- ``datasources``: data-source ids (``gateway.ids.DATASOURCE_ID``), sorted, without repeats; ``None`` is
  every data source.
- ``allowedNetworks``: CIDRs, IPv4 or IPv6, as ``ipaddress`` writes them; ``None`` is every address.
- ``rateLimit``: ``{"requests": N, "perSeconds": S}``, ``False`` for no limit, ``None`` for the deployment's
  default (``GATEWAY_KEY_RATE_LIMIT``). Stored as the text ``"N/S"``, ``"off"`` or nothing.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from gateway.errors import InvalidInput
from gateway.ids import DATASOURCE_ID

MAX_DATASOURCES = 1000
MAX_NETWORKS = 100
MAX_RATE_REQUESTS = 1_000_000
MAX_RATE_SECONDS = 86_400
# What a CIDR may be made of before ``ipaddress`` reads it: digits, hex letters, dots, colons, one slash.
_NETWORK_TEXT = re.compile(r"[0-9A-Fa-f.:]{2,45}(/[0-9]{1,3})?")
_STORED_RATE = re.compile(r"([0-9]{1,7})/([0-9]{1,5})")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` per ``per_seconds`` seconds (a token bucket of that size, refilled evenly)."""

    requests: int
    per_seconds: int

    def to_stored(self) -> str:
        return f"{self.requests}/{self.per_seconds}"

    def view(self) -> dict[str, int]:
        return {"requests": self.requests, "perSeconds": self.per_seconds}


OFF = "off"  # a stored rate limit meaning "no limit at all" (sent and shown as ``false``)
RateChoice = RateLimit | bool | None  # a limit, False for no limit, None for the deployment's default


@dataclass(frozen=True)
class KeyLimits:
    """A key's restrictions in their stored forms (see the module docstring); the defaults limit nothing."""

    datasources: tuple[str, ...] | None = None
    allowed_networks: tuple[str, ...] | None = None
    rate_limit: str | None = None


NO_LIMITS = KeyLimits()


def parse_limits(
    datasources: Iterable[str] | None = None,
    allowed_networks: Iterable[str] | None = None,
    rate_limit: Any = None,
) -> KeyLimits:
    """The stored forms of what an administrator sent; InvalidInput (400) for anything outside them."""
    return KeyLimits(
        parse_datasources(datasources), parse_networks(allowed_networks), parse_rate_limit(rate_limit)
    )


def parse_datasources(values: Iterable[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    ids = sorted({DATASOURCE_ID.check(value) for value in values})
    if not ids:
        raise InvalidInput("datasources may not be empty: leave it out (or null) for every data source")
    if len(ids) > MAX_DATASOURCES:
        raise InvalidInput(f"datasources may name at most {MAX_DATASOURCES} data sources")
    return tuple(ids)


def parse_network(text: str) -> Network:
    """One CIDR (``10.1.0.0/16``, ``2001:db8::/32``) or a single address; host bits must be zero."""
    value = text.strip()
    if not _NETWORK_TEXT.fullmatch(value):
        raise InvalidInput(f"allowedNetworks: {value[:64]!r} is not an IPv4 or IPv6 address or CIDR")
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise InvalidInput(f"allowedNetworks: {value!r} is not a network ({exc})") from None


def parse_networks(values: Iterable[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    networks = sorted({parse_network(value) for value in values}, key=lambda n: (n.version, n))
    if not networks:
        raise InvalidInput("allowedNetworks may not be empty: leave it out (or null) for every address")
    if len(networks) > MAX_NETWORKS:
        raise InvalidInput(f"allowedNetworks may hold at most {MAX_NETWORKS} networks")
    return tuple(str(network) for network in networks)


def parse_rate_limit(value: Any) -> str | None:
    """What is stored for a sent ``rateLimit``: ``"N/S"``, ``"off"`` (sent ``false``), or None (default)."""
    if value is None:
        return None
    if value is False:
        return OFF
    if isinstance(value, RateLimit):
        return check_rate(value.requests, value.per_seconds).to_stored()
    raise InvalidInput('rateLimit is {"requests": N, "perSeconds": S}, false (no limit) or null (default)')


def check_rate(requests: int, per_seconds: int) -> RateLimit:
    if not 1 <= requests <= MAX_RATE_REQUESTS:
        raise InvalidInput(f"rateLimit.requests must be 1 to {MAX_RATE_REQUESTS}")
    if not 1 <= per_seconds <= MAX_RATE_SECONDS:
        raise InvalidInput(f"rateLimit.perSeconds must be 1 to {MAX_RATE_SECONDS}")
    return RateLimit(requests, per_seconds)


def stored_rate(stored: str | None) -> RateChoice:
    """A stored rate limit read back: a RateLimit, False (off) or None (the default)."""
    if stored is None:
        return None
    if stored == OFF:
        return False
    match = _STORED_RATE.fullmatch(stored)
    if match is None:  # never written by the gateway: the safe reading is the deployment's default
        return None
    return RateLimit(int(match[1]), int(match[2]))


def rate_view(stored: str | None) -> dict[str, int] | bool | None:
    choice = stored_rate(stored)
    return choice.view() if isinstance(choice, RateLimit) else choice


@dataclass(frozen=True)
class NetworkList:
    """A key's allowed networks, parsed once per record (the check runs on every call of the key)."""

    cidrs: tuple[str, ...]

    @cached_property
    def networks(self) -> tuple[Network, ...]:
        return tuple(ipaddress.ip_network(cidr) for cidr in self.cidrs)

    def allows(self, address: str | None) -> bool:
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == network.version and ip in network for network in self.networks)


@lru_cache(maxsize=4096)
def networks_of(cidrs: tuple[str, ...]) -> NetworkList:
    return NetworkList(cidrs)
