"""Every JSON body is read under its cap: a huge body is refused with 413 as soon as the cap is passed.

Tried as an attacker would: a real ``gateway serve`` on a socket, and a 64 MB body streamed in chunks
(no Content-Length to refuse up front) to every operation that declares a body, with credentials that
let the request reach its body. The 413 must arrive while the body is still being sent: the gateway
never held more than the cap.
"""

from __future__ import annotations

import asyncio
import secrets
import select
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from elasticsearch import Elasticsearch

from gateway.errors import TooLarge
from gateway.http.bodies import read_body, structure_count
from tests.helpers import ADMIN_PASSWORD, ADMIN_USER, TEST_TENANT_ID, GatewayProcess

BODY_BYTES = 64 * 1024 * 1024
CHUNK = b"[" + b" " * (256 * 1024 - 1)  # the JSON never completes: only the size can end it
SOCKET_TIMEOUT = 120.0  # a safety net against a hung server, not a measurement


@pytest.fixture(scope="module")
def gateway(
    es_session: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    shared = {
        "GATEWAY_JWT_SECRET": secrets.token_urlsafe(32),
        "GATEWAY_API_KEY_SECRET": secrets.token_urlsafe(32),
        "GATEWAY_ADMIN_USERNAME": ADMIN_USER,
        "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    process = GatewayProcess(es_url, Path(tmp_path_factory.mktemp("body-cap")) / "gateway", shared)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def _operations_with_a_body(url: str) -> list[tuple[str, str, bool]]:
    """(path, method, needs an admin token rather than an API key) of every operation with a body."""
    document = httpx.get(f"{url}/openapi.json").json()
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                security = operation.get("security") or []
                found.append((path.replace("{datasourceId}", "hr-jdbc"), method.upper(), len(security) == 1))
    return found


def stream(url: str, method: str, path: str, headers: dict[str, str]) -> tuple[int, int]:
    """Send up to BODY_BYTES, chunked, until the answer arrives: (status, body bytes sent by then)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=SOCKET_TIMEOUT) as sock:
        head = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/json"]
        head += ["Transfer-Encoding: chunked", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        sock.sendall("\r\n".join(head).encode())
        sent = 0
        while sent < BODY_BYTES and not select.select([sock], [], [], 0)[0]:
            sock.sendall(f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n")
            sent += len(CHUNK)
        status_line = sock.makefile("rb").readline().decode()
    return int(status_line.split()[1]), sent


def test_a_huge_body_to_any_operation_is_refused_without_being_read(gateway: GatewayProcess) -> None:
    admin = gateway.admin_headers()
    key = {"x-api-key": gateway.create_api_key(), "x-tenant-id": TEST_TENANT_ID}
    operations = _operations_with_a_body(gateway.url)
    assert ("/api/authentication/login", "POST", False) in operations  # unauthenticated, as in the report
    assert len(operations) >= 15
    for path, method, admin_only in operations:
        headers = {} if path.endswith("/login") else admin if admin_only else key
        status, sent = stream(gateway.url, method, path, headers)
        assert (path, status) == (path, 413)
        assert sent < BODY_BYTES, f"{path}: the answer came only after the whole body"


@pytest.mark.parametrize(
    ("declared", "refused"),
    [("²", False), ("12", False), (" 70000 ", True), ("9" * 5000, True), ("0" * 40 + "12", False)],
)
def test_a_content_length_is_read_as_ascii_digits_of_any_length(declared: str, refused: bool) -> None:
    """A Content-Length that is no ASCII number is ignored (the body itself is counted); one with more
    digits than the cap has is refused without converting it (int() of 5,000 digits raises)."""
    body = b"[1, 2]"

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def read() -> bytes:
        return await read_body(receive, declared, 65_536)

    if refused:
        with pytest.raises(TooLarge):
            asyncio.run(read())
    else:
        assert asyncio.run(read()) == body


def test_structure_count_bounds_the_values_a_body_decodes_to() -> None:
    body = b'{"a": [1, 2, {"b": null}], "c": "d"}'
    assert structure_count(body) == 9  # so at most 10 values: there are 7 (and 3 keys)
    assert structure_count(b'"x,y:[{"') == 4  # inside strings too: it may only overstate
    assert structure_count(b"") == 0
