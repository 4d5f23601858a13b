"""The application factory. ``create_app(settings)`` builds a gateway; its lifespan owns the ES client."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from elasticsearch import ApiError, TransportError
from fastapi import FastAPI

from gateway import __version__
from gateway.auth.apikeys import ApiKeyStore
from gateway.auth.login import Authenticator
from gateway.auth.passwords import PasswordHasher
from gateway.auth.secrets import load_secrets
from gateway.auth.throttle import LoginThrottle
from gateway.auth.users import UserStore
from gateway.auth.verifier import ApiKeyVerifier
from gateway.errors import ElasticsearchUnavailable, install_error_handlers
from gateway.es.client import build_client
from gateway.es.passthrough import build_passthrough_client
from gateway.es.templates import load_templates
from gateway.observability import Metrics, ObservabilityMiddleware
from gateway.routes import admin, auth, search, service
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
    secrets = load_secrets(settings)
    metrics = Metrics()
    hasher = PasswordHasher()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        es = build_client(settings)
        search_es = build_passthrough_client(settings)
        api_keys = ApiKeyStore(es)
        authenticator = Authenticator(
            users=UserStore(es),
            hasher=hasher,
            throttle=LoginThrottle(
                settings.login_max_failures_per_account,
                settings.login_max_failures_per_client,
                settings.login_failure_window_seconds,
            ),
            jwt_key=secrets.jwt_key,
            token_ttl=dt.timedelta(minutes=settings.token_ttl_minutes),
            admin_group=settings.admin_group,
        )
        verifier = ApiKeyVerifier(
            api_keys,
            secrets.api_key_hmac_key,
            tenant_id=str(settings.tenant_id),
            cache_ttl=settings.key_cache_ttl_seconds,
            revocation_window=settings.revocation_window_seconds,
        )
        state = GatewayState(
            settings=settings,
            es=es,
            search_es=search_es,
            metrics=metrics,
            templates=templates,
            secrets=secrets,
            authenticator=authenticator,
            api_keys=api_keys,
            verifier=verifier,
        )
        app.state.gateway = state
        try:
            await state.ensure_setup()
        except (TransportError, ApiError, ElasticsearchUnavailable) as exc:
            # Start anyway: readiness stays false and set-up completes once Elasticsearch answers.
            log.warning("Elasticsearch not available at start (%s); will retry on readiness checks", exc)
        watcher = asyncio.create_task(verifier.watch(), name="api-key-revocation-watch")
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await verifier.close()
            await es.close()
            await search_es.close()

    app = FastAPI(
        title="ingest-gateway",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    app.include_router(service.router)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(search.router)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory gateway.app:create_app_from_env`` (e.g. several workers)."""
    return create_app(Settings())  # type: ignore[call-arg]  # fields come from the environment
