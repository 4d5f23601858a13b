"""The ``gateway`` command: serve the API, run the local stack, control the embedded Elasticsearch."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
import uvicorn
from pydantic import ValidationError

from gateway.app import create_app
from gateway.auth.passwords import PasswordHasher, WeakPassword
from gateway.auth.users import User, UserExists, UserStore, create_user
from gateway.es import embedded
from gateway.es.client import build_client
from gateway.es.templates import apply_templates, load_templates
from gateway.ingest import Action
from gateway.ingest_job import JobError, run_job
from gateway.loader import DEFAULT_BATCH_SIZE, FileReport
from gateway.seed import DATASOURCES_FILE, MAPPINGS_FILE, ensure_demo_admin, load_seed
from gateway.server import CoalescingHttpToolsProtocol
from gateway.settings import Settings
from gateway.synthetic import generate
from gateway.tls import ensure_certificate

log = logging.getLogger("gateway")


def _fail(message: str) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(1)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with command-line overrides; a readable error instead of a trace."""
    try:
        base = Settings()  # type: ignore[call-arg]  # fields come from the environment
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        _fail(f"invalid configuration: {problems}")
    updates = {k: v for k, v in overrides.items() if v is not None}
    return base.model_copy(update=updates) if updates else base


def _configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("elastic_transport").setLevel(logging.WARNING)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ingest-gateway")
def main() -> None:
    """ingest-gateway: API keys, passthrough search and ingestion in front of Elasticsearch.

    Configuration comes from environment variables (see the README's table); options override them.
    """


# --- serving --------------------------------------------------------------------------------------------


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
        http=CoalescingHttpToolsProtocol,
        **ssl,  # type: ignore[arg-type]
    )


@main.command("serve")
@click.option("--host", help="Address to bind [GATEWAY_HOST, default 127.0.0.1].")
@click.option("--port", type=int, help="Port to bind [GATEWAY_PORT, default 8443]; run replicas on others.")
@click.option("--no-tls", is_flag=True, help="Serve plain HTTP (behind a TLS-terminating proxy).")
def serve_command(host: str | None, port: int | None, no_tls: bool) -> None:
    """Serve the gateway API against the Elasticsearch at ES_URL."""
    _configure_logging()
    serve(load_settings(host=host, port=port, tls=False if no_tls else None))


@main.command("up")
@click.option("--port", type=int, help="Gateway port [GATEWAY_PORT, default 8443].")
def up_command(port: int | None) -> None:
    """Run the local stack: embedded Elasticsearch (unless ES_URL is set), templates, gateway.

    Ctrl-C stops the gateway and the Elasticsearch node this command started.
    """
    _configure_logging()
    settings = load_settings(port=port)
    node: embedded.NodeConfig | None = None
    try:
        if "es_url" not in settings.model_fields_set:
            config = embedded.NodeConfig(settings.es_data_dir, settings.embedded_es_port)
            if embedded.status(config) is None:
                node = config  # ours to stop on the way out, even if start is interrupted
            click.echo(
                f"starting embedded Elasticsearch {embedded.pinned_version()} (log: {config.log_file})"
            )
            settings = settings.model_copy(update={"es_url": embedded.start(config).url})
        asyncio.run(_prepare_demo(settings))
        serve(settings)
    except embedded.EmbeddedEsError as exc:
        _fail(str(exc))
    finally:
        if node is not None:
            click.echo("stopping embedded Elasticsearch ...")
            embedded.stop(node)


async def _prepare_demo(settings: Settings) -> None:
    es = build_client(settings)
    try:
        report = await apply_templates(es, load_templates(settings.templates_dir))
        click.echo(f"index templates: {len(report)} checked")
        await ensure_demo_admin(es, settings.admin_group)
        _print_reports(await load_seed(es, settings))
    finally:
        await es.close()


def _print_reports(reports: list[FileReport]) -> None:
    for report in reports:
        line = f"{report.entity}: {report.loaded} loaded from {report.file}"
        click.echo(line + (f", {report.failed} failed" if report.failed else ""))
        for error in report.errors:
            click.secho(f"  skipped {error}", fg="yellow", err=True)
        if report.failed > len(report.errors):
            click.secho(f"  ... and {report.failed - len(report.errors)} more", fg="yellow", err=True)


_progress_option = click.option(
    "--progress/--no-progress", default=None, help="Progress bars [default: when stderr is a terminal]."
)


@main.group("seed")
def seed_group() -> None:
    """Seed data: data sources, mappings and entity CSV files (seed/)."""


