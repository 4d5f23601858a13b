"""Shared by the benchmarks: an Elasticsearch to run against (ES_URL, or an embedded node we start), free
loopback ports, and a process's memory."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
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


def gateway_process(
    es_url: str, tenant: str, hmac_secret: str, state_dir: Path, *serve_args: str, **env: str
) -> tuple[subprocess.Popen[bytes], int]:
    """A ``gateway serve`` child on a free port (``serve_args``: e.g. ``--no-tls``), logging to
    ``state_dir/gateway.log``; ``env`` pins settings the benchmark depends on."""
    port = free_port()
    environment = dict(
        os.environ, ES_URL=es_url, TENANT_ID=tenant, GATEWAY_API_KEY_SECRET=hmac_secret,
        GATEWAY_JWT_SECRET=secrets.token_urlsafe(32), GATEWAY_STATE_DIR=str(state_dir), **env,
    )  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", *serve_args, "--port", str(port)],
        env=environment, stdout=subprocess.DEVNULL, stderr=(state_dir / "gateway.log").open("wb"),
    )  # fmt: skip
    return process, port
