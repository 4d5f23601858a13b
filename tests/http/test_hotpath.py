"""The search answered in the HTTP protocol (gateway/http/hotpath.py) answers exactly as the app's route.

A running gateway answers ``POST /jas/datasource/search`` below ASGI once the key's record is cached; the
same request with a query string (``?``) is not on that path and goes through the app. Each case is sent
both ways over a real socket, and the answers must be the same: status, headers (but ``date``) and body
(but Elasticsearch's ``took``).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from gateway.app import create_app
from gateway.http.hotpath import SearchExchange, SearchProtocol
from gateway.settings import Settings
from tests.helpers import (
    DOCUMENTED_SEARCH,
    HTTP_TIMEOUT,
    TEST_TENANT_ID,
    GatewayProcess,
    eventually,
    replica_env,
)

SOCKET_TIMEOUT = 60  # bounds a hang only


@pytest.fixture(scope="module")
def gateway(es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    process = GatewayProcess(es_url, tmp_path_factory.mktemp("hot") / "gateway", replica_env())
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def _key(gateway: GatewayProcess, **fields: Any) -> str:
    body = {"name": "hot path", "description": "", "expiration": "2099-01-02", **fields}
    answer = httpx.post(
        f"{gateway.url}/api/admin/createApiToken", json=body, headers=gateway.admin_headers(), timeout=30
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def _exchange(port: int, request: bytes) -> bytes:
    """One request on a new connection, and its answer (read up to its Content-Length)."""
    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received or len(received) < _answer_length(received):
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {received!r}"
            received += chunk
    return received


def _answer_length(received: bytes) -> int:
    head, _, _ = received.partition(b"\r\n\r\n")
    length = re.search(rb"\r\ncontent-length: (\d+)", head, re.IGNORECASE)
    assert length is not None, head
    return len(head) + 4 + int(length.group(1))


def _request(target: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = f"POST {target} HTTP/1.1\r\nHost: gateway\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    if "content-length" not in headers and "transfer-encoding" not in headers:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def _comparable(answer: bytes) -> tuple[bytes, list[bytes], Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *fields = head.split(b"\r\n")
    fields = [field for field in fields if not field.lower().startswith(b"date:")]
    fields = [re.sub(rb"^content-length: \d+$", b"content-length: N", field) for field in fields]
    decoded = json.loads(body)
    if isinstance(decoded, dict):
        decoded.pop("took", None)
    return status, fields, decoded


SEARCH = json.dumps(DOCUMENTED_SEARCH).encode()


def _both_ways(gateway: GatewayProcess, body: bytes, headers: dict[str, str]) -> tuple[Any, Any]:
    hot = _comparable(_exchange(gateway.port, _request("/jas/datasource/search", body, headers)))
    app = _comparable(_exchange(gateway.port, _request("/jas/datasource/search?", body, headers)))
    return hot, app


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("documented search", b"200"),
        ("a construct the grammar refuses", b"400"),
        ("not JSON", b"400"),
        ("a body Elasticsearch rejects", b"400"),
        ("a declared body over the limit", b"413"),
        ("a chunked body over the limit", b"413"),
        ("another tenant", b"401"),
        ("no search scope", b"403"),
        ("no key", b"401"),
    ],
)
def test_the_protocol_answers_a_search_exactly_as_the_app_does(
    gateway: GatewayProcess, case: str, status: bytes
) -> None:
    key = _key(gateway, scopes=["write"]) if case == "no search scope" else _key(gateway)
    headers = {"content-type": "application/json", "authorization": key, "x-tenant-id": TEST_TENANT_ID}
    body = SEARCH
    assert gateway.search(key) in (200, 403)  # the key's record is now cached: the protocol answers
    if case == "a construct the grammar refuses":
        body = json.dumps({"query": {"profile": True}}).encode()
    elif case == "not JSON":
        body = b'{"query": '
    elif case == "a body Elasticsearch rejects":  # sorting on a text field: the grammar lets it through
        body = json.dumps({"query": {"sort": [{"name": "asc"}]}}).encode()
    elif case == "a declared body over the limit":
        headers["content-length"] = str(10**9)
        body = b""
    elif case == "another tenant":
        headers["x-tenant-id"] = "00000000-0000-0000-0000-000000000000"
    elif case == "no key":
        del headers["authorization"]
    elif case == "a chunked body over the limit":
        headers["transfer-encoding"] = "chunked"
        chunk = b"x" * 65536
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8)) + b"0\r\n\r\n"
    hot, app = _both_ways(gateway, body, headers)
    assert hot[0].startswith(b"HTTP/1.1 " + status), hot
    assert hot == app


def test_a_rate_limited_key_gets_the_same_fields_and_refusal_from_the_protocol(
    gateway: GatewayProcess,
) -> None:
    key = _key(gateway, rateLimit={"requests": 3, "perSeconds": 3600})
    headers = {"content-type": "application/json", "authorization": key, "x-tenant-id": TEST_TENANT_ID}
    first = _comparable(_exchange(gateway.port, _request("/jas/datasource/search?", SEARCH, headers)))
    second = _comparable(_exchange(gateway.port, _request("/jas/datasource/search", SEARCH, headers)))
    assert b";r=2;" in _field(first, b"ratelimit") and b";r=1;" in _field(second, b"ratelimit")
    assert _field(first, b"ratelimit-policy") == _field(second, b"ratelimit-policy") == b'"key";q=3;w=3600'
    assert [f for f in first[1] if not f.lower().startswith(b"ratelimit:")] == [
        f for f in second[1] if not f.lower().startswith(b"ratelimit:")
    ]
    assert _comparable(_exchange(gateway.port, _request("/jas/datasource/search", SEARCH, headers)))[0] == (
        b"HTTP/1.1 200 OK"
    )
    hot, app = _both_ways(gateway, SEARCH, headers)  # the 4th and 5th requests: both refused
    assert hot[0] == app[0] == b"HTTP/1.1 429 Too Many Requests"
    assert [name for name, _, _ in (f.partition(b":") for f in hot[1])] == [
        name for name, _, _ in (f.partition(b":") for f in app[1])
    ]
    assert hot[2]["error"]["code"] == app[2]["error"]["code"]


def _field(answer: tuple[bytes, list[bytes], Any], name: bytes) -> bytes:
    values = [f.partition(b":")[2].strip() for f in answer[1] if f.partition(b":")[0].lower() == name]
    assert len(values) == 1, answer
    return values[0]


def test_searches_answered_by_the_protocol_are_counted_and_logged(gateway: GatewayProcess) -> None:
    key = _key(gateway)

    def served() -> float:
        text = httpx.get(f"{gateway.url}/metrics", timeout=HTTP_TIMEOUT).text
        pattern = (
            r'gateway_http_requests_total\{method="POST",route="/jas/datasource/search",status="200"\} (\S+)'
        )
        match = re.search(pattern, text)
        return float(match.group(1)) if match else 0.0

    before = served()
    logged_before = _access_lines(gateway.log)
    for _ in range(5):
        assert gateway.search(key) == 200
    assert served() == before + 5
    eventually(
        lambda: _access_lines(gateway.log) >= logged_before + 5,
        "five access-log lines for the searches",
    )


def _access_lines(log: Path) -> int:
    return sum('"POST /jas/datasource/search" 200' in line for line in log.read_text().splitlines())


class RecordingTransport:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False
        self.answered = asyncio.Event()  # both paths write an answer in one write

    def write(self, data: bytes) -> None:
        self.written += data
        self.answered.set()

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8443)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def test_a_search_with_a_cached_key_is_answered_without_an_asgi_task(settings: Settings) -> None:
    """The first search fetches the key's record through the app (an ASGI task); the next ones are
    answered by the protocol itself: no task, its exchange in place of uvicorn's request cycle."""

    async def scenario() -> None:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            keys = app.state.services.keys
            key = await keys.create(name="hot", description="", expiration="2099-01-02", creator="test")
            config = Config(app=app, log_config=None)
            config.load()
            state = ServerState()
            protocol = SearchProtocol.serving(app, None)(config=config, server_state=state, app_state={})
            transport = RecordingTransport()
            protocol.connection_made(transport)  # type: ignore[arg-type]
            headers = {
                "content-type": "application/json",
                "authorization": key,
                "x-tenant-id": TEST_TENANT_ID,
            }
            request = _request("/jas/datasource/search", SEARCH, headers)
            for through_the_app in (True, False, False):
                transport.written = b""
                transport.answered.clear()
                protocol.data_received(request)
                assert (len(state.tasks) == 1) is through_the_app
                assert isinstance(cast(object, protocol.cycle), SearchExchange) is not through_the_app
                await asyncio.wait_for(transport.answered.wait(), HTTP_TIMEOUT)
                assert len(transport.written) == _answer_length(transport.written)
                assert transport.written.startswith(b"HTTP/1.1 200 OK\r\n")
            assert state.total_requests == 3

    asyncio.run(scenario())


