"""``gateway templates``: apply the index templates (index_templates/*.json)."""

from __future__ import annotations

import click
from elasticsearch import AsyncElasticsearch

from gateway.cli.common import load_settings, with_es
from gateway.es.templates import apply_templates, load_templates


@click.group("templates")
def templates_group() -> None:
    """Index templates (index_templates/*.json)."""


@templates_group.command("apply")
def templates_apply() -> None:
    """Apply every index template (idempotent) and create the indices they name."""
    settings = load_settings()

    async def apply(es: AsyncElasticsearch) -> dict[str, str]:
        return await apply_templates(es, load_templates(settings.templates_dir))

    for name, outcome in with_es(settings, apply, templates=False).items():
        click.echo(f"{name}: {outcome}")
