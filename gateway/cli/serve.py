"""``gateway serve`` and ``gateway up``: the API alone, or the whole local stack with the demo seed."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import resource
import sys
from typing import Any

import click
import uvicorn
import uvloop
from fastapi import FastAPI

from gateway.app import create_app
from gateway.cli.common import configure_logging, fail, load_settings, print_reports
from gateway.embedded import launcher
from gateway.embedded import node as embedded
from gateway.es.client import build_client
from gateway.es.connection_settings import ConnectionSettings
from gateway.es.templates import apply_templates, load_templates
from gateway.http.hotpath import SearchProtocol
from gateway.http.limits import ConnectionLimits, GuardedHttpToolsProtocol
from gateway.http.tls import ensure_certificate
from gateway.loading.seed import ensure_demo_admin, load_seed
from gateway.search import MAX_BODY_BYTES as SEARCH_BODY_BYTES
from gateway.settings import Settings

log = logging.getLogger("gateway")

# Descriptors the process needs besides its clients' connections: Elasticsearch, logs, the listener.
SPARE_FILES = 256


def open_files_plan(max_connections: int, soft: int, hard: int) -> tuple[int, int]:
    """(soft RLIMIT_NOFILE to set, connection cap to apply): room for ``max_connections`` when the hard
    limit allows it, else the cap that the hard limit leaves room for."""
    needed = max_connections + SPARE_FILES
    if needed <= soft:
        return soft, max_connections
    if hard == resource.RLIM_INFINITY or needed <= hard:
        return needed, max_connections
    return hard, max(1, hard - SPARE_FILES)


def fit_open_files(max_connections: int) -> int:
    """Raise this process's soft RLIMIT_NOFILE for ``max_connections``; the cap it leaves room for."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new_soft, cap = open_files_plan(max_connections, soft, hard)
    if new_soft != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
            log.info("open-file limit raised from %d to %d for %d connections", soft, new_soft, cap)
        except (ValueError, OSError):
            new_soft, cap = soft, max(1, soft - SPARE_FILES)
    if cap < max_connections:
        log.warning(
            "GATEWAY_MAX_CONNECTIONS=%d lowered to %d: the open-file limit is %d",
            max_connections,
            cap,
            new_soft,
        )
    return cap


def connection_limits(settings: Settings) -> ConnectionLimits:
    return ConnectionLimits(
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        max_connections=fit_open_files(settings.max_connections),
        # The largest body any route accepts: ingest's (configurable) or the search's.
        max_body_bytes=max(settings.ingest_max_body_bytes, SEARCH_BODY_BYTES),
    )


class _HandshakeBoundLoop(uvloop.Loop):
    """uvloop, with a bound on TLS handshakes of servers it creates (uvicorn passes none: 60 s)."""

    handshake_timeout = 60.0

    async def create_server(self, *args: Any, **kwargs: Any) -> asyncio.AbstractServer:  # type: ignore[override]
        if kwargs.get("ssl") is not None:
            kwargs.setdefault("ssl_handshake_timeout", self.handshake_timeout)
        return await super().create_server(*args, **kwargs)


def _loop_factory(handshake_timeout: float) -> uvloop.Loop:
    loop = _HandshakeBoundLoop()
    loop.handshake_timeout = handshake_timeout
    return loop


def protocol(app: FastAPI, settings: Settings, limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol as the gateway serves it: each request bounded (``limits.py``), then the
    passthrough search answered in the protocol itself (``hotpath.py``), anything else by the app."""
    hot = SearchProtocol.serving(app, settings.trusted_proxies)
    return type("GatewayProtocol", (GuardedHttpToolsProtocol.configured(limits), hot), {})


def serve(settings: Settings) -> None:
    ssl: dict[str, str] = {}
    if settings.tls:
        cert, key = ensure_certificate(settings)
        ssl = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    scheme = "https" if settings.tls else "http"
    log.info(
        "serving on %s://%s:%d (Elasticsearch: %s)", scheme, settings.host, settings.port, settings.es_url
    )
    limits = connection_limits(settings)
    app = create_app(settings)
    gc.freeze()  # start-up objects live forever: keep them out of every garbage collection
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # Client addresses feed login throttling: believe X-Forwarded-For only from configured proxies.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        access_log=False,  # our own access log records route templates, never raw paths with keys
        log_config=None,
        server_header=False,
        http=protocol(app, settings, limits),
        **ssl,  # type: ignore[arg-type]
    )
    server = uvicorn.Server(config)
    # uvicorn.run, with a loop that bounds TLS handshakes by the header deadline.
    loop_factory = functools.partial(_loop_factory, settings.header_timeout)
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(server.serve())
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE


@click.command("serve")
@click.option("--host", help="Address to bind [GATEWAY_HOST, default 127.0.0.1].")
@click.option("--port", type=int, help="Port to bind [GATEWAY_PORT, default 8443]; run replicas on others.")
@click.option("--no-tls", is_flag=True, help="Serve plain HTTP (behind a TLS-terminating proxy).")
def serve_command(host: str | None, port: int | None, no_tls: bool) -> None:
    """Serve the gateway API against the Elasticsearch at ES_URL."""
    configure_logging()
    serve(load_settings(host=host, port=port, tls=False if no_tls else None))


@click.command("up")
@click.option("--port", type=int, help="Gateway port [GATEWAY_PORT, default 8443].")
def up_command(port: int | None) -> None:
    """Run the local stack: embedded Elasticsearch (unless ES_URL is set), templates, gateway.

    Ctrl-C stops the gateway and the Elasticsearch node this command started.
    """
    configure_logging()
    settings = load_settings(port=port)
    node: embedded.NodeConfig | None = None
    try:
        if "es_url" not in settings.model_fields_set:
            config = embedded.NodeConfig(settings.es_data_dir, settings.embedded_es_port)
            if embedded.status(config) is None:
                node = config  # ours to stop on the way out, even if start is interrupted
            click.echo(
                f"starting embedded Elasticsearch {launcher.pinned_version()} (log: {config.log_file})"
            )
            settings = settings.model_copy(update={"es_url": embedded.start(config).url})
        asyncio.run(_prepare_demo(settings))
        serve(settings)
    except launcher.EmbeddedEsError as exc:
        fail(str(exc))
    finally:
        if node is not None:
            click.echo("stopping embedded Elasticsearch ...")
            embedded.stop(node)


async def _prepare_demo(settings: Settings) -> None:
    es = build_client(ConnectionSettings.from_settings(settings))
    try:
        report = await apply_templates(es, load_templates(settings.templates_dir))
        click.echo(f"index templates: {len(report)} checked")
        await ensure_demo_admin(es, settings.admin_group)
        print_reports(await load_seed(es, settings))
    finally:
        await es.close()
