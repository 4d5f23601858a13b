"""The ``gateway`` command: serve the API, run the local stack, load data, control the embedded node.

One module per command group; this one only assembles them.
"""

from __future__ import annotations

import click

from gateway.cli.es import es_group
from gateway.cli.jobs import ingest_job
from gateway.cli.seed import seed_group
from gateway.cli.serve import serve_command, up_command
from gateway.cli.templates import templates_group
from gateway.cli.users import users_group


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    commands=[serve_command, up_command, seed_group, ingest_job, templates_group, users_group, es_group],
)
@click.version_option(package_name="ingest-gateway")
def main() -> None:
    """ingest-gateway: API keys, passthrough search and ingestion in front of Elasticsearch.

    Configuration comes from environment variables (see the README's table); options override them.
    """
