"""What every command shares: settings with readable errors, logging, a client, file reports."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import click
from elasticsearch import AsyncElasticsearch
from pydantic import ValidationError

from gateway.es.client import build_client
from gateway.es.connection_settings import ConnectionSettings
from gateway.es.templates import apply_templates, load_templates
from gateway.loading.loader import FileReport
from gateway.settings import Settings

T = TypeVar("T")


def fail(message: str) -> NoReturn:
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
        fail(f"invalid configuration: {problems}")
    updates = {k: v for k, v in overrides.items() if v is not None}
    return base.model_copy(update=updates) if updates else base


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("elastic_transport").setLevel(logging.WARNING)
    # Its retries after a node failure are logged with a whole traceback each; the node pool's one-line
    # "has failed ... putting on N second timeout" already says what happened.
    logging.getLogger("elastic_transport.transport").setLevel(logging.ERROR)


def with_es(
    settings: Settings, work: Callable[[AsyncElasticsearch], Awaitable[T]], *, templates: bool = True
) -> T:
    """Run ``work`` with a client for ``settings`` (after applying the index templates), then close it."""

    async def run() -> T:
        es = build_client(ConnectionSettings.from_settings(settings))
        try:
            if templates:
                await apply_templates(es, load_templates(settings.templates_dir))
            return await work(es)
        finally:
            await es.close()

    return asyncio.run(run())


def print_reports(reports: list[FileReport], verb: str = "loaded") -> None:
    for report in reports:
        line = f"{report.entity}: {report.loaded} {verb} from {report.file}"
        click.echo(line + (f", {report.failed} failed" if report.failed else ""))
        for error in report.errors:
            click.secho(f"  skipped {error}", fg="yellow", err=True)
        if report.failed > len(report.errors):
            click.secho(f"  ... and {report.failed - len(report.errors)} more", fg="yellow", err=True)


progress_option = click.option(
    "--progress/--no-progress", default=None, help="Progress bars [default: when stderr is a terminal]."
)
