"""Several embedded nodes that form one Elasticsearch cluster on 127.0.0.1 (``gateway es start --nodes N``).

Node ``i`` lives in ``<data_dir>/node-<i>`` with HTTP port ``http_base + i`` and transport port
``transport_base + i``; the nodes find each other through ``discovery.seed_hosts``. The cluster's shape is
kept in ``<data_dir>/cluster.json`` from start until stop, so that ``stop`` and ``status`` find every
node. One node is the plain single-node setup of ``node.py``, in the data dir itself, as before.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.embedded import node as embedded
from gateway.embedded.launcher import LAUNCHER_DIR, EmbeddedEsError

STATE_FILE = "cluster.json"


@dataclass(frozen=True)
class ClusterConfig:
    data_dir: Path
    nodes: int = 1
    http_base: int = 9200
    transport_base: int = 9300
    heap: str = "1g"
    start_timeout: float = 180.0
    launcher_dir: Path = LAUNCHER_DIR

    def __post_init__(self) -> None:
        if self.nodes < 1:
            raise EmbeddedEsError(f"--nodes must be at least 1, got {self.nodes}")
        object.__setattr__(self, "data_dir", self.data_dir.resolve())

    @property
    def state_file(self) -> Path:
        return self.data_dir / STATE_FILE

    @property
    def node_names(self) -> list[str]:
        return [f"node-{i}" for i in range(self.nodes)]

    @property
    def transport_ports(self) -> list[int]:
        return [self.transport_base + i for i in range(self.nodes)]

    def node_configs(self, bootstrap: bool = False) -> list[embedded.NodeConfig]:
        """Each node's config; ``bootstrap`` adds the initial master nodes that a brand-new cluster needs."""
        if self.nodes == 1:
            return [self._node(self.data_dir, self.http_base)]
        seeds = ",".join(f"127.0.0.1:{port}" for port in self.transport_ports)
        # Only for the very first election: a restarted cluster must not bootstrap a second time.
        initial = (f"cluster.initial_master_nodes={','.join(self.node_names)}",) if bootstrap else ()
        return [
            self._node(
                self.data_dir / name,
                self.http_base + i,
                f"node.name={name}",
                "discovery.type=multi-node",
                f"transport.port={self.transport_base + i}",
                f"discovery.seed_hosts={seeds}",
                *initial,
            )
            for i, name in enumerate(self.node_names)
        ]

    def _node(self, data_dir: Path, port: int, *settings: str) -> embedded.NodeConfig:
        return embedded.NodeConfig(
            data_dir, port, self.heap, self.start_timeout, self.launcher_dir, settings=settings
        )

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.node_configs()]

    @property
    def es_url(self) -> str:
        """What to put in ``ES_URL``: every node's URL, comma-separated."""
        return ",".join(self.urls)

    def save(self) -> None:
        shape = {"nodes": self.nodes, "http_base": self.http_base, "transport_base": self.transport_base}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(shape) + "\n")


def load(data_dir: Path, http_base: int = 9200) -> ClusterConfig:
    """The cluster started from ``data_dir``; a single node on ``http_base`` when none was recorded."""
    try:
        shape: dict[str, Any] = json.loads((data_dir / STATE_FILE).read_text())
        return ClusterConfig(
            data_dir,
            nodes=int(shape["nodes"]),
            http_base=int(shape["http_base"]),
            transport_base=int(shape["transport_base"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return ClusterConfig(data_dir, nodes=1, http_base=http_base)


@dataclass(frozen=True)
class NodeState:
    config: embedded.NodeConfig
    status: embedded.NodeStatus | None


def health(config: ClusterConfig, wait_for: str = "", timeout: str = "1s") -> dict[str, Any] | None:
    """``_cluster/health`` from the first node that answers; None when none does."""
    query = f"?timeout={timeout}" + (f"&{wait_for}" if wait_for else "")
    for url in config.urls:
        try:
            answer = embedded.http_json(f"{url}/_cluster/health{query}", timeout=5.0)
        except urllib.error.HTTPError as exc:  # 408 when the wait timed out: the body still tells the state
            try:
                answer = json.loads(exc.read())
            except ValueError:
                continue
        except (urllib.error.URLError, OSError, ValueError):
            continue
        # An error body (no master elected yet) carries a numeric "status"; health carries a colour.
        if isinstance(answer, dict) and isinstance(answer.get("status"), str):
            return answer
    return None


def status(config: ClusterConfig) -> list[NodeState]:
    return [NodeState(node, embedded.status(node)) for node in config.node_configs()]


def start(config: ClusterConfig) -> list[embedded.NodeStatus]:
    """Start every node (reusing those already running); wait until the cluster is green with all of them."""
    recorded = load(config.data_dir, config.http_base)
    if recorded.nodes != config.nodes and any(node.status for node in status(recorded)):
        raise EmbeddedEsError(
            f"{recorded.nodes} node(s) already run from {config.data_dir}; run `gateway es stop` first"
        )
    if config.nodes == 1:
        config.state_file.unlink(missing_ok=True)
        return [embedded.start(config.node_configs()[0])]
    fresh = not any((node.data_dir / "data").is_dir() for node in config.node_configs())
    nodes = config.node_configs(bootstrap=fresh)
    for node, transport_port in zip(nodes, config.transport_ports, strict=True):
        if embedded.status(node) is None:
            for port in (node.port, transport_port):
                if embedded.port_in_use(port):
                    raise EmbeddedEsError(
                        f"port {port} is already taken; pick other ports or stop that process"
                    )
    config.save()  # before any launch, so that `stop` finds every node even if this start is interrupted
    launched: dict[Path, subprocess.Popen[bytes]] = {}
    try:
        for node in nodes:
            if embedded.status(node) is None:
                launched[node.data_dir] = embedded.launch(node)
        _wait_green(config, nodes, launched)
    except BaseException:
        for node in nodes:  # stop what this call started; nodes that were already running stay
            if node.data_dir in launched:
                embedded.stop(node)
        raise
    return [state for node in nodes if (state := embedded.status(node)) is not None]


def _wait_green(
    config: ClusterConfig, nodes: list[embedded.NodeConfig], launched: dict[Path, subprocess.Popen[bytes]]
) -> None:
    deadline = time.monotonic() + config.start_timeout
    while time.monotonic() < deadline:
        for node in nodes:
            process = launched.get(node.data_dir)
            if process is not None and process.poll() is not None:
                raise embedded.abandon(node, process, "stopped during start")
        answer = health(config, f"wait_for_status=green&wait_for_nodes={config.nodes}")
        if answer and answer["status"] == "green" and answer.get("number_of_nodes") == config.nodes:
            return
        time.sleep(0.5)
    raise EmbeddedEsError(
        f"the {config.nodes} nodes did not form a green cluster within {config.start_timeout:.0f}s; "
        f"last lines of {nodes[0].log_file}:\n{embedded.log_tail(nodes[0])}"
    )


def stop(config: ClusterConfig, timeout: float = 30.0) -> int:
    """Stop every node of the cluster at once; the number that were running. Leaves no process behind."""
    with ThreadPoolExecutor(max_workers=config.nodes) as pool:
        stopped = list(pool.map(lambda node: embedded.stop(node, timeout), config.node_configs()))
    # Forget the shape too: the data dir may next serve a single node (`gateway up`), which stop must find.
    config.state_file.unlink(missing_ok=True)
    return sum(stopped)
