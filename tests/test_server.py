"""The response-coalescing transport used under uvicorn."""

from __future__ import annotations

import asyncio
from typing import cast

from gateway.server import _CoalescingTransport


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
