"""Bounds on what one connection may hold: request heads, bodies, deadlines, requests, connections.

uvicorn, as the gateway used it, bounded none of these: a head could be any size (one 8 MB header, or
thousands of fields, were answered), a client could take forever to send it, and nothing capped the number
of open connections (uvicorn's ``--limit-concurrency`` answers 503 past a count, but keeps accepting).
``gateway serve`` installs this protocol; an app run by ``uvicorn --factory`` has none of these bounds.
``GuardedHttpToolsProtocol`` wraps the parser callbacks of the coalescing protocol (each wrapper calls
``super()``), so the bounds hold whichever code answers the request:

- a head (request line and fields) over ``MAX_HEAD_BYTES`` or with more than ``MAX_HEADER_FIELDS`` fields:
  431, counted while it arrives (never more than the limit plus one read is held);
- a body over ``ConnectionLimits.max_body_bytes`` (the largest any route accepts): 413, at once when its
  ``Content-Length`` says so, else when the chunks received pass it; routes keep their smaller limits;
- a head not complete ``header_timeout`` seconds after the connection opened (its first request) or after
  its first byte arrived (later requests), a body not complete ``body_timeout`` seconds after its head: 408;
- the ``MAX_REQUESTS``-th request of a connection is answered with ``connection: close``;
- past ``max_connections`` open connections a new one is closed at once, unanswered.

Each refusal is the gateway's JSON error body with ``connection: close``, and the connection closes. When
an answer to an earlier (pipelined) request is still being written, the connection closes after it instead,
and a refused request whose own answer has begun just closes. A refused client may still be sending: closing
a socket with unread bytes resets the connection, and the reset can destroy the answer before the client
reads it. So over plain TCP the gateway half-closes after the answer and drops what still arrives for at
most ``LINGER_SECONDS`` (like nginx's lingering close); over TLS, closing already does the same (the TLS
shutdown). A new connection arms the first head's deadline; after that, timers are armed only when a read
leaves a head or a body incomplete: a request that arrives in one read costs no timer.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar, Final, TypeVar

import orjson

from gateway.http.errors import error_body
from gateway.http.protocol import CoalescingHttpToolsProtocol

log = logging.getLogger(__name__)

MAX_HEAD_BYTES: Final = 32 * 1024  # request line and fields, like nginx's large_client_header_buffers
MAX_HEADER_FIELDS: Final = 100  # like Apache's LimitRequestFields; the gateway reads fewer than ten
MAX_REQUESTS: Final = 1000  # per connection, like nginx's keepalive_requests
LINGER_SECONDS: Final = 5.0  # how long a refused plain-TCP client may still send before the close

# Between requests, receiving a head, receiving a body, refused (reading and dropping what still comes).
_IDLE, _HEAD, _BODY, _DRAIN = 0, 1, 2, 3

P = TypeVar("P", bound="GuardedHttpToolsProtocol")


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float = 20.0
    body_timeout: float = 60.0
    max_connections: int = 4096
    max_body_bytes: int = 16 * 1024 * 1024


class _Refused(Exception):
    """Raised in a parser callback: stops the parser; the refusal is answered by ``send_400_response``."""


def refusal(status: int, code: str, message: str) -> bytes:
    """A whole ``connection: close`` answer with the gateway's JSON error body."""
    body = orjson.dumps(error_body(code, message))
    head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\nconnection: close\r\n" % (
        status,
        HTTPStatus(status).phrase.encode(),
    )
    return head + b"content-length: %d\r\n\r\n" % len(body) + body


HEAD_TOO_LARGE = refusal(
    431,
    "request_header_fields_too_large",
    f"the request head exceeds {MAX_HEAD_BYTES} bytes or {MAX_HEADER_FIELDS} header fields",
)
HEAD_TIMEOUT = refusal(408, "request_timeout", "the request head did not arrive in time")
BODY_TIMEOUT = refusal(408, "request_timeout", "the request body did not arrive in time")


