"""``gateway es``: the embedded Elasticsearch, one node or a local cluster (start, stop, status)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from gateway.cli.common import fail
from gateway.embedded import cluster, launcher


def _node_options(func: Any) -> Any:
    func = click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="EMBEDDED_ES_DATA_DIR",
        help="Node home: data, logs, pid file; node-<i>/ per node of a cluster "
        "[default: $GATEWAY_STATE_DIR/elasticsearch].",
    )(func)
    func = click.option(
        "--port",
        type=int,
        envvar="EMBEDDED_ES_PORT",
        default=9200,
        show_default=True,
        help="HTTP port (of the first node; node i listens on PORT+i).",
    )(func)
    return func


def _data_dir(data_dir: Path | None) -> Path:
    if data_dir is None:
        return Path(os.environ.get("GATEWAY_STATE_DIR", ".state")) / "elasticsearch"
    return data_dir


@click.group("es")
def es_group() -> None:
    """The embedded Elasticsearch: one node, or a local cluster (for development, tests and demos)."""


@es_group.command("start")
@_node_options
@click.option("--heap", default="1g", show_default=True, help="Maximum JVM heap of each node.")
@click.option(
    "--nodes", type=click.IntRange(min=1), default=1, show_default=True, help="Nodes forming one cluster."
)
@click.option(
    "--transport-port",
    type=int,
    default=9300,
    show_default=True,
    help="Transport port of the first node of a cluster (node i uses PORT+i).",
)
def es_start(data_dir: Path | None, port: int, heap: str, nodes: int, transport_port: int) -> None:
    """Start the node(s) and wait until they serve (first run downloads Elasticsearch from Maven Central)."""
    config = cluster.ClusterConfig(
        _data_dir(data_dir), nodes=nodes, http_base=port, transport_base=transport_port, heap=heap
    )
    version = launcher.pinned_version()
    if nodes == 1:
        log_file = config.node_configs()[0].log_file
        click.echo(f"starting Elasticsearch {version} on port {port} (log: {log_file})")
    else:
        click.echo(
            f"starting a {nodes}-node Elasticsearch {version} cluster on ports {port}-{port + nodes - 1}"
        )
    try:
        started = cluster.start(config)
    except launcher.EmbeddedEsError as exc:
        fail(str(exc))
    for node in started:
        click.echo(f"ready: {node.url} (pid {node.pid}, log {node.log_file})")
    if nodes > 1:
        click.echo(f"cluster green with {nodes} nodes; use ES_URL={config.es_url}")


@es_group.command("stop")
@_node_options
def es_stop(data_dir: Path | None, port: int) -> None:
    """Stop the node(s) started from this data dir; no process is left behind."""
    stopped = cluster.stop(cluster.load(_data_dir(data_dir), port))
    click.echo("not running" if not stopped else "stopped" if stopped == 1 else f"stopped {stopped} nodes")


@es_group.command("status")
@_node_options
def es_status(data_dir: Path | None, port: int) -> None:
    """Tell whether the node(s) run and serve; exit code 3 when none runs."""
    config = cluster.load(_data_dir(data_dir), port)
    states = cluster.status(config)
    if not any(state.status for state in states):
        click.echo("not running")
        sys.exit(3)
    for state in states:
        node = state.status
        if node is None:
            click.echo(f"not running: {state.config.url} (log {state.config.log_file})")
            continue
        ready = "ready" if node.ready else "starting or unhealthy"
        click.echo(f"running: {node.url} (pid {node.pid}, {ready}, log {node.log_file})")
    if config.nodes > 1:
        health = cluster.health(config)
        summary = f"{health['status']}, {health['number_of_nodes']} nodes" if health else "no answer"
        click.echo(f"cluster: {summary}; ES_URL={config.es_url}")
