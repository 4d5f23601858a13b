"""The Self-Service web page: static HTML, CSS and ES modules from ``static/``, with strict security headers.

No build step and no inline script or style, so the Content-Security-Policy can forbid everything but this
origin's own files. The page talks to the JSON API like any other client: it holds the admin's bearer token
and nothing else.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.errors import error_parts

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",  # revalidated on each load, so an upgrade never mixes old and new modules
}


class SecurityHeaders:
    """Pure ASGI wrapper adding ``SECURITY_HEADERS`` to every response of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except HTTPException as exc:  # StaticFiles' 404 and 405: the usual JSON error, with these headers too
            status, body, headers = error_parts(exc)
            await JSONResponse(body, status, headers={**(headers or {}), **SECURITY_HEADERS})(
                scope, receive, send
            )


def install_ui(app: FastAPI) -> None:
    """``GET /`` is the page; ``/static/...`` its files. Neither is part of the API's OpenAPI description."""

    @app.get("/", include_in_schema=False)
    async def page() -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers=SECURITY_HEADERS)

    app.mount("/static", SecurityHeaders(StaticFiles(directory=STATIC_DIR)), name="static")
