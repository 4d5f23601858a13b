"""What the app holds for its lifetime: settings, the Elasticsearch client, auth services, readiness."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from gateway.auth.apikeys import ApiKeyStore
from gateway.auth.login import Authenticator
from gateway.auth.secrets import ServerSecrets
from gateway.auth.users import UserExists, create_user
from gateway.auth.verifier import ApiKeyVerifier
from gateway.errors import ElasticsearchUnavailable
from gateway.es.passthrough import PassthroughClient
from gateway.es.templates import Template, apply_templates
from gateway.ingest import Ingestor
from gateway.observability import RequestRecorder
from gateway.settings import Settings

log = logging.getLogger(__name__)

READINESS_TIMEOUT = 2.0


@dataclass
class GatewayState:
    settings: Settings
    es: AsyncElasticsearch
    passthrough: PassthroughClient
    recorder: RequestRecorder
    templates: list[Template]
    secrets: ServerSecrets
    authenticator: Authenticator
    api_keys: ApiKeyStore
    verifier: ApiKeyVerifier
    ingestor: Ingestor
    templates_applied: bool = False
    _templates_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def ensure_setup(self) -> None:
        """Apply index templates and create the configured first admin, once per process."""
        if self.templates_applied:
            return
        async with self._templates_lock:
            if not self.templates_applied:
                report = await apply_templates(self.es, self.templates)
                changed = {k: v for k, v in report.items() if v != "unchanged"}
                if changed:
                    log.info("index templates applied: %s", changed)
                await self._ensure_first_admin()
                self.templates_applied = True

    async def _ensure_first_admin(self) -> None:
        username, password = self.settings.admin_username, self.settings.admin_password
        if username is None or password is None:
            return
        if await self.authenticator.users.get(username) is not None:
            return
        groups = ("Zoran User", self.settings.admin_group)
        try:
            await create_user(
                self.authenticator.users,
                self.authenticator.hasher,
                username,
                password.get_secret_value(),
                groups=groups,
            )
        except UserExists:  # another replica created it first
            return
        log.info("created the first admin %s from GATEWAY_ADMIN_USERNAME", username)

    async def check_ready(self) -> str:
        """Cluster status when Elasticsearch serves and our templates are in place; raises otherwise.

        Called on every readiness probe, so a gateway that started while Elasticsearch was down becomes
        ready by itself once it returns, and goes unready again while it is away.
        """
        try:
            health = await self.es.options(request_timeout=READINESS_TIMEOUT).cluster.health()
            if health["status"] == "red":
                raise ElasticsearchUnavailable("Elasticsearch cluster status is red.")
            await self.ensure_setup()
        except (TransportError, ApiError) as exc:
            raise ElasticsearchUnavailable(f"Elasticsearch is not available: {type(exc).__name__}") from exc
        return str(health["status"])
