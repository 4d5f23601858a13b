"""The embedded node's lifecycle and the errors a user sees when it cannot start."""

from __future__ import annotations

import os
import shutil
import socket
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.embedded import launcher
from gateway.embedded import node as embedded
from tests.helpers import free_port, make_settings, pid_alive, run_cli


def test_readiness_follows_elasticsearch_down_and_up(own_node: embedded.NodeConfig, tmp_path: Path) -> None:
    settings = make_settings(es_url=own_node.url, es_request_timeout=3, state_dir=tmp_path / "state")
    # The gateway starts while Elasticsearch is down: alive, not ready.
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/readyz").status_code == 503
        first = embedded.start(own_node)
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        # Templates were applied on recovery: the data-source index now exists on the new node.
        assert embedded.status(own_node) is not None
        assert embedded.stop(own_node) is True
        assert not pid_alive(first.pid)
        assert embedded.status(own_node) is None
        assert client.get("/readyz").status_code == 503
        embedded.start(own_node)
        assert client.get("/readyz").status_code == 200


def test_start_twice_reuses_the_running_node(own_node: embedded.NodeConfig) -> None:
    first = embedded.start(own_node)
    second = embedded.start(own_node)
    assert second.pid == first.pid
    assert embedded.stop(own_node) is True
    assert embedded.stop(own_node) is False
    assert not pid_alive(first.pid)


def test_cli_refuses_a_port_taken_by_another_process(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = run_cli("es", "start", "--port", str(port), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 1
    assert f"port {port} is already taken" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_explains_missing_java(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env["PATH"] = str(bin_dir)  # no java here
    result = run_cli("es", "start", "--port", str(free_port()), "--data-dir", str(tmp_path / "d"), env=env)
    assert result.returncode == 1
    assert "no 'java' is on PATH" in result.stderr
    assert "ES_URL" in result.stderr


def test_cli_explains_a_too_old_java(tmp_path: Path) -> None:
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.20\" 2023-07-18' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    env = dict(os.environ, JAVA_HOME=str(tmp_path / "jdk"))
    result = run_cli("es", "start", "--port", str(free_port()), "--data-dir", str(tmp_path / "d"), env=env)
    assert result.returncode == 1
    assert "is Java 11" in result.stderr
    assert "Java 17 or newer" in result.stderr


def test_missing_maven_is_explained_when_the_launcher_must_be_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "embedded-es"
    shutil.copytree(launcher.LAUNCHER_DIR, module, ignore=shutil.ignore_patterns("target"))
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH, so no mvn
    with pytest.raises(launcher.EmbeddedEsError, match="Maven"):
        launcher.launcher_classpath(module)


def test_jvm_dying_during_start_shows_the_log_tail(tmp_path: Path) -> None:
    config = embedded.NodeConfig(tmp_path / "node", port=free_port(), heap="1k")  # the JVM refuses this heap
    with pytest.raises(launcher.EmbeddedEsError) as failure:
        embedded.start(config)
    message = str(failure.value)
    assert "exited with code" in message
    assert "heap" in message.lower()  # the JVM's own complaint, from the log tail
    assert embedded.status(config) is None


def test_status_reports_not_running(tmp_path: Path) -> None:
    result = run_cli("es", "status", "--port", str(free_port()), "--data-dir", str(tmp_path / "none"))
    assert result.returncode == 3
    assert "not running" in result.stdout


def test_pinned_version_is_an_8x_release() -> None:
    major, minor, patch = launcher.pinned_version().split(".")
    assert major == "8" and minor.isdigit() and patch.isdigit()
