"""The ``gateway`` command's subcommands load lazily: listing them, or running the ingestion job, imports
no web stack; and the lazy listing says exactly what click would say with every command imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from gateway.cli import COMMANDS, main

WEB_STACK = ("fastapi", "starlette", "uvicorn")

# Runs the command in a fresh interpreter, then reports its exit code, output and any web module loaded.
SCRIPT = f"""
import json, sys
from click.testing import CliRunner
from gateway.cli import main
result = CliRunner().invoke(main, sys.argv[1:], prog_name="gateway")
web = sorted(m for m in sys.modules if m.split(".")[0] in {WEB_STACK!r})
print(json.dumps({{"exit_code": result.exit_code, "output": result.output, "web": web}}))
"""

NO_GATEWAY = "http://127.0.0.1:1"


@pytest.mark.parametrize(
    ("args", "exit_code", "says"),
    [
        (["--help"], 0, "ingest-job  Ingest one CSV or JDBC data source"),
        (["ingest-job", "--help"], 0, "Usage: gateway ingest-job [OPTIONS]"),
        (["ingest-job", "--datasource", "x", "--url", NO_GATEWAY, "--no-progress"], 1, "cannot reach"),
    ],
    ids=["gateway --help", "ingest-job --help", "ingest-job"],
)
def test_listing_commands_and_running_the_job_load_no_web_stack(
    args: list[str], exit_code: int, says: str
) -> None:
    env = dict(os.environ, JAS_API_KEY="k", TENANT_ID="t")
    process = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, env=env, check=False
    )
    assert process.returncode == 0, process.stderr
    run = json.loads(process.stdout)
    assert (run["exit_code"], run["web"]) == (exit_code, []), run["output"]
    assert says in run["output"]


def test_the_web_stack_check_sees_a_command_that_loads_it() -> None:
    """The check above would pass vacuously if it could not see a web module: ``serve --help`` loads one."""
    process = subprocess.run(
        [sys.executable, "-c", SCRIPT, "serve", "--help"], capture_output=True, text=True, check=False
    )
    run = json.loads(process.stdout)
    assert run["exit_code"] == 0 and "uvicorn" in run["web"]


@pytest.mark.parametrize("width", [40, 80, 200])
def test_the_listing_is_what_click_writes_from_the_imported_commands(width: int) -> None:
    ctx = click.Context(main, info_name="gateway")
    lazy, eager = click.HelpFormatter(width=width), click.HelpFormatter(width=width)
    main.format_commands(ctx, lazy)
    click.Group.format_commands(main, ctx, eager)  # imports every command for its own help
    assert lazy.getvalue() == eager.getvalue()
    assert lazy.getvalue().count("\n") > len(COMMANDS)


def _every_command(group: click.Group, path: list[str]) -> list[list[str]]:
    ctx = click.Context(group)
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"gateway {' '.join([*path, name])} is listed but not found"
        found.append([*path, name])
        if isinstance(command, click.Group):
            found += _every_command(command, [*path, name])
    return found


def test_every_listed_command_imports_and_shows_its_help() -> None:
    commands = _every_command(main, [])
    assert {path[0] for path in commands} == set(COMMANDS)
    for path in commands:
        result = CliRunner().invoke(main, [*path, "--help"], prog_name="gateway")
        assert result.exit_code == 0, (path, result.output)
        assert result.output.startswith(f"Usage: gateway {' '.join(path)} "), result.output


def test_an_unknown_command_is_refused_by_name() -> None:
    result = CliRunner().invoke(main, ["no-such-command"], prog_name="gateway")
    assert result.exit_code == 2 and "No such command 'no-such-command'" in result.output
