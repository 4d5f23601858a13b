"""Shared by the benchmarks: an Elasticsearch to run against (ES_URL, or an embedded node we start), free
loopback ports, and a process's memory."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.embedded import node as embedded


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_range(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports (a cluster's nodes use base, base+1, ...)."""
    for _ in range(100):
        base = free_port()
        if base + count <= 65535 and all(_port_free(base + i) for i in range(1, count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports found")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def rss_mib(pid: int) -> float:
    """The resident memory of process ``pid`` now, in MiB (0 for one that holds none: a zombie)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def elasticsearch(heap: str = "1g") -> Iterator[tuple[str, int | None]]:
    """Yield (url, pid or None). Starts and stops an embedded node unless ES_URL is set."""
    if url := os.environ.get("ES_URL"):
        yield url, None
        return
    with tempfile.TemporaryDirectory(prefix="bench-es-") as home:
        config = embedded.NodeConfig(Path(home), port=free_port(), heap=heap)
        node = embedded.start(config)
        try:
            yield node.url, node.pid
        finally:
            embedded.stop(config)
