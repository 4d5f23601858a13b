"""The README's configuration table stays in step with the settings class."""

from __future__ import annotations

from pathlib import Path

from gateway.settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [f.alias for f in Settings.model_fields.values() if f.alias and f"`{f.alias}`" not in README]
    assert missing == []


def test_quick_start_is_the_two_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make run" in quick_start
    assert "make test" in quick_start


def test_every_command_is_in_the_commands_table() -> None:
    import click

    from gateway.cli import main

    table = README.split("## Commands", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `gateway ")]
    ctx = click.Context(main)
    for name in main.list_commands(ctx):  # the commands load lazily: ``main.commands`` is empty
        command = main.get_command(ctx, name)
        own = [row for row in rows if row.startswith(f"| `gateway {name}")]
        assert own, f"gateway {name} is missing from the README's commands table"
        if isinstance(command, click.Group):
            for sub in command.commands:
                assert any(sub in row.replace("\\|", "/").split("|")[1] for row in own), (
                    f"gateway {name} {sub} is not documented"
                )
