"""The passthrough search answered in the HTTP protocol itself, below ASGI.

``POST /jas/datasource/search`` is what ingestion jobs call most, and on it the ASGI machinery (a scope
dict, a request cycle and a task per request, receive/send message dicts, header validation of every
response) cost more CPU than everything the gateway itself does. ``SearchProtocol`` answers the common case
from the parser's callbacks: a search with a key whose record is cached. It runs the same steps as the
route (``gateway.http.routes.search.search``), through the same functions: the caller check
(``CallerCheck.authenticate_cached``), the route's scope, the body limit, the guard (``checked_search``),
Elasticsearch through the passthrough client, the answer (``settle`` for anything but a 200), the error
mapping with its audit counting (``answer_error``), metrics and the access log.

Everything else goes to the app as before (``super().on_headers_complete()``): other paths and methods, a
path with a query string, ``Expect: 100-continue``, an upgrade, a request pipelined behind one still being
answered (uvicorn queues it, and it is answered in order), requests before the app has started, an admin
token, and a key whose record must first be fetched (the app's fast path, ``gateway.http.fastpath``,
fetches and caches it; the next search is answered here).

While a search is being answered its ``SearchExchange`` stands where uvicorn keeps a request cycle
(``self.cycle``), so pipelining, graceful shutdown and a lost connection treat it like any request.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

import orjson
from fastapi import FastAPI
from starlette.datastructures import State
from starlette.requests import ClientDisconnect
from uvicorn.middleware.proxy_headers import _TrustedHosts
from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from gateway.auth.callers import Caller
from gateway.errors import TooLarge
from gateway.es.passthrough import RawResponse
from gateway.http.bodies import refuse_declared
from gateway.http.errors import answer_error
from gateway.http.protocol import CoalescingHttpToolsProtocol
from gateway.http.ratelimit import raw_quota_headers
from gateway.http.routes.search import SEARCH_PATH
from gateway.http.scopes import check_route
from gateway.search import MAX_BODY_BYTES, checked_search, search_path, settle
from gateway.services import Services

log = logging.getLogger(__name__)

SEARCH_URL = SEARCH_PATH.encode()
_JSON_HEAD = b"content-type: application/json\r\ncontent-length: "
_SHORTEST_OVER_LIMIT = len(str(MAX_BODY_BYTES)) - 1  # a Content-Length of fewer characters is under it


class _NoEvent:
    """uvicorn sets its cycle's ``message_event`` when the connection is lost; nothing waits here."""

    def set(self) -> None:
        pass


class SearchExchange:
    """One search being answered below ASGI, in uvicorn's place for a request cycle; also where the
    passthrough client delivers Elasticsearch's answer (``gateway.es.connection.Reply``)."""

    __slots__ = ("address", "answered", "body", "caller", "chunks", "disconnected", "keep_alive", "protocol",
                 "response_complete", "response_started", "size", "started")  # fmt: skip
    message_event = _NoEvent()

    def __init__(self, protocol: SearchProtocol, address: str | None, keep_alive: bool) -> None:
        self.protocol = protocol
        self.address = address
        self.keep_alive = keep_alive
        self.started = time.perf_counter()
        self.response_started = False
        self.response_complete = False
        self.disconnected = False
        self.answered = False
        self.caller: Caller | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.body = b""  # what Elasticsearch is sent, once checked

    # gateway.es.connection.Reply: called by the passthrough client, from its connection's callbacks
    def done(self) -> bool:
        return self.answered

    def set_result(self, response: RawResponse) -> None:
        self.answered = True
        self.protocol.answered(self, response)

    def set_exception(self, exception: BaseException) -> None:
        self.answered = True
        failure = exception if isinstance(exception, Exception) else RuntimeError("search cancelled")
        self.protocol.fail(self, failure)


