"""Keys limited to networks (SPEC §10), on real gateway processes: the caller's address is the peer's, or the
one a trusted proxy names in X-Forwarded-For (GATEWAY_TRUSTED_PROXIES), never one an untrusted peer names.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from tests.helpers import (
    DOCUMENTED_SEARCH,
    HTTP_TIMEOUT,
    TEST_TENANT_ID,
    GatewayProcess,
    replica_env,
)

ALLOWED = ["203.0.113.0/24", "2001:db8::/32"]


@pytest.fixture
def gateways(
    es: Elasticsearch, es_url: str, tmp_path: Path
) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    """Two replicas of one deployment: ``direct`` believes no proxy, ``proxied`` believes 127.0.0.1."""
    shared = replica_env()
    direct = GatewayProcess(es_url, tmp_path / "direct", shared)
    proxied = GatewayProcess(es_url, tmp_path / "proxied", {**shared, "GATEWAY_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        direct.wait_ready()
        proxied.wait_ready()
        yield direct, proxied
    finally:
        direct.stop()
        proxied.stop()


def create_key(gateway: GatewayProcess, **fields: Any) -> str:
    body = {"name": "Ingest Key", "description": "networks", "expiration": "2099-01-02", **fields}
    answer = httpx.post(
        f"{gateway.url}/api/admin/createApiToken",
        json=body,
        headers=gateway.admin_headers(),
        timeout=HTTP_TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    key: str = answer.json()["token"]
    return key


def search(gateway: GatewayProcess, key: str, forwarded_for: str | None = None) -> httpx.Response:
    headers = {"authorization": key, "x-tenant-id": TEST_TENANT_ID}
    if forwarded_for is not None:
        headers["x-forwarded-for"] = forwarded_for
    return httpx.post(
        f"{gateway.url}/jas/datasource/search", json=DOCUMENTED_SEARCH, headers=headers, timeout=HTTP_TIMEOUT
    )


def test_a_network_limited_key_is_refused_from_elsewhere_and_accepted_through_a_trusted_proxy(
    gateways: tuple[GatewayProcess, GatewayProcess],
) -> None:
    direct, proxied = gateways
    key = create_key(direct, allowedNetworks=ALLOWED)

    refused = search(direct, key)  # from 127.0.0.1, outside the key's networks
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "forbidden"
    assert "may not be used from 127.0.0.1" in error["message"]
    # An untrusted peer naming an allowed address is not believed.
    assert search(direct, key, "203.0.113.7").status_code == 403
    assert search(direct, key, "2001:db8::5").status_code == 403

    # Through the trusted proxy, the address it names is the caller's: IPv4 and IPv6.
    assert search(proxied, key, "203.0.113.7").status_code == 200
    assert search(proxied, key, "2001:db8:1::5").status_code == 200
    assert search(proxied, key, "198.51.100.7").status_code == 403
    assert search(proxied, key, "2001:db9::5").status_code == 403
    assert search(proxied, key).status_code == 403  # the proxy itself is not an allowed network
    # Another route of the key's, through the proxy too.
    listed = httpx.get(
        f"{proxied.url}/api/ingest/datasources",
        headers={"x-api-key": key, "x-forwarded-for": "203.0.113.9"},
        timeout=HTTP_TIMEOUT,
    )
    assert listed.status_code == 200, listed.text


def test_a_key_limited_to_loopback_works_directly(gateways: tuple[GatewayProcess, GatewayProcess]) -> None:
    direct, _ = gateways
    key = create_key(direct, allowedNetworks=["127.0.0.0/8", "::1/128"])
    assert search(direct, key).status_code == 200
    unlimited = create_key(direct, name="Everywhere")
    assert search(direct, unlimited, "198.51.100.7").status_code == 200
