"""A lean HTTP/1.1 client for the passthrough search, the gateway's hot path.

The general-purpose client stack (elasticsearch-py, elastic-transport, aiohttp) spends several hundred
microseconds of CPU per call on features this one call does not need. Here each search is a prebuilt
request written to a kept-alive connection and a response parsed by httptools (C), whose body bytes go
back to the caller untouched — Elasticsearch's response is never decoded and re-encoded.

Connections are pooled (LIFO, bounded). A request that fails on a reused connection before any response
arrived is retried once on a fresh one (searches are idempotent); every call has a deadline.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

from gateway.errors import ElasticsearchUnavailable
from gateway.settings import Settings

MAX_CONNECTIONS = 64


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._chunks: list[bytes] = []
        self._waiter: asyncio.Future[RawResponse] | None = None
        self.keep_alive = True

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
        self.closed = True
        self._fail(ConnectionError("Elasticsearch closed the connection"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._chunks = []

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self._parser.should_keep_alive()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(RawResponse(self._parser.get_status_code(), b"".join(self._chunks)))

    def _fail(self, exc: Exception) -> None:
        self.closed = True
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, request: bytes, deadline: float) -> RawResponse:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[RawResponse] = loop.create_future()
        self._waiter = waiter
        # A plain timer is much cheaper than asyncio.timeout() on this path.
        timer = loop.call_later(deadline, self._fail, TimeoutError())
        self.transport.write(request)
        try:
            return await waiter
        finally:
            timer.cancel()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


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
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._all: set[_Connection] = set()

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                _, connection = await loop.create_connection(
                    _Connection, self._host, self._port, ssl=self._ssl
                )
        except OSError as exc:  # TimeoutError included
            raise ElasticsearchUnavailable("Elasticsearch is unreachable.") from exc
        self._all.add(connection)
        return connection

    def _release(self, connection: _Connection) -> None:
        if connection.closed or not connection.keep_alive:
            connection.close()
            self._all.discard(connection)
        else:
            self._idle.append(connection)

    async def post(self, path: str, body: bytes) -> RawResponse:
        request = (
            b"POST " + self._prefix.encode() + path.encode() + b" HTTP/1.1\r\n" + self._head
            + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )  # fmt: skip
        async with self._slots:
            try:
                return await self._send(request)
            except TimeoutError as exc:
                raise ElasticsearchUnavailable("Elasticsearch did not answer in time.") from exc

    async def _send(self, request: bytes) -> RawResponse:
        while self._idle:
            connection = self._idle.pop()
            if connection.closed:
                self._all.discard(connection)
                continue
            try:
                response = await connection.exchange(request, self._timeout)
            except ConnectionError:  # a kept-alive connection went stale: try a fresh one
                self._all.discard(connection)
                break
            except BaseException:
                connection.close()  # cancelled mid-exchange: the connection is unusable
                self._all.discard(connection)
                raise
            self._release(connection)
            return response
        connection = await self._connect()
        try:
            response = await connection.exchange(request, self._timeout)
        except ConnectionError as exc:
            self._all.discard(connection)
            raise ElasticsearchUnavailable("Elasticsearch closed the connection.") from exc
        except BaseException:
            connection.close()
            self._all.discard(connection)
            raise
        self._release(connection)
        return response

    async def close(self) -> None:
        for connection in self._all:
            connection.close()
        self._all.clear()
        self._idle.clear()