def _search_on(sock: socket.socket, headers: dict[str, str]) -> bytes:
    """One search on an open keep-alive connection; its status line."""
    sock.sendall(_request("/jas/datasource/search", SEARCH, headers))
    received = b""
    while b"\r\n\r\n" not in received or len(received) < _answer_length(received):
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {received!r}"
        received += chunk
    return received.split(b"\r\n", 1)[0]


def test_a_key_revoked_while_a_connection_uses_it_is_refused_on_that_connection(
    gateway: GatewayProcess,
) -> None:
    # On one connection the protocol rechecks a repeated key without looking it up again: a revocation
    # must still reach it, as it reaches every new connection.
    key = _key(gateway)
    headers = {"content-type": "application/json", "authorization": key, "x-tenant-id": TEST_TENANT_ID}
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=SOCKET_TIMEOUT) as sock:
        for _ in range(3):  # the first through the app (the record is fetched), then the protocol
            assert _search_on(sock, headers) == b"HTTP/1.1 200 OK"
        revoked = httpx.post(
            f"{gateway.url}/api/admin/revokeApiToken",
            json={"token": key},
            headers=gateway.admin_headers(),
            timeout=HTTP_TIMEOUT,
        )
        assert revoked.status_code == 200, revoked.text
        eventually(
            lambda: _search_on(sock, headers) == b"HTTP/1.1 401 Unauthorized",
            "the revoked key refused on the connection it was used on",
        )


