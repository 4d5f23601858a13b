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
from starlette.types import Receive, Scope, Send

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
from gateway.es.passthrough import PassthroughClient
from gateway.es.templates import load_templates
from gateway.fastpath import SEARCH_PATH, serve_search
from gateway.ingest import Ingestor
from gateway.observability import ObservabilityMiddleware, RequestRecorder, install_access_log_redaction
from gateway.openapi import install_openapi
from gateway.routes import admin, auth, ingest, search, service
from gateway.settings import Settings
from gateway.state import GatewayState

log = logging.getLogger(__name__)

DESCRIPTION = """\
API keys, passthrough search and ingestion in front of Elasticsearch, compatible with the
Autonomous Identity API surface. Every error body is
`{"error": {"code": "<stable code>", "message": "<text>"}}`.
"""


class GatewayApp(FastAPI):
    """FastAPI, with the passthrough search answered before routing (see gateway.fastpath)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == SEARCH_PATH and scope["method"] == "POST":
            await serve_search(self.state.gateway, scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings) -> FastAPI:
    templates = load_templates(settings.templates_dir)  # fail fast on a broken template file
    secrets = load_secrets(settings)
    recorder = RequestRecorder(access_log=settings.access_log)
    install_access_log_redaction()  # whatever server runs the app, its own access log stays key-free
    hasher = PasswordHasher()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        es = build_client(settings)
        passthrough = PassthroughClient(settings)
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
            passthrough=passthrough,
            recorder=recorder,
            templates=templates,
            secrets=secrets,
            authenticator=authenticator,
            api_keys=api_keys,
            verifier=verifier,
            ingestor=Ingestor(es, settings.tenant_name),
        )
        app.state.gateway = state
        try:
            await state.ensure_setup()
        except (TransportError, ApiError, ElasticsearchUnavailable) as exc:
            # Start anyway: readiness stays false and set-up completes once Elasticsearch answers.
            log.warning("Elasticsearch not available at start (%s); will retry on readiness checks", exc)
        background = [
            asyncio.create_task(verifier.watch(), name="api-key-revocation-watch"),
            asyncio.create_task(recorder.run(), name="access-log-flush"),
        ]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await verifier.close()
            await es.close()
            await passthrough.close()

    app = GatewayApp(
        title="ingest-gateway",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(ObservabilityMiddleware, recorder=recorder)
    app.include_router(service.router)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(search.router)
    app.include_router(ingest.router)
    install_openapi(app)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory gateway.app:create_app_from_env`` (e.g. several workers)."""
    return create_app(Settings())  # type: ignore[call-arg]  # fields come from the environment
