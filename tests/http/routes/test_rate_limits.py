"""Per-key rate limits over HTTP (SPEC §10): 429 with Retry-After and the draft's RateLimit fields, on an
injected clock (moved, never slept on)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import Settings
from tests.helpers import TEST_TENANT_ID, FrozenClock, bearer, create_key, login, make_settings, search

FIVE_A_MINUTE = {"requests": 5, "perSeconds": 60}


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock()


def app_client(settings: Settings, clock: FrozenClock) -> TestClient:
    return TestClient(create_app(settings, clock=clock), raise_server_exceptions=False)


@pytest.fixture
def limited(settings: Settings, frozen: FrozenClock) -> Iterator[TestClient]:
    with app_client(settings, frozen) as client:
        yield client


def peer(client: TestClient, address: str) -> TestClient:
    """A client of the same running app (its event loop, its services) from another address."""
    other = TestClient(client.app, client=(address, 50000))
    other.portal = client.portal
    return other


def key_headers(key: str) -> dict[str, str]:
    return {"authorization": key, "x-tenant-id": TEST_TENANT_ID}


def test_the_sixth_request_of_a_five_a_minute_key_is_429_then_accepted_after_retry_after(
    limited: TestClient, frozen: FrozenClock
) -> None:
    key = create_key(limited, login(limited), rateLimit=FIVE_A_MINUTE)
    answers = [search(limited, key_headers(key)) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.headers["RateLimit"] for a in answers] == [f'"key";r={n};t=12' for n in (4, 3, 2, 1, 0)]
    assert {a.headers["RateLimit-Policy"] for a in answers} == {'"key";q=5;w=60'}

    refused = search(limited, key_headers(key))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert refused.headers["Retry-After"] == "12"
    assert refused.headers["RateLimit-Policy"] == '"key";q=5;w=60'
    assert refused.headers["RateLimit"] == '"key";r=0;t=12'

    frozen.advance(int(refused.headers["Retry-After"]))
    again = search(limited, key_headers(key))
    assert again.status_code == 200
    assert again.headers["RateLimit"] == '"key";r=0;t=12'


def test_fastapi_routes_count_and_say_so_too(limited: TestClient) -> None:
    key = create_key(limited, login(limited), rateLimit={"requests": 2, "perSeconds": 60})
    first = limited.get("/api/ingest/datasources", headers=key_headers(key))
    assert first.status_code == 200
    assert first.headers["RateLimit"] == '"key";r=1;t=30'
    assert first.headers["RateLimit-Policy"] == '"key";q=2;w=60'
    assert search(limited, key_headers(key)).headers["RateLimit"] == '"key";r=0;t=30'
    refused = limited.post("/api/ingest/mappings", headers=key_headers(key))
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "30"
    assert refused.headers["RateLimit"] == '"key";r=0;t=30'


def test_limits_are_per_key_not_per_address(limited: TestClient) -> None:
    token = login(limited)
    one = create_key(limited, token, name="one", rateLimit={"requests": 1, "perSeconds": 60})
    two = create_key(limited, token, name="two", rateLimit={"requests": 1, "perSeconds": 60})
    assert search(limited, key_headers(one)).status_code == 200
    assert search(limited, key_headers(one)).status_code == 429
    assert search(limited, key_headers(two)).status_code == 200  # same client address, another key
    # The same key from another address (the test client's peer changes) is still over its limit.
    assert search(peer(limited, "192.0.2.10"), key_headers(one)).status_code == 429


def test_a_rotated_key_and_its_successor_share_one_limit_during_the_overlap(limited: TestClient) -> None:
    token = login(limited)
    old = create_key(limited, token, rateLimit={"requests": 4, "perSeconds": 60})
    assert search(limited, key_headers(old)).status_code == 200
    rotated = limited.post(
        "/api/admin/rotateApiToken", json={"token": old, "overlapHours": 1}, headers=bearer(token)
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["token"]
    answers = [search(limited, key_headers(k)).status_code for k in (old, new, old, new, old)]
    assert answers == [200, 200, 200, 200, 429]  # the limit of 4, once, for both keys


def test_unlimited_keys_and_admins_carry_no_fields(limited: TestClient) -> None:
    token = login(limited)
    key = create_key(limited, token)
    answers: list[Any] = [search(limited, key_headers(key)) for _ in range(20)]
    answers.append(search(limited, bearer(token)))
    assert all(a.status_code == 200 and "RateLimit" not in a.headers for a in answers)


def test_the_configured_default_applies_to_keys_without_their_own(
    settings: Settings, frozen: FrozenClock
) -> None:
    with_default = make_settings(**{**settings.model_dump(), "key_rate_limit": "2/10"})
    with app_client(with_default, frozen) as client:
        token = login(client)
        default = create_key(client, token, name="default")
        own = create_key(client, token, name="own", rateLimit={"requests": 3, "perSeconds": 10})
        off = create_key(client, token, name="off", rateLimit=False)
        assert [search(client, key_headers(default)).status_code for _ in range(3)] == [200, 200, 429]
        assert [search(client, key_headers(own)).status_code for _ in range(4)] == [200, 200, 200, 429]
        off_answers = [search(client, key_headers(off)) for _ in range(10)]
        assert {a.status_code for a in off_answers} == {200}
        assert not any("RateLimit" in a.headers for a in off_answers)
        assert search(client, bearer(token)).status_code == 200  # admins are never limited


def test_allowed_networks_are_checked_on_every_key_route_ipv4_and_ipv6(limited: TestClient) -> None:
    key = create_key(limited, login(limited), allowedNetworks=["203.0.113.0/24", "2001:db8::/32"])

    for address in ("203.0.113.7", "2001:db8::7", "::ffff:203.0.113.8"):
        assert search(peer(limited, address), key_headers(key)).status_code == 200, address
    for address in ("203.0.114.7", "2001:db9::7", "testclient"):
        refused = search(peer(limited, address), key_headers(key))
        assert refused.status_code == 403, address
        assert refused.json()["error"]["code"] == "forbidden"
    outside = peer(limited, "198.51.100.1")
    assert outside.get("/api/ingest/datasources", headers=key_headers(key)).status_code == 403
    start = outside.post(
        "/api/ingest/sync/2d7a6a76-469c-4035-b312-fb1daf104e98/start", headers=key_headers(key), json={}
    )
    assert start.status_code == 403


def test_calls_from_outside_a_keys_networks_do_not_use_up_its_rate_limit(limited: TestClient) -> None:
    key = create_key(
        limited,
        login(limited),
        allowedNetworks=["203.0.113.0/24"],
        rateLimit={"requests": 1, "perSeconds": 60},
    )
    outsider = peer(limited, "198.51.100.1")  # someone who copied the key, elsewhere
    assert {search(outsider, key_headers(key)).status_code for _ in range(5)} == {403}
    assert search(peer(limited, "203.0.113.7"), key_headers(key)).status_code == 200  # the job's one call
