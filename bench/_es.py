"""Shared by the benchmarks: an Elasticsearch to run against (ES_URL, or an embedded node we start), free
loopback ports, and a process's memory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.embedded import node as embedded
from gateway.embedded.ports import free_port as free_port
from gateway.embedded.ports import free_port_range as free_port_range


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
