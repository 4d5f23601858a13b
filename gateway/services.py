"""What the app holds for its lifetime: settings, the Elasticsearch clients, the auth and ingest services.

``open_services`` builds them, applies the index templates and creates the configured first admin (or
leaves that to the readiness probe while Elasticsearch is away), runs the revocation watch, and closes
everything on the way out. Nothing here knows about HTTP; ``gateway.http`` reads what it needs from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from gateway.audit.store import AuditStore
from gateway.audit.trail import AuditTrail
from gateway.auth.callers import CallerCheck
from gateway.auth.key_lifecycle import ApiKeys
from gateway.auth.key_store import ApiKeyStore
from gateway.auth.login import Authenticator
from gateway.auth.passwords import PasswordHasher
from gateway.auth.server_secrets import ServerSecrets
from gateway.auth.sessions import SessionStore
from gateway.auth.throttle import LoginThrottle
from gateway.auth.users import UserStore, admin_groups, ensure_user
from gateway.auth.verifier import ApiKeyVerifier
from gateway.clock import Clock
from gateway.errors import ElasticsearchUnavailable
from gateway.es.bulk import ingest_policy
from gateway.es.client import build_client
from gateway.es.connection_settings import ConnectionSettings
from gateway.es.passthrough import PassthroughClient
from gateway.es.sniff import NodeSniffer
from gateway.es.templates import Template, apply_templates
from gateway.ingest.leases import SyncLeases
from gateway.ingest.sync import SyncService
from gateway.ingest.writer import Ingestor
from gateway.settings import Settings

log = logging.getLogger(__name__)

READINESS_TIMEOUT = 2.0


@dataclass
class Services:
    settings: Settings
    es: AsyncElasticsearch
    passthrough: PassthroughClient
    templates: list[Template]
    authenticator: Authenticator
    verifier: ApiKeyVerifier
    keys: ApiKeys
    callers: CallerCheck
    audit: AuditTrail
    ingestor: Ingestor
    sync: SyncService
    sniffer: NodeSniffer | None = None
    set_up: bool = False
    _set_up_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def ensure_setup(self) -> None:
        """Apply index templates and create the configured first admin, once per process."""
        if self.set_up:
            return
        async with self._set_up_lock:
            if not self.set_up:
                report = await apply_templates(self.es, self.templates)
                changed = {k: v for k, v in report.items() if v != "unchanged"}
                if changed:
                    log.info("index templates applied: %s", changed)
                await self._ensure_first_admin()
                self.set_up = True

    async def _ensure_first_admin(self) -> None:
        """The admin named by GATEWAY_ADMIN_USERNAME/PASSWORD, created once (and never updated)."""
        username, password = self.settings.admin_username, self.settings.admin_password
        if username is None or password is None:
            return
        users, hasher = self.authenticator.users, self.authenticator.hasher
        groups = admin_groups(self.settings.admin_group)
        if await ensure_user(users, hasher, username, password.get_secret_value(), groups=groups):
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


def build_services(
    settings: Settings, templates: list[Template], secrets: ServerSecrets, clock: Clock
) -> Services:
    connection = ConnectionSettings.from_settings(settings)  # both clients share its header and TLS context
    es = build_client(connection)
    tenant_id = str(settings.tenant_id)
    audit = AuditTrail(AuditStore(es), clock, settings.audit_retention_days)
    authenticator = Authenticator(
        users=UserStore(es),
        hasher=PasswordHasher(),
        throttle=LoginThrottle(
            max_per_account_client=settings.login_max_failures_per_account_client,
            max_per_client=settings.login_max_failures_per_client,
            max_per_account=settings.login_max_failures_per_account,
            window_seconds=settings.login_failure_window_seconds,
            clock=clock,
        ),
        sessions=SessionStore(es),
        jwt_key=secrets.jwt_key,
        token_ttl=dt.timedelta(minutes=settings.token_ttl_minutes),
        session_lifetime=dt.timedelta(hours=settings.session_lifetime_hours),
        admin_group=settings.admin_group,
        audit=audit,
        clock=clock,
    )
    store = ApiKeyStore(es)
    verifier = ApiKeyVerifier(
        store,
        secrets.api_key_hmac_key,
        tenant_id=tenant_id,
        cache_ttl=settings.key_cache_ttl_seconds,
        revocation_window=settings.revocation_window_seconds,
        clock=clock,
    )
    policy = ingest_policy(settings)
    passthrough = PassthroughClient(connection, clock=clock)
    sniffer = None
    if connection.sniff:
        sniffer = NodeSniffer(es, passthrough, connection.urls[0])
        passthrough.on_node_failure = sniffer.node_failed
    return Services(
        settings=settings,
        es=es,
        passthrough=passthrough,
        sniffer=sniffer,
        templates=templates,
        authenticator=authenticator,
        verifier=verifier,
        keys=ApiKeys(store, secrets.api_key_hmac_key, tenant_id, verifier, clock, audit),
        callers=CallerCheck(verifier, authenticator, tenant_id),
        audit=audit,
        ingestor=Ingestor(es, settings.tenant_name, policy=policy),
        sync=SyncService(
            es,
            settings.tenant_name,
            settings.datasource_index,
            SyncLeases(es, clock, settings.sync_lease_seconds),
            settings.sync_max_delete_share,
            policy,
        ),
    )


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings, templates: list[Template], secrets: ServerSecrets, clock: Clock
) -> AsyncIterator[Services]:
    """The services of one running app: set up, watched for revocations, and closed at the end."""
    services = build_services(settings, templates, secrets, clock)
    if services.sniffer is not None:
        await services.sniffer.start()  # a failed sniff keeps the ES_URL nodes
    try:
        await services.ensure_setup()
    except (TransportError, ApiError, ElasticsearchUnavailable) as exc:
        # Start anyway: readiness stays false and set-up completes once Elasticsearch answers.
        log.warning("Elasticsearch not available at start (%s); will retry on readiness checks", exc)
    watch = asyncio.create_task(services.verifier.watch(), name="api-key-revocation-watch")
    audit = asyncio.create_task(services.audit.run(), name="audit-trail-flush")
    try:
        yield services
    finally:
        for task in (watch, audit):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await services.audit.close()  # what was counted but not yet written
        if services.sniffer is not None:
            await services.sniffer.close()
        await services.verifier.close()
        await services.es.close()
        await services.passthrough.close()