def test_a_rate_limit_holds_for_requests_on_one_connection(gateway: GatewayProcess) -> None:
    key = _key(gateway, rateLimit={"requests": 3, "perSeconds": 3600})
    headers = {"content-type": "application/json", "authorization": key, "x-tenant-id": TEST_TENANT_ID}
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=SOCKET_TIMEOUT) as sock:
        statuses = [_search_on(sock, headers) for _ in range(5)]
    assert statuses == [b"HTTP/1.1 200 OK"] * 3 + [b"HTTP/1.1 429 Too Many Requests"] * 2


def test_another_key_on_the_same_connection_is_checked_as_itself(gateway: GatewayProcess) -> None:
    searcher, writer = _key(gateway), _key(gateway, scopes=["write"])
    base = {"content-type": "application/json", "x-tenant-id": TEST_TENANT_ID}
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=SOCKET_TIMEOUT) as sock:
        assert _search_on(sock, {**base, "authorization": writer}) == b"HTTP/1.1 403 Forbidden"
        assert _search_on(sock, {**base, "authorization": searcher}) == b"HTTP/1.1 200 OK"
        assert _search_on(sock, {**base, "authorization": searcher}) == b"HTTP/1.1 200 OK"
        assert _search_on(sock, {**base, "authorization": writer}) == b"HTTP/1.1 403 Forbidden"
        assert _search_on(sock, {**base, "authorization": searcher + "x"}) == b"HTTP/1.1 401 Unauthorized"
        other_tenant = {
            **base,
            "authorization": searcher,
            "x-tenant-id": "0" * 8 + "-0000-0000-0000-" + "0" * 12,
        }
        assert _search_on(sock, other_tenant) == b"HTTP/1.1 401 Unauthorized"
        assert _search_on(sock, {**base, "authorization": searcher}) == b"HTTP/1.1 200 OK"
