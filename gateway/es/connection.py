"""The passthrough client's parts: a node (address, connection pool, liveness) and one HTTP/1.1 connection.

A ``Connection`` writes a batch of requests at once and hands each search its own response, parsed by
httptools (C) and never decoded: the body bytes go back untouched. When it fails it tells its owner (the
``PassthroughClient``, through the callbacks it gave) which searches are still unanswered, so they can be
sent again elsewhere. Every node sends the credentials and uses the TLS context of ``ConnectionSettings``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, cast
from urllib.parse import urlsplit

import httptools

from gateway.es.connection_settings import ConnectionSettings

# A dead node is left alone for 1 s, then 2 s, 4 s … up to 30 s after consecutive failures (as the
# official clients do); a node is tried anyway when every node is dead.
DEAD_BACKOFF = 1.0
MAX_DEAD_BACKOFF = 30.0


class RawResponse(NamedTuple):  # a tuple: built once per search, cheaper than a frozen dataclass
    status: int
    body: bytes


class Reply(Protocol):
    """Where a search's answer goes: an ``asyncio.Future``, or any object with these three methods (the
    search hot path takes it in a callback, without a future or an extra turn of the event loop)."""

    def done(self) -> bool: ...

    def set_result(self, result: RawResponse, /) -> None: ...

    def set_exception(self, exception: BaseException, /) -> None: ...


Pending = tuple[bytes, bytes, Reply]  # path, body, where the answer goes


@dataclass(eq=False)
class Batch:
    """Searches sent together, and the nodes they were already sent to."""

    searches: list[Pending]
    tried: list[Node] = field(default_factory=list)
    fresh_retry: bool = False  # already sent again on a fresh connection after a stale one
    failure: str = "Elasticsearch is unreachable."  # what went wrong last, for when no node is left
    timed_out: bool = False  # one node already did not answer in time: a second timeout is final
    expiry: asyncio.TimerHandle | None = None  # while waiting for a free connection


class Node:
    """One Elasticsearch node: where it is, its idle connections, the batches waiting for one, and whether
    it is believed alive."""

    def __init__(self, url: str, cluster: ConnectionSettings) -> None:
        parts = urlsplit(url)
        self.url = url
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 9200)
        self.ssl = cluster.ssl_context if parts.scheme == "https" else None
        self._prefix = parts.path.rstrip("/").encode()
        authorization = cluster.authorization
        auth = f"Authorization: {authorization}\r\n" if authorization else ""
        self._head = (
            f"Host: {parts.netloc}\r\nContent-Type: application/json\r\nAccept: application/json\r\n{auth}"
        ).encode("latin-1")
        self._start = b"POST " + self._prefix
        self.idle: list[Connection] = []
        self.waiting: deque[Batch] = deque()  # batches for when one of its connections frees up
        self.open = 0  # connections open or being opened
        self.failures = 0  # consecutive
        self.dead_until = 0.0  # on the client's monotonic clock; 0: alive
        self.removed = False

    def request(self, path: bytes, body: bytes) -> bytes:
        return b"%s%s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (
            self._start,
            path,
            self._head,
            len(body),
            body,
        )

    def mark_dead(self, now: float) -> None:
        self.failures += 1
        self.dead_until = now + min(MAX_DEAD_BACKOFF, DEAD_BACKOFF * 2 ** (self.failures - 1))
        idle, self.idle = self.idle, []
        for connection in idle:  # most likely broken too; never hand them out again
            connection.close()

    def mark_alive(self) -> None:
        self.failures = 0
        self.dead_until = 0.0

    def __repr__(self) -> str:
        return f"<Node {self.url} failures={self.failures}>"


# What a connection tells its owner: it is free again (every search of its batch answered), or it failed
# (the batch's unanswered searches; whether it was a kept-alive connection gone stale).
OnFree = Callable[["Connection"], None]
OnFailure = Callable[["Connection", Batch, Exception, bool], None]


class Connection(asyncio.Protocol):
    def __init__(self, node: Node, on_free: OnFree, on_failure: OnFailure) -> None:
        self.node = node
        self._on_free = on_free
        self._on_failure = on_failure
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self.keep_alive = True
        self._parser = httptools.HttpResponseParser(self)
        self._chunks: list[bytes] = []
        self._batch = Batch([])
        self._pending: deque[Pending] = deque()
        self._answered = 0
        self._timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0  # on the loop's clock: when the batch being answered times out
        self._loop: asyncio.AbstractEventLoop | None = None

    def send(self, batch: Batch, timeout: float) -> None:
        """Write a batch of requests at once; each future gets its answer, in order."""
        assert self.transport is not None
        self._batch = batch
        self._pending.extend(batch.searches)
        self._answered = 0
        # One lazy timer per connection rather than one per batch: the deadline moves with each batch,
        # and the timer, when it fires, only looks whether the batch being answered is past it.
        loop = self._loop or asyncio.get_running_loop()
        self._deadline = loop.time() + timeout
        if self._timer is None:
            self._timer = loop.call_at(self._deadline, self._check_deadline)
        request = self.node.request
        if len(batch.searches) == 1:
            path, body, _ = batch.searches[0]
            self.transport.write(request(path, body))
        else:
            self.transport.write(b"".join(request(path, body) for path, body, _ in batch.searches))

    def _check_deadline(self) -> None:
        self._timer = None
        if not self._pending or self._loop is None:  # idle: no timer until the next batch
            return
        if self._loop.time() >= self._deadline:
            self._fail(TimeoutError())
        else:
            self._timer = self._loop.call_at(self._deadline, self._check_deadline)

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self._loop = asyncio.get_running_loop()

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"unparsable response from Elasticsearch: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError("Elasticsearch closed the connection"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._chunks = []

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self._parser.should_keep_alive()
        if not self._pending:  # nothing was asked: the connection cannot be trusted
            self._fail(ConnectionError("unexpected response from Elasticsearch"))
            return
        _, _, future = self._pending.popleft()
        self._answered += 1
        if self.node.failures:
            self.node.mark_alive()
        if not future.done():  # the caller may have gone away
            future.set_result(RawResponse(self._parser.get_status_code(), b"".join(self._chunks)))
        if not self._pending:
            self._on_free(self)

    def _fail(self, exc: Exception) -> None:
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch = self._batch
        unanswered = Batch(
            list(self._pending), batch.tried, batch.fresh_retry, batch.failure, batch.timed_out
        )
        self._pending = deque()
        if self.transport is not None:
            self.transport.close()
        # A kept-alive connection the node closed while idle fails on its next use before any answer:
        # that says nothing about the node.
        stale = self.reused and self._answered == 0 and isinstance(exc, ConnectionError)
        self._on_failure(self, unanswered, exc, stale)

    def close(self) -> None:
        self._fail(ConnectionError("the connection was closed by the gateway"))
