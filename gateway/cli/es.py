"""``gateway es``: the embedded single-node Elasticsearch (start, stop, status)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from gateway.cli.common import fail
from gateway.es import embedded, launcher


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


@click.group("es")
def es_group() -> None:
    """The embedded single-node Elasticsearch (for development, tests and demos)."""


@es_group.command("start")
@_node_options
@click.option("--heap", default="1g", show_default=True, help="Maximum JVM heap.")
def es_start(data_dir: Path | None, port: int, heap: str) -> None:
    """Start the node and wait until it serves (first run downloads it from Maven Central)."""
    config = _node_config(data_dir, port, heap=heap)
    click.echo(f"starting Elasticsearch {launcher.pinned_version()} on port {port} (log: {config.log_file})")
    try:
        node = embedded.start(config)
    except launcher.EmbeddedEsError as exc:
        fail(str(exc))
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
