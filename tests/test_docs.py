"""The pages in docs/ stay in step with the code: settings, commands, the layers, the file map, the links."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from gateway.cli import main
from gateway.settings import Settings
from tests.test_architecture import LAYERS

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
ARCHITECTURE = DOCS / "architecture.md"
PAGES = sorted([REPO / "README.md", *DOCS.glob("*.md")])


def test_every_setting_is_documented() -> None:
    page = (DOCS / "configuration.md").read_text()
    missing = [f.alias for f in Settings.model_fields.values() if f.alias and f"`{f.alias}`" not in page]
    assert missing == [], f"docs/configuration.md does not document {missing}"


def test_every_command_is_in_the_commands_table() -> None:
    rows = [
        line for line in (DOCS / "commands.md").read_text().splitlines() if line.startswith("| `gateway ")
    ]
    ctx = click.Context(main)
    for name in main.list_commands(ctx):  # the commands load lazily: ``main.commands`` is empty
        command = main.get_command(ctx, name)
        own = [row for row in rows if row.startswith(f"| `gateway {name}")]
        assert own, f"gateway {name} is missing from the commands table of docs/commands.md"
        if isinstance(command, click.Group):
            for sub in command.commands:
                assert any(sub in row.replace("\\|", "/").split("|")[1] for row in own), (
                    f"gateway {name} {sub} is not documented in docs/commands.md"
                )


# --- the architecture page ---------------------------------------------------------------------------


def file_map(text: str) -> list[str]:
    """The paths of the file map: one entry a line, two spaces of indent per folder level.

    A line is an entry when its first word is a folder (``name/``) or a module (``name.py``) at most one
    level below the folder above it; deeper lines carry on the description of the entry above.
    """
    block = text.split("## File map", 1)[1].split("```", 2)[1]
    paths: list[str] = []
    folders: list[str] = []
    for line in block.splitlines():
        found = re.match(r"( *)(\S+)", line)
        if found is None:
            continue
        indent, name = len(found[1]), found[2]
        if indent % 2 or indent // 2 > len(folders) or not name.endswith(("/", ".py")):
            continue
        del folders[indent // 2 :]
        paths.append("".join(folders) + name)
        if name.endswith("/"):
            folders.append(name)
    return paths


def gateway_modules() -> set[str]:
    return {
        path.relative_to(REPO).as_posix()
        for path in (REPO / "gateway").rglob("*.py")
        if path.name != "__init__.py" and "_bundled" not in path.parts
    }


def test_the_file_map_reader() -> None:
    text = (
        "## File map\n\n```\ngateway/\n  app.py    the factory\n  es/       clients\n"
        "    bulk.py   writes;\n              more.py: a description\n  x.py\ndocs/     pages\n```\n"
    )
    assert file_map(text) == [
        "gateway/",
        "gateway/app.py",
        "gateway/es/",
        "gateway/es/bulk.py",
        "gateway/x.py",
        "docs/",
    ]


def test_the_file_map_lists_every_module() -> None:
    missing = sorted(gateway_modules() - set(file_map(ARCHITECTURE.read_text())))
    assert missing == [], "add these modules to the file map of docs/architecture.md:\n  " + "\n  ".join(
        missing
    )


def test_every_path_of_the_file_map_exists() -> None:
    stale = [path for path in file_map(ARCHITECTURE.read_text()) if not (REPO / path).exists()]
    assert stale == [], (
        "the file map of docs/architecture.md lists paths that do not exist:\n  " + "\n  ".join(stale)
    )


def test_the_layer_table_is_the_architecture_tests() -> None:
    """The table of layers names the same layers, in the same order, as ``tests/test_architecture.py``."""
    rows = (
        ARCHITECTURE.read_text().split("| Layer, top to bottom |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    )
    table = []
    for row in rows:
        name, members = (cell.strip() for cell in row.strip("|").split("|")[:2])
        modules = (
            "gateway." + m.removesuffix("/").removesuffix(".py") for m in re.findall(r"`([^`]+)`", members)
        )
        table.append((name, sorted(modules)))
    assert table == [(name, sorted(prefixes)) for name, prefixes in LAYERS]


# --- links ---------------------------------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCED = re.compile(r"^```.*?^```", re.S | re.M)


def prose(text: str) -> str:
    """The text outside fenced code blocks and inline code, where links and headings live."""
    return re.sub(r"`[^`\n]*`", "", FENCED.sub("", text))


def anchors(text: str) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, no punctuation, spaces as hyphens, -1 on repeats."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", FENCED.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchor, n = slug, 0
        while anchor in found:
            n += 1
            anchor = f"{slug}-{n}"
        found.add(anchor)
    return found


def test_anchors_are_githubs() -> None:
    text = "# Ingestion\n## Durability: what `ok` means\n```sh\n# not a heading\n```\n## Notes\n## Notes\n"
    assert anchors(text) == {"ingestion", "durability-what-ok-means", "notes", "notes-1"}


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text()):
            broken.append(f"{target} (no such heading)")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(REPO).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_broken_links_are_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n## A section\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md) [ok](other.md#a-section) [ok](#here) [web](https://example.com/x)\n"
        "# Here\n[gone](gone.md) [bad](other.md#nothing) `[in code](gone.md)`\n"
        "```\n[in a block](gone.md)\n```\n"
    )
    assert broken_links(page) == ["gone.md (no such file)", "other.md#nothing (no such heading)"]