@seed_group.command("load")
@click.option(
    "--datasources",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DATASOURCES_FILE,
    show_default=True,
    help="CSV of data-source definitions, one row per data source.",
)
@click.option(
    "--mappings",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=MAPPINGS_FILE,
    show_default=True,
    help="JSON array of attribute mappings.",
)
@click.option(
    "--data-root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Where file: URIs resolve [GATEWAY_DATA_ROOT, default seed/].",
)
@_progress_option
def seed_load(datasources: Path, mappings: Path, data_root: Path | None, progress: bool | None) -> None:
    """Load data sources, mappings and the entity files of active CSV data sources.

    Idempotent (ids are deterministic; entities are upserted). Bad rows are reported by file and line and
    do not stop the good ones; the exit status is 2 when any row failed.
    """
    settings = load_settings(data_root=data_root)

    async def run() -> list[FileReport]:
        es = build_client(settings)
        try:
            await apply_templates(es, load_templates(settings.templates_dir))
            return await load_seed(
                es, settings, datasources=datasources, mappings=mappings, progress=progress
            )
        finally:
            await es.close()

    reports = asyncio.run(run())
    _print_reports(reports)
    if any(r.failed for r in reports):
        sys.exit(2)


@seed_group.command("generate")
@click.option("--identities", type=click.IntRange(min=1), required=True, help="How many identities.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for applications.csv, entitlements.csv, identities.csv, assignments.csv.",
)
@click.option("--seed", "random_seed", type=int, default=2022, show_default=True, help="Random seed.")
@click.option(
    "--assignments-per-identity", type=click.IntRange(min=1), default=3, show_default=True, help="On average."
)
def seed_generate(identities: int, out: Path, random_seed: int, assignments_per_identity: int) -> None:
    """Write a coherent synthetic data set (e.g. 1000000 identities for benchmarks), streamed to disk."""
    counts = generate(out, identities, seed=random_seed, assignments_per_identity=assignments_per_identity)
    click.echo(
        f"wrote {counts.applications} applications, {counts.entitlements} entitlements, "
        f"{counts.identities} identities, {counts.assignments} assignments to {out}"
    )


# --- ingestion job ----------------------------------------------------------------------------------------


@main.command("ingest-job")
@click.option("--datasource", "datasource_id", required=True, help="Id of the data source to ingest.")
@click.option(
    "--url",
    envvar="INGEST_GATEWAY_URL",
    default="https://127.0.0.1:8443",
    show_default=True,
    help="Gateway base URL [INGEST_GATEWAY_URL].",
)
@click.option("--tenant-id", envvar="TENANT_ID", required=True, help="Tenant id [TENANT_ID].")
@click.option(
    "--api-key",
    envvar="INGEST_API_KEY",
    prompt=True,
    hide_input=True,
    help="API key [INGEST_API_KEY; prompted for when unset, never pass it on a shared command line].",
)
@click.option(
    "--data-root",
    envvar="GATEWAY_DATA_ROOT",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Settings.model_fields["data_root"].default,
    help="Where the data source's file: URIs resolve [GATEWAY_DATA_ROOT, default seed/].",
)
@click.option(
    "--action",
    type=click.Choice([a.value for a in Action]),
    help="Override the action [default: from the data source's sync_type: delete → delete, else upsert].",
)
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=DEFAULT_BATCH_SIZE, show_default=True)
@click.option("--ca-cert", type=click.Path(exists=True, dir_okay=False), help="CA bundle for the gateway.")
@click.option(
    "--insecure", "-k", is_flag=True, help="Do not verify the gateway's certificate (like curl -k)."
)
@_progress_option
def ingest_job(
    datasource_id: str,
    url: str,
    tenant_id: str,
    api_key: str,
    data_root: Path,
    action: str | None,
    batch_size: int,
    ca_cert: str | None,
    insecure: bool,
    progress: bool | None,
) -> None:
    """Ingest one CSV data source through the gateway, with a tenant id and an API key only.

    Finds the data source with the passthrough search, reads the files its entityTypes point to and
    pushes them through /api/ingest/* in batches. Exit status 2 when any row failed, 1 on a fatal error.
    """
    verify: bool | str = False if insecure else (ca_cert or True)
    try:
        report = asyncio.run(
            run_job(
                url,
                tenant_id,
                api_key,
                datasource_id,
                data_root,
                verify=verify,
                action=Action(action) if action else None,
                batch_size=batch_size,
                progress=progress,
            )
        )
    except JobError as exc:
        _fail(str(exc))
    click.echo(f"data source {report.datasource.get('name')} ({datasource_id}):")
    _print_reports(report.files)
    if report.failed:
        sys.exit(2)


