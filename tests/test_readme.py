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
