"""``gateway serve`` and ``gateway up``: the API alone, or the whole local stack with the demo seed."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging

import click
import uvicorn

from gateway.app import create_app
from gateway.cli.common import configure_logging, fail, load_settings, print_reports
from gateway.embedded import launcher
from gateway.embedded import node as embedded
from gateway.es.client import build_client
from gateway.es.connection_settings import ConnectionSettings
from gateway.es.templates import apply_templates, load_templates
from gateway.http.hotpath import SearchProtocol
from gateway.http.tls import ensure_certificate
from gateway.loading.seed import ensure_demo_admin, load_seed
from gateway.settings import Settings

log = logging.getLogger("gateway")


def serve(settings: Settings) -> None:
    ssl: dict[str, str] = {}
    if settings.tls:
        cert, key = ensure_certificate(settings)
        ssl = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    scheme = "https" if settings.tls else "http"
    log.info(
        "serving on %s://%s:%d (Elasticsearch: %s)", scheme, settings.host, settings.port, settings.es_url
    )
    app = create_app(settings)
    gc.freeze()  # start-up objects live forever: keep them out of every garbage collection
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        # Client addresses feed login throttling: believe X-Forwarded-For only from configured proxies.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        access_log=False,  # our own access log records route templates, never raw paths with keys
        log_config=None,
        server_header=False,
        # The passthrough search is answered in the protocol, below ASGI (gateway/http/hotpath.py).
        http=functools.partial(SearchProtocol, gateway=app, trusted_proxies=settings.trusted_proxies),  # type: ignore[arg-type]
        **ssl,  # type: ignore[arg-type]
    )


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