class SearchProtocol(CoalescingHttpToolsProtocol):
    """uvicorn's httptools protocol, answering the passthrough search itself (see the module's text)."""

    gateway_state: ClassVar[State]  # the app's ``state``: its services once started, its request recorder
    trusted: ClassVar[_TrustedHosts | None] = None  # GATEWAY_TRUSTED_PROXIES

    @classmethod
    def serving(cls, app: FastAPI, trusted_proxies: str | None) -> type[SearchProtocol]:
        """This protocol for ``app``: what ``uvicorn.Config(http=...)`` takes (see ``gateway.cli.serve``)."""
        trusted = _TrustedHosts(trusted_proxies) if trusted_proxies else None
        return type(cls.__name__, (cls,), {"gateway_state": app.state, "trusted": trusted})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recorder = self.gateway_state.recorder
        self._services: Services | None = None  # the app's, once it has started
        self._path: bytes | None = None
        # The last caller admitted on this connection, and the headers it came with (see _serve_search).
        self._credentials: tuple[bytes | None, bytes | None, bytes | None] | None = None
        self._caller: Caller | None = None

    # --- the request ------------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        # uvicorn builds the ASGI scope here; a search answered below ASGI never needs one.
        self.url = b""
        self.expect_100_continue = False
        self.headers = []

    def on_headers_complete(self) -> None:
        if not self._serve_search():
            url, headers, expect = self.url, self.headers, self.expect_100_continue
            super().on_message_begin()  # the scope, for the app
            self.url, self.headers, self.expect_100_continue = url, headers, expect
            self.scope["headers"] = headers
            super().on_headers_complete()

    def _serve_search(self) -> bool:
        """Start answering this request here, if it is a search this path serves; False: the app's."""
        parser = self.parser
        if self.url != SEARCH_URL or self.expect_100_continue or parser.get_method() != b"POST":
            return False
        if (self.cycle is not None and not self.cycle.response_complete) or parser.should_upgrade():
            return False
        services = self._services
        if services is None:
            services = self._services = getattr(self.gateway_state, "services", None)
            if services is None:  # not started yet
                return False
        authorization = api_key = tenant = declared = None
        for name, value in self.headers:  # the last of each, as a dictionary of them would hold
            if name == b"authorization":
                authorization = value
            elif name == b"x-api-key":
                api_key = value
            elif name == b"x-tenant-id":
                tenant = value
            elif name == b"content-length":
                declared = value
        address = self._address()
        exchange = SearchExchange(self, address, self.keeps_alive())
        credentials = (authorization, api_key, tenant)
        try:
            caller = self._caller
            # A job sends the same key on its connection request after request: its check is redone, but
            # the key is not parsed and looked up again (``CallerCheck.recheck``).
            if caller is not None and credentials == self._credentials and caller.address == address:
                caller = services.callers.recheck(caller)
            else:
                caller = None
            if caller is None:
                sent = {"authorization": authorization, "x-api-key": api_key, "x-tenant-id": tenant}
                headers = {name: value.decode("latin-1") for name, value in sent.items() if value is not None}
                caller = services.callers.authenticate_cached(headers, address)
                if caller is None:  # a record to fetch, or an admin token: the app's route
                    return False
                self._credentials, self._caller = credentials, caller
            exchange.caller = caller
            self.cycle = exchange  # type: ignore[assignment]
            check_route(caller, "POST", SEARCH_PATH)
            if declared is not None and len(declared) > _SHORTEST_OVER_LIMIT:  # else it is under the limit
                refuse_declared(declared.decode("latin-1"), MAX_BODY_BYTES)
        except Exception as exc:  # the same answers as the route's
            self.cycle = exchange  # type: ignore[assignment]
            self.fail(exchange, exc)
        return True

    def _address(self) -> str | None:
        """The client's address as uvicorn's ProxyHeadersMiddleware resolves it for the app."""
        host = self.client[0] if self.client else None
        if self.trusted is not None and host in self.trusted:
            forwarded = [value for name, value in self.headers if name == b"x-forwarded-for"]
            if forwarded:
                resolved, _ = self.trusted.get_trusted_client_address(b", ".join(forwarded).decode("latin1"))
                if resolved:
                    host = resolved
        return host

    def on_body(self, body: bytes) -> None:
        exchange: object = self.cycle
        if type(exchange) is not SearchExchange:
            super().on_body(body)
            return
        if exchange.response_complete:  # already refused: the rest of the body is read and dropped
            return
        exchange.size += len(body)
        if exchange.size > MAX_BODY_BYTES:
            self.fail(exchange, TooLarge(f"the request body exceeds {MAX_BODY_BYTES} bytes"))
            return
        exchange.chunks.append(body)

    def on_message_complete(self) -> None:
        exchange: object = self.cycle
        if type(exchange) is not SearchExchange:
            super().on_message_complete()
            return
        if exchange.response_complete:
            return
        exchange.size = -1  # the body is complete
        services = self._services
        try:
            assert exchange.caller is not None and services is not None
            exchange.body = checked_search(b"".join(exchange.chunks), exchange.caller.datasources)
            if self._path is None:
                self._path = search_path(services.settings.datasource_index).encode()
            exchange.chunks = []
            services.passthrough.submit(self._path, exchange.body, exchange)
        except Exception as exc:
            self.fail(exchange, exc)

    def connection_lost(self, exc: Exception | None) -> None:
        exchange: object = self.cycle
        if type(exchange) is SearchExchange and not exchange.response_complete and exchange.size >= 0:
            exchange.disconnected = True  # gone before its body was complete (as the route reports it)
            self.fail(exchange, ClientDisconnect())
        super().connection_lost(exc)

    # --- the answer -------------------------------------------------------------------------------------

    def answered(self, exchange: SearchExchange, response: RawResponse) -> None:
        """Elasticsearch's answer: a 200 goes out as is; anything else is settled like the route's."""
        try:
            if response.status == 200:
                self._respond(exchange, 200, response.body, self._quota(exchange))
                return
            task = self.loop.create_task(self._settle(exchange, response))  # a retry, or an error to map
            task.add_done_callback(self.tasks.discard)
            self.tasks.add(task)
        except Exception:  # never into the passthrough connection that called
            log.exception("answering a search failed")
            self.transport.close()

    async def _settle(self, exchange: SearchExchange, response: RawResponse) -> None:
        services = self._services
        try:
            assert services is not None
            index = services.settings.datasource_index
            body = await settle(services.passthrough, index, exchange.body, response)
        except Exception as exc:
            self.fail(exchange, exc)
            return
        self._respond(exchange, 200, body, self._quota(exchange))

    @staticmethod
    def _quota(exchange: SearchExchange) -> list[tuple[bytes, bytes]]:
        quota = exchange.caller.quota if exchange.caller is not None else None
        return raw_quota_headers(quota) if quota is not None else []

    def fail(self, exchange: SearchExchange, exc: Exception) -> None:
        """Answer ``exc`` as the app's error handlers would (refusals counted for the audit trail)."""
        try:
            audit = self._services.audit if self._services is not None else None
            status, error, extra = answer_error(exc, audit, exchange.address)
            headers = [(name.lower().encode(), value.encode()) for name, value in (extra or {}).items()]
            self._respond(exchange, status, orjson.dumps(error), headers)
        except Exception:  # never into the passthrough connection that called
            log.exception("answering a search failed")
            self.transport.close()

    def _respond(
        self, exchange: SearchExchange, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> None:
        """Write the answer as uvicorn would (its default headers first), in one write; then record it."""
        exchange.response_started = exchange.response_complete = True
        if not exchange.disconnected:
            out = [STATUS_LINE[status], self.encoded_default_headers(), _JSON_HEAD, b"%d\r\n" % len(body)]
            for name, value in headers:
                out += (name, b": ", value, b"\r\n")
            if not exchange.keep_alive:
                out.append(b"connection: close\r\n")
            out += (b"\r\n", body)
            self.transport.write_whole(b"".join(out))  # type: ignore[attr-defined]
            if not exchange.keep_alive:
                self.transport.close()
            self.on_response_complete()
        elapsed = time.perf_counter() - exchange.started
        self._recorder.record(exchange.address, "POST", SEARCH_PATH, status, elapsed)
