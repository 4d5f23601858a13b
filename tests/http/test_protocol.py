"""The response-coalescing transport used under uvicorn."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from gateway.http.protocol import _CoalescingTransport
from tests.helpers import GatewayProcess


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def _wrap() -> tuple[_CoalescingTransport, RecordingTransport]:
    inner = RecordingTransport()
    return _CoalescingTransport(cast(asyncio.Transport, inner)), inner


def test_head_and_body_go_out_in_one_write() -> None:
    transport, inner = _wrap()
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert inner.writes == []
    transport.write(b"{}")
    assert inner.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    transport.write(b"HTTP/1.1 404 Not Found\r\n\r\n")
    transport.write(b"")
    assert inner.writes[1] == b"HTTP/1.1 404 Not Found\r\n\r\n"


def test_interim_responses_are_not_held() -> None:
    transport, inner = _wrap()
    transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert inner.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]


def test_a_held_head_is_written_before_close() -> None:
    transport, inner = _wrap()
    transport.write(b"HTTP/1.1 500 Internal Server Error\r\n\r\n")
    transport.close()
    assert inner.writes == [b"HTTP/1.1 500 Internal Server Error\r\n\r\n"]
    assert inner.closed and transport.is_closing()


@pytest.fixture
def gateway(es_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    process = GatewayProcess(es_url, tmp_path / "gateway", {})
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def test_head_requests_are_answered_at_once_and_the_connection_stays_usable(gateway: GatewayProcess) -> None:
    # uvicorn writes no body for HEAD, so a head held for the body used to be sent only when the connection
    # closed (at the keep-alive timeout). Answered at once, it arrives while the connection is still open:
    # the next request on the same connection is answered too.
    request = "{} {} HTTP/1.1\r\nHost: gateway\r\n\r\n"
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=SOCKET_TIMEOUT) as sock:
        for _ in range(2):
            sock.sendall(request.format("HEAD", "/health-check").encode())
            head = _read_responses(sock, 1, b"\r\n\r\n")
            assert not head.startswith(b"HTTP/1.1 5") and head.endswith(b"\r\n\r\n")  # a head, no body
            sock.sendall(request.format("GET", "/health-check").encode())
            answer = _read_responses(sock, 1, b'{"status":"ok"}')
            assert answer.startswith(b"HTTP/1.1 200")


SOCKET_TIMEOUT = 60  # bounds a hang only: each test waits for answers, never for a duration


def _read_responses(sock: socket.socket, count: int, last_body: bytes) -> bytes:
    received = b""
    while not (received.count(b"HTTP/1.1 ") >= count and received.endswith(last_body)):
        chunk = sock.recv(65536)  # the socket's timeout bounds a hang
        assert chunk, f"connection closed after {received!r}"
        received += chunk
    return received


def test_pipelined_requests_with_a_head_in_between_are_all_answered(gateway: GatewayProcess) -> None:
    request = "{} {} HTTP/1.1\r\nHost: gateway\r\n\r\n"
    pipelined = request.format("GET", "/health-check") + request.format("HEAD", "/version")
    pipelined += request.format("GET", "/livez")
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(pipelined.encode())
        received = _read_responses(sock, 3, b'{"status":"ok"}')
    answers = received.split(b"HTTP/1.1 ")[1:]
    assert answers[0].startswith(b"200") and answers[0].endswith(b'{"status":"ok"}')
    assert not answers[1].startswith(b"5") and answers[1].endswith(b"\r\n\r\n")  # a head, no body
    assert answers[2].startswith(b"200") and answers[2].endswith(b'{"status":"ok"}')


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\r\nHost: gateway\r\nA header without a colon\r\n\r\n",
        b"GET /api/admin/verifyApiToken/%" + b"\x01" * 10 + b" HTTP/1.1\r\nHost: gateway\r\n\r\n",
        b"NOT-A-METHOD\x00 / HTTP/1.1\r\n\r\n",
    ],
    ids=["header without colon", "control bytes in the path", "bad method"],
)
def test_requests_the_server_cannot_parse_get_a_json_400(
    gateway: GatewayProcess, request_bytes: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(request_bytes)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), received
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"]["code"] == "bad_request"
