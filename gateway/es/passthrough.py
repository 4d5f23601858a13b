"""A lean HTTP/1.1 client for the passthrough search, the gateway's hot path.

The general-purpose client stack (elasticsearch-py, elastic-transport, aiohttp) spends several hundred
microseconds of CPU per call on features this one call does not need. Here each search is a prebuilt
request written to a kept-alive connection and a response parsed by httptools (C), whose body bytes go
back to the caller untouched — Elasticsearch's response is never decoded and re-encoded.

Searches that arrive in the same event-loop iteration are sent together, pipelined on one connection
(at most ``MAX_PIPELINE``): one write instead of one per search. On loopback a write costs more than
everything else a search does in the gateway, and Elasticsearch reads the batch at once too; it runs
pipelined requests concurrently and answers them in order. A search never waits for a batch to fill.

Connections are pooled (LIFO, bounded). Searches that fail on a reused connection before any answer
arrived are retried once on a fresh one (searches are idempotent); every batch has a deadline.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections import deque
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

from gateway.errors import ElasticsearchUnavailable
from gateway.settings import Settings

MAX_CONNECTIONS = 64
MAX_PIPELINE = 8


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes


Pending = tuple[bytes, "asyncio.Future[RawResponse]"]


class _Connection(asyncio.Protocol):
    def __init__(self, owner: PassthroughClient) -> None:
        self._owner = owner
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self.keep_alive = True
        self._parser = httptools.HttpResponseParser(self)
        self._chunks: list[bytes] = []
        self._pending: deque[Pending] = deque()
        self._answered = 0
        self._timer: asyncio.TimerHandle | None = None

    def send(self, batch: list[Pending], timeout: float) -> None:
        """Write a batch of requests at once; each future gets its answer, in order."""
        assert self.transport is not None
        self._pending.extend(batch)
        self._answered = 0
        # A plain timer is much cheaper than asyncio.timeout() on this path.
        self._timer = asyncio.get_running_loop().call_later(timeout, self._fail, TimeoutError())
        if len(batch) == 1:
            self.transport.write(batch[0][0])
        else:
            self.transport.write(b"".join(request for request, _ in batch))

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

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
        _, future = self._pending.popleft()
        self._answered += 1
        if not future.done():  # the caller may have gone away
            future.set_result(RawResponse(self._parser.get_status_code(), b"".join(self._chunks)))
        if not self._pending:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._owner._release(self)

    def _fail(self, exc: Exception) -> None:
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = list(self._pending), deque()
        if self.transport is not None:
            self.transport.close()
        stale = self.reused and self._answered == 0 and isinstance(exc, ConnectionError)
        self._owner._failed(self, pending, exc, retry=stale)

    def close(self) -> None:
        self._fail(ConnectionError("the gateway is shutting down"))


def _auth_header(settings: Settings) -> str:
    if settings.es_api_key is not None:
        return f"Authorization: ApiKey {settings.es_api_key.get_secret_value()}\r\n"
    if settings.es_username is not None and settings.es_password is not None:
        pair = f"{settings.es_username}:{settings.es_password.get_secret_value()}".encode()
        return f"Authorization: Basic {base64.b64encode(pair).decode()}\r\n"
    return ""


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(settings.es_ca_certs) if settings.es_ca_certs else None)
    if not settings.es_verify_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class PassthroughClient:
    """POSTs JSON to one Elasticsearch endpoint (the ``ES_URL`` node or load balancer)."""

    def __init__(self, settings: Settings) -> None:
        url = urlsplit(settings.es_url)
        self._https = url.scheme == "https"
        self._host = url.hostname or "127.0.0.1"
        self._port = url.port or (443 if self._https else 9200)
        self._prefix = url.path.rstrip("/")
        self._ssl = _ssl_context(settings) if self._https else None
        self._timeout = settings.es_request_timeout
        self._head = (
            f"Host: {url.netloc}\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
            f"{_auth_header(settings)}"
        ).encode("latin-1")
        self._queue: list[Pending] = []  # searches of this loop iteration, not yet sent
        self._idle: list[_Connection] = []
        self._waiting: deque[list[Pending]] = deque()  # batches for when a connection frees up
        self._open = 0  # connections open or being opened
        self._all: set[_Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    async def post(self, path: str, body: bytes) -> RawResponse:
        request = (
            b"POST " + self._prefix.encode() + path.encode() + b" HTTP/1.1\r\n" + self._head
            + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        future: asyncio.Future[RawResponse] = loop.create_future()
        if not self._queue:
            loop.call_soon(self._flush)
        self._queue.append((request, future))
        return await future

    def _flush(self) -> None:
        queue, self._queue = self._queue, []
        live = [item for item in queue if not item[1].done()]
        for start in range(0, len(live), MAX_PIPELINE):
            self._dispatch(live[start : start + MAX_PIPELINE])

    def _dispatch(self, batch: list[Pending]) -> None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                connection.send(batch, self._timeout)
                return
        if self._open < MAX_CONNECTIONS:
            self._open_connection(batch)
        else:
            self._waiting.append(batch)

    def _open_connection(self, batch: list[Pending]) -> None:
        """Send ``batch`` on a new connection, opened in the background."""
        self._open += 1
        task = asyncio.get_running_loop().create_task(self._connect_and_send(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect_and_send(self, batch: list[Pending]) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(self), self._host, self._port, ssl=self._ssl
                )
        except OSError:  # TimeoutError included
            self._open -= 1
            self._reject(batch, ElasticsearchUnavailable("Elasticsearch is unreachable."))
            self._next_waiting()
            return
        except asyncio.CancelledError:
            self._reject(batch, ElasticsearchUnavailable("The gateway is shutting down."))
            raise
        self._all.add(connection)
        connection.send(batch, self._timeout)

    def _release(self, connection: _Connection) -> None:
        if not connection.keep_alive:
            connection.close()
            return
        connection.reused = True
        if self._waiting:
            connection.send(self._waiting.popleft(), self._timeout)
        else:
            self._idle.append(connection)

    def _failed(self, connection: _Connection, pending: list[Pending], exc: Exception, retry: bool) -> None:
        self._all.discard(connection)
        self._open -= 1
        if retry and pending and not self._closing:  # a kept-alive connection went stale: retry once
            self._open_connection(pending)
            return
        if isinstance(exc, TimeoutError):
            error = ElasticsearchUnavailable("Elasticsearch did not answer in time.")
        else:
            error = ElasticsearchUnavailable("Elasticsearch closed the connection.")
        self._reject(pending, error)
        self._next_waiting()

    def _next_waiting(self) -> None:
        if self._waiting and self._open < MAX_CONNECTIONS:
            self._dispatch(self._waiting.popleft())

    @staticmethod
    def _reject(batch: list[Pending], error: Exception) -> None:
        for _, future in batch:
            if not future.done():
                future.set_exception(error)

    async def close(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        for connection in list(self._all):
            connection.close()
        self._all.clear()
        self._idle.clear()
