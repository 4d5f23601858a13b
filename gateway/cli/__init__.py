"""The ``gateway`` command: serve the API, run the local stack, load data, control the embedded node.

One module per command group; this one only lists them. A command's module is imported when that command
is run (or asked for its help), never to list it: ``gateway ingest-job`` and ``gateway --help`` load
neither the web stack (FastAPI, Starlette, uvicorn) nor the embedded node's control code.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import click


class LazyCommand(NamedTuple):
    module: str
    attribute: str
    # The first paragraph of the command's help, as in its docstring: listing commands imports nothing.
    summary: str


COMMANDS: dict[str, LazyCommand] = {
    "serve": LazyCommand(
        "gateway.cli.serve",
        "serve_command",
        "Serve the gateway API against the Elasticsearch at ES_URL.",
    ),
    "up": LazyCommand(
        "gateway.cli.serve",
        "up_command",
        "Run the local stack: embedded Elasticsearch (unless ES_URL is set), templates, gateway.",
    ),
    "seed": LazyCommand(
        "gateway.cli.seed",
        "seed_group",
        "Seed data: data sources, mappings and entity CSV files (seed/).",
    ),
    "ingest-job": LazyCommand(
        "gateway.cli.jobs",
        "ingest_job",
        "Ingest one CSV or JDBC data source through the gateway, with a tenant id and an API key only.",
    ),
    "templates": LazyCommand(
        "gateway.cli.templates",
        "templates_group",
        "Index templates (index_templates/*.json).",
    ),
    "users": LazyCommand(
        "gateway.cli.users",
        "users_group",
        "Administrator accounts (stored in Elasticsearch, passwords hashed with Argon2id).",
    ),
    "es": LazyCommand(
        "gateway.cli.es",
        "es_group",
        "The embedded Elasticsearch: one node, or a local cluster (for development, tests and demos).",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (click's "Lazily Loading Subcommands")."""

    def __init__(self, *args: Any, lazy_commands: Mapping[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.lazy_commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = self.lazy_commands.get(cmd_name)
        if entry is None:
            return None
        command = getattr(importlib.import_module(entry.module), entry.attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry.module}.{entry.attribute} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """What ``click.Group`` writes, shortened the same way, from the summaries: no command imported."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        # A stand-in per command shortens its summary exactly as click shortens a command's help.
        rows = [
            (name, click.Command(name, help=self.lazy_commands[name].summary).get_short_help_str(limit))
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="ingest-gateway")
def main() -> None:
    """ingest-gateway: API keys, passthrough search and ingestion in front of Elasticsearch.

    Configuration comes from environment variables (see docs/configuration.md); options override them.
    """
