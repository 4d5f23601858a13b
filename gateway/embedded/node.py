"""Start, stop and inspect the embedded single-node Elasticsearch.

The node is the small Maven module in ``embedded-es/`` (the Elasticsearch version is pinned in its pom),
built by ``launcher.py`` on first use. The node runs detached from the calling process, with its
pid in ``<data_dir>/node.pid`` and its console output in ``<data_dir>/logs/console.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.embedded.launcher import (
    LAUNCHER_DIR,
    EmbeddedEsError,
    check_java,
    find_java,
    launcher_classpath,
)

MAIN_CLASS = "org.elasticsearch.node.EmbeddedNode"
CLUSTER_NAME = "ingest-gateway-embedded"


@dataclass(frozen=True)
class NodeConfig:
    data_dir: Path
    port: int = 9200
    heap: str = "1g"
    start_timeout: float = 180.0
    launcher_dir: Path = LAUNCHER_DIR
    # Extra ``key=value`` Elasticsearch settings; they override the launcher's single-node defaults.
    settings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The JVM runs with the data dir as its working directory: every path handed to it is absolute.
        object.__setattr__(self, "data_dir", self.data_dir.resolve())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "node.pid"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "console.log"


# --- process control ----------------------------------------------------------------------------------


def http_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback URL we built)
        return json.loads(response.read())


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _is_our_node(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return MAIN_CLASS.encode() in cmdline and state != "Z"


def _read_pid(config: NodeConfig) -> int | None:
    try:
        pid = int(config.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_our_node(pid) else None


def log_tail(config: NodeConfig, lines: int = 40) -> str:
    try:
        text = config.log_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _cluster_ready(config: NodeConfig) -> bool:
    try:
        health = http_json(f"{config.url}/_cluster/health?wait_for_status=yellow&timeout=1s")
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return isinstance(health, dict) and health.get("status") in ("yellow", "green")


@dataclass(frozen=True)
class NodeStatus:
    pid: int
    url: str
    log_file: Path
    ready: bool


def status(config: NodeConfig) -> NodeStatus | None:
    pid = _read_pid(config)
    if pid is None:
        return None
    return NodeStatus(pid, config.url, config.log_file, _cluster_ready(config))


def start(config: NodeConfig) -> NodeStatus:
    """Start the node (or return the one already running from this data dir) and wait until it serves."""
    running = status(config)
    if running is not None:
        if not running.ready and not _wait_ready(config, running.pid):
            raise EmbeddedEsError(f"node {running.pid} is running but not ready; see {config.log_file}")
        return NodeStatus(running.pid, config.url, config.log_file, True)
    process = launch(config)
    if not _wait_ready(config, process.pid, process):
        raise abandon(config, process, f"did not become ready within {config.start_timeout:.0f}s")
    return NodeStatus(process.pid, config.url, config.log_file, True)


def launch(config: NodeConfig) -> subprocess.Popen[bytes]:
    """Start the node's JVM detached, record its pid, and return without waiting for it to serve."""
    if port_in_use(config.port):
        raise EmbeddedEsError(
            f"port {config.port} is already taken by a process that is not the embedded node of "
            f"{config.data_dir}. Stop it, pick another port (--port / EMBEDDED_ES_PORT), or set ES_URL "
            "to use that Elasticsearch."
        )
    java = find_java()
    check_java(java)
    classpath = launcher_classpath(config.launcher_dir)
    config.log_file.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = config.data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    command = [
        java,
        f"-Xms{min_heap(config.heap)}",
        f"-Xmx{config.heap}",
        "-XX:+UseG1GC",
        "-Djna.nosys=true",
        f"-Djava.io.tmpdir={tmp_dir}",
        "-Dlog4j.shutdownHookEnabled=false",
        "-Dlog4j2.disable.jmx=true",
        "-Dfile.encoding=UTF-8",
        "-cp",
        classpath,
        MAIN_CLASS,
        f"path.home={config.data_dir}",
        f"cluster.name={CLUSTER_NAME}",
        f"http.port={config.port}",
        *config.settings,
    ]
    with config.log_file.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=config.data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    config.pid_file.write_text(str(process.pid))
    return process


def abandon(config: NodeConfig, process: subprocess.Popen[bytes], timeout_reason: str) -> EmbeddedEsError:
    """Stop a node that failed to start; the error tells why, with the tail of its log."""
    code = process.poll()
    if code is None:
        _terminate(process.pid, timeout=10)
        reason = timeout_reason
    else:
        reason = f"exited with code {code} during start"
    config.pid_file.unlink(missing_ok=True)
    return EmbeddedEsError(f"Elasticsearch {reason}. Last lines of {config.log_file}:\n{log_tail(config)}")


def min_heap(heap: str) -> str:
    """Start with half the maximum heap (at most 512m) so an idle node stays small."""
    return "512m" if heap.lower().endswith("g") else heap


def _wait_ready(config: NodeConfig, pid: int, process: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + config.start_timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        if process is None and not _is_our_node(pid):
            return False
        if _cluster_ready(config):
            return True
        time.sleep(0.25)
    return False


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our child, so it does not linger as a zombie
        if not _is_our_node(pid):
            return True
        time.sleep(0.1)
    return False


def _terminate(pid: int, timeout: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 10)


def stop(config: NodeConfig, timeout: float = 30.0) -> bool:
    """Stop the node of this data dir; True if one was running. Leaves no process behind."""
    pid = _read_pid(config)
    if pid is None:
        config.pid_file.unlink(missing_ok=True)
        return False
    _terminate(pid, timeout)
    config.pid_file.unlink(missing_ok=True)
    return True
