"""Slow clients cannot hold connections: head and body deadlines (408) and the connection cap, over TLS.

Against a real ``gateway serve`` with short deadlines, while a legitimate client keeps searching. The tests
wait for events (an answer, a close), never for a duration: the socket timeout only bounds a hang.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.helpers import HTTP_TIMEOUT, GatewayProcess, eventually, replica_env
from tests.http.raw import (
    SOCKET_TIMEOUT,
    TARGETS,
    Connection,
    Response,
    Target,
    refused_and_closed,
    request,
)

SLOW_CLIENTS = 20
TRICKLE_EVERY = 0.3  # seconds between two bytes of a slow sender: its pace, not a measure
DEADLINE = 2  # GATEWAY_HEADER_TIMEOUT and GATEWAY_BODY_TIMEOUT of the gateway below


@pytest.fixture(scope="module")
def gateway(es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    env = {"GATEWAY_HEADER_TIMEOUT": str(DEADLINE), "GATEWAY_BODY_TIMEOUT": str(DEADLINE)}
    process = GatewayProcess(
        es_url, tmp_path_factory.mktemp("slow") / "state", replica_env(), tls=True, env=env
    )
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def key(gateway: GatewayProcess) -> str:
    return gateway.create_api_key()


@pytest.fixture(params=TARGETS, ids=lambda target: target.name)
def target(request: pytest.FixtureRequest) -> Target:
    result: Target = request.param
    return result


def _trickle(gateway: GatewayProcess, first: bytes, trickle: bytes) -> Response:
    """Send ``first``, then ``trickle`` one byte at a time, until the server answers; its answer."""
    with Connection(gateway) as connection:
        connection.send(first)
        for byte in trickle:
            if connection.readable(wait=TRICKLE_EVERY):
                break
            connection.send(bytes([byte]))
        return refused_and_closed(connection, 408)


def _while_searching(gateway: GatewayProcess, key: str, first: bytes, trickle: bytes) -> list[int]:
    """Run the slow senders while a legitimate client searches; its statuses, once all were answered."""
    statuses: list[int] = []
    with ThreadPoolExecutor(SLOW_CLIENTS) as pool:
        slow = [pool.submit(_trickle, gateway, first, trickle) for _ in range(SLOW_CLIENTS)]
        while not all(future.done() for future in slow):
            statuses.append(gateway.search(key))
        answers = [future.result() for future in slow]
    assert {answer.json()["error"]["code"] for answer in answers} == {"request_timeout"}
    return statuses


def test_slow_heads_get_408_and_are_closed_while_searches_are_served(
    gateway: GatewayProcess, key: str, target: Target
) -> None:
    first = f"POST {target.path} HTTP/1.1\r\n".encode()
    trickle = b"x-slow: " + b"a" * 1000  # far longer than the deadline lets through
    statuses = _while_searching(gateway, key, first, trickle)
    assert statuses and set(statuses) == {200}


def _slow_body(target: Target, key: str) -> tuple[bytes, bytes]:
    """A request to ``target`` as its head (sent at once) and a body far longer than the deadline lets
    through (trickled)."""
    body = target.ok_body + b" " * 1000
    head = request("POST", target.path, {**target.headers(key), "content-type": "application/json"}, body)
    return head[: len(head) - len(body)], body


def test_slow_bodies_get_408_and_are_closed_while_searches_are_served(
    gateway: GatewayProcess, key: str, target: Target
) -> None:
    statuses = _while_searching(gateway, key, *_slow_body(target, key))
    assert statuses and set(statuses) == {200}


def test_a_refused_body_is_counted_as_a_400_and_logs_no_traceback(
    gateway: GatewayProcess, key: str, target: Target
) -> None:
    # The body deadline disconnects the request from the app or the search: that is the client's doing,
    # a 400 client_disconnected in the metrics, never a 500 with an error and a traceback in the log.
    _trickle(gateway, *_slow_body(target, key))

    def counted() -> dict[str, float]:
        text = httpx.get(f"{gateway.url}/metrics", verify=gateway.client_tls(), timeout=HTTP_TIMEOUT).text
        pattern = (
            rf'gateway_http_requests_total\{{method="POST",route="{target.path}",status="(\d+)"\}} (\S+)'
        )
        return {status: float(count) for status, count in re.findall(pattern, text)}

    eventually(lambda: counted().get("400", 0) >= 1, "the cut-short request counted as a 400")
    assert "500" not in counted()
    assert "Traceback" not in gateway.log.read_text()


def test_a_connection_that_sends_nothing_gets_408(gateway: GatewayProcess) -> None:
    with Connection(gateway) as connection:
        refused_and_closed(connection, 408)


def test_a_slow_second_request_on_a_kept_alive_connection_gets_408(
    gateway: GatewayProcess, key: str, target: Target
) -> None:
    ok = request("POST", target.path, target.headers(key), target.ok_body)
    with Connection(gateway) as connection:
        connection.send(ok)
        assert connection.response().status == 200
        connection.send(ok[:10])  # the next request's first bytes start its deadline
        refused_and_closed(connection, 408)


# --- the connection cap ----------------------------------------------------------------------------


@pytest.fixture
def capped(es_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    process = GatewayProcess(es_url, tmp_path / "state", {}, tls=True, env={"GATEWAY_MAX_CONNECTIONS": "5"})
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def _held(gateway: GatewayProcess) -> Connection:
    """A connection the server has counted (it answered on it), now holding a request head open."""
    connection = Connection(gateway)
    connection.send(request("GET", "/livez", {}))
    assert connection.response().status == 200
    connection.send(b"GET /livez HTTP/1.1\r\n")  # keeps it from the keep-alive timeout
    return connection


def _served(gateway: GatewayProcess) -> bool:
    try:
        with Connection(gateway) as connection:
            connection.send(request("GET", "/livez", {}))
            return connection.response().status == 200
    except (OSError, AssertionError):  # refused: closed at once
        return False


def test_past_the_connection_cap_new_connections_are_closed_at_once(capped: GatewayProcess) -> None:
    held = [_held(capped) for _ in range(5)]
    try:
        with Connection(capped) as extra:
            with contextlib.suppress(OSError):  # closed before the request went out (ssl.SSLError too)
                extra.send(request("GET", "/livez", {}))
            assert extra.closed(), f"answered past the cap: {extra.buffer!r}"  # EOF, no answer
        held.pop().sock.close()
        eventually(lambda: _served(capped), "a connection to be served once one closed")
    finally:
        for connection in held:
            connection.sock.close()


def test_a_tls_handshake_that_never_starts_is_closed(gateway: GatewayProcess) -> None:
    # Never counted by the connection cap (that starts after the handshake): the header deadline bounds it.
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=SOCKET_TIMEOUT) as sock:
        assert sock.recv(1) == b""  # closed by the gateway; the socket timeout only bounds a hang
