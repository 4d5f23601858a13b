"""``gateway ingest-job``: ingest one data source through a running gateway, with an API key only."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from pathlib import Path

import click

from gateway.cli.common import fail, print_reports, progress_option
from gateway.ingest.writer import Action
from gateway.jobs.ingest_job import JobError, JobReport, SyncOptions, run_job
from gateway.loading.loader import DEFAULT_BATCH_SIZE
from gateway.settings import Settings


def _timestamp(_: click.Context, __: click.Parameter, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO-8601 timestamp: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


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
    # JAS_API_KEY is the name the original product's jobs read (next to TENANT_ID); the first set wins.
    envvar=["JAS_API_KEY", "INGEST_API_KEY"],
    prompt=True,
    hide_input=True,
    help="API key [JAS_API_KEY, or INGEST_API_KEY: JAS_API_KEY wins when both are set; prompted for when "
    "neither is, never pass it on a shared command line].",
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
@click.option(
    "--since",
    metavar="TIME",
    callback=_timestamp,
    help="JDBC only: rows whose updated column is later than this ISO-8601 time (UTC unless it says).",
)
@click.option(
    "--incremental",
    is_flag=True,
    help="Write what the source holds, delete nothing (a full data source's run then needs no delete scope).",
)
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=DEFAULT_BATCH_SIZE, show_default=True)
@click.option("--ca-cert", type=click.Path(exists=True, dir_okay=False), help="CA bundle for the gateway.")
@click.option(
    "--insecure", "-k", is_flag=True, help="Do not verify the gateway's certificate (like curl -k)."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Read the source and print what a full sync would delete; write nothing.",
)
@click.option(
    "--max-bad-rows",
    type=click.FloatRange(0, 1),
    default=0.01,
    show_default=True,
    help="Largest share of failed rows with which a full sync still deletes what left the source.",
)
@click.option(
    "--force-delete",
    is_flag=True,
    help="Delete even more than the gateway's GATEWAY_SYNC_MAX_DELETE_SHARE of an entity type.",
)
@progress_option
def ingest_job(
    datasource_id: str,
    url: str,
    tenant_id: str,
    api_key: str,
    data_root: Path,
    action: str | None,
    since: dt.datetime | None,
    incremental: bool,
    batch_size: int,
    ca_cert: str | None,
    insecure: bool,
    dry_run: bool,
    max_bad_rows: float,
    force_delete: bool,
    progress: bool | None,
) -> None:
    """Ingest one CSV or JDBC data source through the gateway, with a tenant id and an API key only.

    Finds the data source with the passthrough search, reads the files its entityTypes point to (or runs
    its queries) and pushes the rows through /api/ingest/* in batches, as one sync run holding the data
    source's lease. A full sync then deletes the data source's entities that left the source, unless the
    read was incomplete or more than --max-bad-rows of the rows failed (a run with --since or
    --incremental never deletes; a full sync needs a key with the delete scope). Exit status 2 when any
    row failed or a full sync deleted nothing for that reason, 1 on a fatal error.
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
                sync=SyncOptions(dry_run, max_bad_rows, force_delete, incremental),
                since=since,
            )
        )
    except JobError as exc:
        fail(str(exc))
    click.echo(f"data source {report.source.name} ({datasource_id}):")
    print_reports(report.files, "read (dry run)" if report.dry_run else "loaded")
    print_sync(report)
    if report.failed or (report.full and report.not_deleted):
        sys.exit(2)


def print_sync(report: JobReport) -> None:
    """Counts per entity and action, what a dry run would delete, or why nothing was deleted."""
    for entity, counts in (report.counts or {}).items():
        if any(counts.values()):
            click.echo(
                ", ".join(
                    [f"{entity}: {counts['created']} created"]
                    + [f"{counts[a]} {a}" for a in ("updated", "deleted")]
                )
            )
    for entity, gone in (report.would_delete or {}).items():
        shown = (
            f": {', '.join(gone.keys)}" + (" ..." if gone.count > len(gone.keys) else "") if gone.keys else ""
        )
        click.echo(f"{entity}: {gone.count} would be deleted{shown}")
    if report.rate_limited:
        click.echo(
            f"the key's rate limit made the job wait {report.rate_limited} times (each request sent again)"
        )
    if report.full and report.not_deleted:
        verb = "would delete" if report.dry_run else "deleted"
        click.secho(f"full sync: nothing {verb}: {report.not_deleted}", fg="yellow", err=True)
    elif report.dry_run and not report.full:
        click.echo(f"dry run: nothing would be deleted (sync_type {report.source.sync_type})")