# --- templates ------------------------------------------------------------------------------------------


async def _apply_templates(settings: Settings) -> dict[str, str]:
    es = build_client(settings)
    try:
        return await apply_templates(es, load_templates(settings.templates_dir))
    finally:
        await es.close()


@main.group("templates")
def templates_group() -> None:
    """Index templates (index_templates/*.json)."""


@templates_group.command("apply")
def templates_apply() -> None:
    """Apply every index template (idempotent) and create the indices they name."""
    settings = load_settings()
    for name, outcome in asyncio.run(_apply_templates(settings)).items():
        click.echo(f"{name}: {outcome}")


# --- users ---------------------------------------------------------------------------------------------


async def _create_user(settings: Settings, username: str, password: str, **fields: Any) -> User:
    es = build_client(settings)
    try:
        await apply_templates(es, load_templates(settings.templates_dir))
        return await create_user(UserStore(es), PasswordHasher(), username, password, **fields)
    finally:
        await es.close()


@main.group("users")
def users_group() -> None:
    """Administrator accounts (stored in Elasticsearch, passwords hashed with Argon2id)."""


@users_group.command("create")
@click.argument("username")
@click.option("--admin/--no-admin", default=True, show_default=True, help="Add to the admin group.")
@click.option("--display-name", help="Display name [default: the username].")
@click.option("--gid-number", default="999", show_default=True, help="gidNumber shown in login responses.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(
    username: str, admin: bool, display_name: str | None, gid_number: str, password_stdin: bool
) -> None:
    """Create a user; the password is prompted for (hidden) unless --password-stdin is given."""
    settings = load_settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    groups = ("Zoran User", settings.admin_group) if admin else ("Zoran User",)
    try:
        user = asyncio.run(
            _create_user(
                settings, username, password, display_name=display_name, groups=groups, gid_number=gid_number
            )
        )
    except (UserExists, WeakPassword) as exc:
        _fail(str(exc))
    click.echo(f"created {user.username} (groups: {', '.join(user.groups)})")


# --- embedded Elasticsearch -----------------------------------------------------------------------------


def _node_options(func: Any) -> Any:
    func = click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="EMBEDDED_ES_DATA_DIR",
        help="Node home: data, logs, pid file [default: $GATEWAY_STATE_DIR/elasticsearch].",
    )(func)
    func = click.option(
        "--port", type=int, envvar="EMBEDDED_ES_PORT", default=9200, show_default=True, help="HTTP port."
    )(func)
    return func


def _node_config(data_dir: Path | None, port: int, **extra: Any) -> embedded.NodeConfig:
    if data_dir is None:
        data_dir = Path(os.environ.get("GATEWAY_STATE_DIR", ".state")) / "elasticsearch"
    return embedded.NodeConfig(data_dir=data_dir, port=port, **extra)


@main.group("es")
def es_group() -> None:
    """The embedded single-node Elasticsearch (for development, tests and demos)."""


@es_group.command("start")
@_node_options
@click.option("--heap", default="1g", show_default=True, help="Maximum JVM heap.")
def es_start(data_dir: Path | None, port: int, heap: str) -> None:
    """Start the node and wait until it serves (first run downloads it from Maven Central)."""
    config = _node_config(data_dir, port, heap=heap)
    click.echo(f"starting Elasticsearch {embedded.pinned_version()} on port {port} (log: {config.log_file})")
    try:
        node = embedded.start(config)
    except embedded.EmbeddedEsError as exc:
        _fail(str(exc))
    click.echo(f"ready: {node.url} (pid {node.pid}, log {node.log_file})")


@es_group.command("stop")
@_node_options
def es_stop(data_dir: Path | None, port: int) -> None:
    """Stop the node started from this data dir; no process is left behind."""
    stopped = embedded.stop(_node_config(data_dir, port))
    click.echo("stopped" if stopped else "not running")


@es_group.command("status")
@_node_options
def es_status(data_dir: Path | None, port: int) -> None:
    """Tell whether the node runs and serves; exit code 3 when it does not run."""
    node = embedded.status(_node_config(data_dir, port))
    if node is None:
        click.echo("not running")
        sys.exit(3)
    state = "ready" if node.ready else "starting or unhealthy"
    click.echo(f"running: {node.url} (pid {node.pid}, {state}, log {node.log_file})")
