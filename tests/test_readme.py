"""The README stays a front page: short, the two commands, the walk-through, the pictures, every docs page."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
MAX_LINES = 200


def test_the_readme_stays_short() -> None:
    lines = len(README.splitlines())
    assert lines <= MAX_LINES, f"README.md has {lines} lines (at most {MAX_LINES}): move the detail to docs/"


def test_quick_start_is_the_two_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make run" in quick_start
    assert "make test" in quick_start


def test_the_walk_through_is_the_documentations() -> None:
    walk_through = README.split("## The documentation's walk-through", 1)[1].split("\n## ", 1)[0]
    for path in ("/api/authentication/login", "/api/admin/createApiToken", "/jas/datasource/search"):
        assert f"https://127.0.0.1:8443{path}" in walk_through


def test_the_pages_pictures_are_shown() -> None:
    pictures = sorted(path.relative_to(REPO).as_posix() for path in (REPO / "docs" / "ui").glob("*.png"))
    assert pictures
    assert [picture for picture in pictures if f"]({picture})" not in README] == []


def test_every_docs_page_is_in_the_table() -> None:
    table = README.split("## Documentation", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| \[[^\]]+\]\(docs/([^)]+\.md)\) \| \S", table, re.M)
    pages = sorted(path.name for path in (REPO / "docs").glob("*.md"))
    assert sorted(listed) == pages, (
        "README.md's documentation table lists each docs/*.md page once, with a line"
    )
