"""The application factory: ``create_app(settings)`` builds a gateway; its lifespan owns the services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway import __version__
from gateway.auth.server_secrets import load_secrets
from gateway.clock import SYSTEM_CLOCK, Clock
from gateway.es.templates import load_templates
from gateway.http.errors import install_error_handlers
from gateway.http.fastpath import GatewayApp
from gateway.http.observability import ObservabilityMiddleware, RequestRecorder, install_access_log_redaction
from gateway.http.openapi import install_openapi
from gateway.http.routes import admin, audit, auth, ingest, key_changes, search, service, sync
from gateway.http.ui import install_ui
from gateway.services import open_services
from gateway.settings import Settings

DESCRIPTION = """\
API keys, passthrough search and ingestion in front of Elasticsearch, compatible with the
Autonomous Identity API surface. Every error body is
`{"error": {"code": "<stable code>", "message": "<text>"}}`.
"""


def create_app(settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    """A gateway for ``settings``; ``clock`` is what login throttling, key checks and tokens read."""
    templates = load_templates(settings.templates_dir)  # fail fast on a broken template file
    secrets = load_secrets(settings)
    recorder = RequestRecorder(access_log=settings.access_log)
    install_access_log_redaction()  # whatever server runs the app, its own access log stays key-free

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(settings, templates, secrets, clock) as services, recorder.running():
            app.state.services = services
            yield

    app = GatewayApp(
        title="ingest-gateway",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # A path with a stray slash is a 404: Starlette's redirect would build its Location from the
        # request's Host header, which any client (or a poisoned cache in front) chooses.
        redirect_slashes=False,
        # FastAPI's /docs and /redoc load Swagger UI and ReDoc from a CDN, unpinned and without integrity
        # checks, onto the origin whose page holds the admin's token: not served. /openapi.json stays.
        docs_url=None,
        redoc_url=None,
    )
    app.state.recorder = recorder
    install_error_handlers(app)
    app.add_middleware(ObservabilityMiddleware, recorder=recorder)
    for module in (service, auth, admin, key_changes, audit, search, ingest, sync):
        app.include_router(module.router)
    install_ui(app)
    install_openapi(app)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory gateway.app:create_app_from_env`` (e.g. several workers)."""
    return create_app(Settings())  # type: ignore[call-arg]  # fields come from the environment
