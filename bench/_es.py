"""Shared by the benchmarks: an Elasticsearch to run against (ES_URL, or an embedded node we start)."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.es import embedded


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
