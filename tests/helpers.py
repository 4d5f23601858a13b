"""Builders shared by the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from gateway.settings import Settings

TEST_TENANT_ID = "8700f5cb-eaca-461e-8c2e-245a25f2399d"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"tenant_id": TEST_TENANT_ID, "tls": False}
    values.update(overrides)
    return Settings(**values)


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the ``gateway`` command as a user would, in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else dict(os.environ),
        timeout=timeout,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
