"""What the app holds for its lifetime: settings, the Elasticsearch client, metrics, readiness."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from gateway.errors import ElasticsearchUnavailable
from gateway.es.templates import Template, apply_templates
from gateway.observability import Metrics
from gateway.settings import Settings

log = logging.getLogger(__name__)

READINESS_TIMEOUT = 2.0


@dataclass
class GatewayState:
    settings: Settings
    es: AsyncElasticsearch
    metrics: Metrics
    templates: list[Template]
    templates_applied: bool = False
    _templates_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def ensure_templates(self) -> None:
        if self.templates_applied:
            return
        async with self._templates_lock:
            if not self.templates_applied:
                report = await apply_templates(self.es, self.templates)
                changed = {k: v for k, v in report.items() if v != "unchanged"}
                if changed:
                    log.info("index templates applied: %s", changed)
                self.templates_applied = True

    async def check_ready(self) -> str:
        """Cluster status when Elasticsearch serves and our templates are in place; raises otherwise.

        Called on every readiness probe, so a gateway that started while Elasticsearch was down becomes
        ready by itself once it returns, and goes unready again while it is away.
        """
        try:
            health = await self.es.options(request_timeout=READINESS_TIMEOUT).cluster.health()
            if health["status"] == "red":
                raise ElasticsearchUnavailable("Elasticsearch cluster status is red.")
            await self.ensure_templates()
        except (TransportError, ApiError) as exc:
            raise ElasticsearchUnavailable(f"Elasticsearch is not available: {type(exc).__name__}") from exc
        return str(health["status"])
