"""The application factory. ``create_app(settings)`` builds a gateway; its lifespan owns the ES client."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from elasticsearch import ApiError, TransportError
from fastapi import FastAPI

from gateway import __version__
from gateway.errors import ElasticsearchUnavailable, install_error_handlers
from gateway.es.client import build_client
from gateway.es.templates import load_templates
from gateway.observability import Metrics, ObservabilityMiddleware
from gateway.routes import service
from gateway.settings import Settings
from gateway.state import GatewayState

log = logging.getLogger(__name__)

DESCRIPTION = """\
API keys, passthrough search and ingestion in front of Elasticsearch, compatible with the
Autonomous Identity API surface. Every error body is
`{"error": {"code": "<stable code>", "message": "<text>"}}`.
"""


def create_app(settings: Settings) -> FastAPI:
    templates = load_templates(settings.templates_dir)  # fail fast on a broken template file
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        es = build_client(settings)
        state = GatewayState(settings=settings, es=es, metrics=metrics, templates=templates)
        app.state.gateway = state
        try:
            await state.ensure_templates()
        except (TransportError, ApiError, ElasticsearchUnavailable) as exc:
            # Start anyway: readiness stays false and templates are applied once Elasticsearch answers.
            log.warning("Elasticsearch not available at start (%s); will retry on readiness checks", exc)
        try:
            yield
        finally:
            await es.close()

    app = FastAPI(
        title="ingest-gateway",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    app.include_router(service.router)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory gateway.app:create_app_from_env`` (e.g. several workers)."""
    return create_app(Settings())  # type: ignore[call-arg]  # fields come from the environment