class GuardedHttpToolsProtocol(CoalescingHttpToolsProtocol):
    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    _refused_connections: ClassVar[int] = 0

    @classmethod
    def configured(cls: type[P], limits: ConnectionLimits) -> type[P]:
        """This protocol class (or a subclass) with ``limits``: what ``uvicorn.run(http=...)`` takes."""
        return type(cls.__name__, (cls,), {"limits": limits})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase = _HEAD  # the first request's head is awaited from the start
        self._head_bytes = 0  # received since the head began (may include the first body bytes)
        self._fields = 0
        self._declared_length: bytes | None = None
        self._body_bytes = 0
        self._requests = 0
        self._mid_read = False
        self._deadline: asyncio.TimerHandle | None = None
        self._refusal = b""

    # --- connections -------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse_connection()
            return
        self._arm(self.limits.header_timeout)

    def _refuse_connection(self) -> None:
        cls = GuardedHttpToolsProtocol
        cls._refused_connections += 1
        if cls._refused_connections % 1000 == 1:  # a flood logs a line per thousand, not one each
            log.warning(
                "%d open connections (GATEWAY_MAX_CONNECTIONS): new ones are closed (%d so far)",
                self.limits.max_connections,
                cls._refused_connections,
            )
        self._phase = _IDLE
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # --- reads and parser callbacks ------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._phase == _DRAIN:
            return
        if self._phase != _BODY:
            self._phase = _HEAD  # any byte after a request starts the next head, leading CRLFs too
            self._head_bytes += len(data)
        super().data_received(data)
        if self._phase == _HEAD:
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse_head(HEAD_TOO_LARGE)
            elif self._deadline is None and not self.transport.is_closing():
                self._arm(self.limits.header_timeout)
        elif self._phase == _BODY and self._deadline is None and not self.transport.is_closing():
            self._arm(self.limits.body_timeout)

    def on_message_begin(self) -> None:
        # A head that begins in the read that completed the previous request: those bytes were not counted
        # (``data_received`` counts whole reads); it is measured when complete, and its deadline armed.
        self._mid_read = self._phase == _IDLE
        if self._mid_read:
            self._phase = _HEAD
        self._requests += 1
        self._fields = 0
        self._declared_length = None
        self._body_bytes = 0
        super().on_message_begin()

    def on_header(self, name: bytes, value: bytes) -> None:
        # uvicorn's on_header, inlined (it runs for every field of every request), with the count.
        self._fields += 1
        if self._fields > MAX_HEADER_FIELDS:
            self._refusal = HEAD_TOO_LARGE
            raise _Refused
        name = name.lower()
        value = value.rstrip(b" \t")  # llhttp keeps trailing whitespace, which RFC 9110 excludes
        if name == b"content-length":
            self._declared_length = value
        elif name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._check_head()
        if self._deadline is not None:
            self._disarm()
        self._phase = _BODY
        super().on_headers_complete()
        if self._requests >= MAX_REQUESTS and self.cycle is not None:
            self.cycle.keep_alive = False  # answered with connection: close, then closed

    def keeps_alive(self) -> bool:
        return self._requests < MAX_REQUESTS and super().keeps_alive()

    def _check_head(self) -> None:
        # A head that completed in a read which took the count past the limit, or that began mid-read:
        # measure the head itself.
        if (self._head_bytes > MAX_HEAD_BYTES or self._mid_read) and self._head_size() > MAX_HEAD_BYTES:
            self._refusal = HEAD_TOO_LARGE
            raise _Refused
        declared = self._declared_length
        if declared is not None and int(declared) > self.limits.max_body_bytes:  # llhttp checked the digits
            self._refusal = self._body_too_large()
            raise _Refused

    def _head_size(self) -> int:
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers) + 16

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self.limits.max_body_bytes:
            self._refusal = self._body_too_large()
            raise _Refused
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._deadline is not None:
            self._disarm()
        self._phase = _IDLE
        self._head_bytes = 0
        super().on_message_complete()

    def _body_too_large(self) -> bytes:
        limit = self.limits.max_body_bytes
        return refusal(413, "payload_too_large", f"the request body exceeds {limit} bytes")

    # --- refusals ----------------------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        # Every parser error ends here (uvicorn's data_received), a refusal raised in a callback too.
        answer, self._refusal = self._refusal, b""
        if not answer:
            answer = refusal(400, "bad_request", msg)
        if self._phase == _BODY:
            self._refuse_body(answer)
        else:
            self._refuse_head(answer)

    def _refuse_head(self, answer: bytes) -> None:
        """Refuse the request whose head is arriving: after the answer to an earlier one, if under way."""
        self._disarm()
        self._phase = _IDLE
        earlier = self.cycle
        if earlier is not None and not earlier.response_complete:
            earlier.keep_alive = False  # the connection closes once that answer is written
            self.flow.pause_reading()
            return
        self._answer_and_close(answer)

    def _refuse_body(self, answer: bytes) -> None:
        """Refuse the request whose body is arriving: with ``answer`` unless its own answer has begun."""
        self._disarm()
        self._phase = _IDLE
        cycle = self.cycle
        if cycle.response_started:
            self.transport.close()
            return
        cycle.disconnected = True  # the app, still running, answers no more
        self._answer_and_close(answer)

    def _answer_and_close(self, answer: bytes) -> None:
        transport = self.transport
        transport.write(answer)
        flush = getattr(transport, "flush", None)  # the coalescing transport holds a response head
        if flush is not None:
            flush()
        if not transport.can_write_eof():  # TLS: its shutdown reads on until the client's close_notify
            transport.close()
            return
        transport.write_eof()
        self._phase = _DRAIN
        self.flow.resume_reading()
        self._arm(LINGER_SECONDS)

    # --- deadlines ---------------------------------------------------------------------------------

    def _arm(self, seconds: float) -> None:
        self._deadline = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self not in self.connections:  # closed, or upgraded
            return
        if self._phase == _DRAIN:
            self.transport.close()
        elif self._phase == _BODY:
            self._refuse_body(BODY_TIMEOUT)
        elif self._phase == _HEAD:
            self._refuse_head(HEAD_TIMEOUT)
