"""``gateway ingest-job``: ingest one CSV data source through a running gateway, with an API key only."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from gateway.cli.common import fail, print_reports, progress_option
from gateway.ingest.writer import Action
from gateway.jobs.ingest_job import JobError, run_job
from gateway.loading.loader import DEFAULT_BATCH_SIZE
from gateway.settings import Settings


@click.command("ingest-job")
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
@progress_option
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
        fail(str(exc))
    click.echo(f"data source {report.datasource.get('name')} ({datasource_id}):")
    print_reports(report.files)
    if report.failed:
        sys.exit(2)
