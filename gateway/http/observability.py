"""Request metrics (Prometheus) and an access log that never contains secrets.

Both record the matched route *template* (``/api/admin/verifyApiToken/{token}``), never the raw path, so a key
placed in a URL cannot leak into logs or metric labels, and label cardinality stays bounded.

The access log is buffered: a request appends its parts, which are formatted into lines and written to
standard error in batches (every ``FLUSH_INTERVAL`` seconds and at shutdown). Going through ``logging``
for every request cost about 50 µs of CPU — a quarter of the whole passthrough search — mostly record
creation and one write system call per line. Lines look like the rest of the log:
``<time> INFO gateway.access: ...``.

The server running the app may keep an access log of its own with raw paths (``uvicorn --factory`` does by
default); the app factory installs ``SecretRedactingFilter`` on those loggers so they never hold a key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.request_metrics import RequestStats

FLUSH_INTERVAL = 0.5
MAX_BUFFERED_LINES = 10_000
# Access loggers of the servers that can run the app; theirs log raw paths and query strings.
SERVER_ACCESS_LOGGERS = ("uvicorn.access", "gunicorn.access", "hypercorn.access")
_KEY_IN_PATH = re.compile(r"(/api/admin/verifyApiToken/)[^?#\s\"]*")
# getTokens searches "by name or by the full key"; the rest are names secrets commonly travel under.
_SECRET_PARAM = re.compile(
    r"([?&](?:search|token|key|api_?key|access_token|password|secret)=)[^&#\s\"]*", re.IGNORECASE
)


def redact_url(text: str) -> str:
    """A path (with query) or a log line, with every key it may carry replaced."""
    return _SECRET_PARAM.sub(r"\1[redacted]", _KEY_IN_PATH.sub(r"\1{token}", text))


class SecretRedactingFilter(logging.Filter):
    """Rewrites the raw paths server access loggers record, whatever their format string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact_url(record.msg)
        return True


def install_access_log_redaction() -> None:
    """Filter the server access loggers, so that no way of starting the app (``gateway serve``,
    ``uvicorn --factory``, gunicorn workers) writes a key found in a URL. Idempotent."""
    for name in SERVER_ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, SecretRedactingFilter) for f in logger.filters):
            logger.addFilter(SecretRedactingFilter())


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # gateway_http_requests_total and gateway_http_request_duration_seconds, counted cheaply
        self.requests = RequestStats()
        self.registry.register(self.requests)
        self.ingest_items = Counter(
            "gateway_ingest_items",
            "Items received by the ingest endpoints: outcome is 'written' or the failure code.",
            ["entity", "action", "outcome"],
            registry=self.registry,
        )


class AccessLog:
    """Lines are kept as their parts and formatted when written (every ``FLUSH_INTERVAL``), a batch at a
    time: the request itself only appends a tuple."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._entries: list[tuple[float, str, str, str, int, float]] = []

    def add(self, client: str, method: str, route: str, status: int, elapsed: float) -> None:
        self._entries.append((time.time(), client, method, route, status, elapsed))
        if len(self._entries) >= MAX_BUFFERED_LINES:
            self.flush()

    def flush(self) -> None:
        if self._entries:
            entries, self._entries = self._entries, []
            sys.stderr.write("".join(_lines(entries)))
            sys.stderr.flush()

    async def run(self) -> None:
        """Flush periodically until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(FLUSH_INTERVAL)
                self.flush()
        finally:
            self.flush()


def _lines(entries: list[tuple[float, str, str, str, int, float]]) -> Iterator[str]:
    second, stamp = -1, ""
    for now, client, method, route, status, elapsed in entries:
        if int(now) != second:  # the date, formatted once a second
            second = int(now)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        millis = int((now - second) * 1000)
        request = f'{client[:64]} "{method} {route}" {status} {elapsed * 1000:.1f}ms'
        yield f"{stamp},{millis:03d} INFO gateway.access: {request}\n"


class RequestRecorder:
    """Counts, times and logs each request."""

    def __init__(self, access_log: bool = True) -> None:
        self.metrics = Metrics()
        self.access_log = AccessLog(access_log)

    def record(self, client: str | None, method: str, route: str, status: int, elapsed: float) -> None:
        """Count and time one request; ``client`` is its address (resolved through trusted proxies)."""
        self.metrics.requests.add(method, route, status, elapsed)
        if self.access_log.enabled:
            self.access_log.add(client or "-", method, route, status, elapsed)

    def count_items(self, entity: str, action: str, outcomes: Mapping[str, int]) -> None:
        for outcome, count in outcomes.items():
            if count:
                self.metrics.ingest_items.labels(entity, action, outcome).inc(count)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Flush the access log in the background while the app runs, and once more at the end."""
        flush = asyncio.create_task(self.access_log.run(), name="access-log-flush")
        try:
            yield
        finally:
            flush.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flush


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "<unmatched>"


class ObservabilityMiddleware:
    """Pure ASGI middleware: cheaper than BaseHTTPMiddleware and does not buffer streamed bodies."""

    def __init__(self, app: ASGIApp, recorder: RequestRecorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            elapsed = time.perf_counter() - started
            client = scope.get("client")
            self.recorder.record(
                client[0] if client else None, scope["method"], route_template(scope), status, elapsed
            )


__all__ = [
    "AccessLog",
    "Metrics",
    "ObservabilityMiddleware",
    "RequestRecorder",
    "SecretRedactingFilter",
    "install_access_log_redaction",
    "redact_url",
]
