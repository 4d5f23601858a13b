"""`gateway up` (what `make run` runs): starts a node and the gateway, and Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from gateway.es import embedded
from tests.helpers import TEST_TENANT_ID, free_port


def _get(url: str) -> int:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, timeout=2, context=context) as response:
        status: int = response.status
        return status


def test_up_serves_https_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    port, es_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "ES_URL"}
    env.update(
        TENANT_ID=TEST_TENANT_ID,
        GATEWAY_STATE_DIR=str(tmp_path),
        GATEWAY_PORT=str(port),
        EMBEDDED_ES_PORT=str(es_port),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    node = embedded.NodeConfig(tmp_path / "elasticsearch", port=es_port)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "gateway up never served"
            try:
                if _get(f"https://127.0.0.1:{port}/readyz") == 200:
                    break
            except OSError:
                time.sleep(0.5)
        running = embedded.status(node)
        assert running is not None and running.ready
        process.send_signal(signal.SIGINT)  # what Ctrl-C delivers
        process.wait(timeout=60)
        assert embedded.status(node) is None
        assert (
            not Path(f"/proc/{running.pid}/cmdline").exists()
            or not Path(f"/proc/{running.pid}/cmdline").read_bytes()
        )
    finally:
        if process.poll() is None:
            process.kill()
        embedded.stop(node)
