"""uvicorn's httptools protocol, sending each response's head and body in one write.

uvicorn writes the status line and headers when the app sends ``http.response.start`` and the body on
``http.response.body``: two system calls, two TCP segments for every small JSON response. On loopback each
write also runs the receiver's network stack, so for the passthrough search this was one of the largest
costs left. The wrapper below holds a response head until the next write (the body, possibly empty), until
the response is complete, or until the connection closes. Completion matters for HEAD (and any response
uvicorn writes no body for): without it the head would wait for the next request or the keep-alive
timeout. ``100 Continue`` interim responses are written at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.http.errors import error_body

_RESPONSE_HEAD = b"HTTP/1.1 "
_INTERIM = b"HTTP/1.1 1"


class _CoalescingTransport:
    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        if self._head is None and data.startswith(_RESPONSE_HEAD) and not data.startswith(_INTERIM):
            self._head = data
            return
        if self._head is not None:
            data, self._head = self._head + data, None
        self._transport.write(data)

    def write_whole(self, response: bytes) -> None:
        """A whole response (head and body) in one write, when no head can be held: every earlier answer
        on the connection is complete (``on_response_complete`` flushed it)."""
        self._transport.write(response)

    def flush(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:  # asked after every response: not through __getattr__
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = _CoalescingTransport(transport)  # type: ignore[assignment]

    _default_headers: tuple[list[tuple[bytes, bytes]] | None, bytes] = (None, b"")

    def encoded_default_headers(self) -> bytes:
        """uvicorn's default headers (``date``), as written before an app's own: encoded once per list,
        which uvicorn replaces every second."""
        headers = self.server_state.default_headers
        if self._default_headers[0] is not headers:
            encoded = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
            self._default_headers = (headers, encoded)
        return self._default_headers[1]

    def keeps_alive(self) -> bool:
        """Whether the connection stays open after the request being parsed (its head is complete)."""
        return self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers a request it cannot parse in plain text; every error of the gateway is JSON.
        body = orjson.dumps(error_body("bad_request", msg))
        head = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n"
        self.transport.write(head + b"content-length: %d\r\n\r\n" % len(body) + body)
        self.transport.close()

    # Keep-alive: uvicorn arms a timer after every response and cancels it when the next request arrives.
    # Here one timer per connection is armed lazily: a response notes when the connection became idle,
    # a request clears the note, and the timer, when it fires, closes the connection only if it has been
    # idle for the whole keep-alive timeout (otherwise it is set again for what is left).
    _idle_since: float | None = None

    def _unset_keepalive_if_required(self) -> None:
        self._idle_since = None

    def _keep_alive_check(self) -> None:
        self.timeout_keep_alive_task = None
        if self._idle_since is None:
            return
        left = self._idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.timeout_keep_alive_task = self.loop.call_later(left, self._keep_alive_check)
        else:
            self.timeout_keep_alive_handler()

    def on_response_complete(self) -> None:
        # Nothing more is written for this response: a head still held has no body to wait for.
        transport = self.transport
        if isinstance(transport, _CoalescingTransport):
            transport.flush()
        # uvicorn's, with the lazy keep-alive timer
        self.server_state.total_requests += 1
        if transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:  # a request pipelined behind this one: its turn
            self._idle_since = None
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self._keep_alive_check
            )

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        super().connection_lost(exc)
