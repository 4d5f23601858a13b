"""``gateway seed``: load the seed data, or generate a synthetic data set for benchmarks."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from elasticsearch import AsyncElasticsearch

from gateway.cli.common import load_settings, print_reports, progress_option, with_es
from gateway.loading.loader import FileReport
from gateway.loading.seed import DATASOURCES_FILE, MAPPINGS_FILE, load_seed
from gateway.loading.synthetic import generate


@click.group("seed")
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
@progress_option
def seed_load(datasources: Path, mappings: Path, data_root: Path | None, progress: bool | None) -> None:
    """Load data sources, mappings and the entity files of active CSV data sources.

    Idempotent (ids are deterministic; entities are upserted). Bad rows are reported by file and line and
    do not stop the good ones; the exit status is 2 when any row failed.
    """
    settings = load_settings(data_root=data_root)

    async def load(es: AsyncElasticsearch) -> list[FileReport]:
        return await load_seed(es, settings, datasources=datasources, mappings=mappings, progress=progress)

    reports = with_es(settings, load)
    print_reports(reports)
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
