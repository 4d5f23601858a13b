"""The tree is the architecture: layers import downwards, domain code is free of HTTP, modules are small.

Read with the standard library's ``ast`` (every import statement, at any depth), plus real imports of
the ingestion-job client (and its command) with the web stack made unimportable.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gateway"
MAX_LINES = 300
WEB_STACK = ("fastapi", "starlette", "uvicorn")

# From the top down; a module may import from its own layer and the layers below it, never above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cli", ("gateway.cli", "gateway.__main__")),
    ("embedded", ("gateway.embedded",)),
    ("app", ("gateway.app",)),
    ("http", ("gateway.http",)),
    ("services", ("gateway.services",)),
    (
        "domain",
        (
            "gateway.audit",
            "gateway.auth",
            "gateway.search",
            "gateway.ingest",
            "gateway.loading",
            "gateway.jobs",
        ),
    ),
    ("es", ("gateway.es",)),
    ("foundation", ("gateway.errors", "gateway.ids", "gateway.settings", "gateway.clock", "gateway.bundled")),
)
# Everything below http/ is free of the web stack.
NO_HTTP = (
    "gateway.services",
    "gateway.audit",
    "gateway.auth",
    "gateway.search",
    "gateway.ingest",
    "gateway.loading",
    "gateway.jobs",
    "gateway.es",
    "gateway.embedded",
    "gateway.errors",
    "gateway.ids",
    "gateway.settings",
    "gateway.clock",
    "gateway.bundled",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_of(module: str) -> int:
    if module == "gateway":  # the package itself: its version, nothing else
        return len(LAYERS) - 1
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(_within(module, prefix) for prefix in prefixes):
            return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def imports_of(module: str) -> set[str]:
    """Every module named by an import statement anywhere in ``module`` (relative imports resolved)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # ``from gateway.x import y`` may import the module gateway.x.y
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES)
    return found


def test_layers_only_import_downwards() -> None:
    violations = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module in MODULES
        for target in imports_of(module)
        if _within(target, "gateway") and layer_of(target) < layer_of(module)
    ]
    assert violations == []


def test_the_embedded_node_stands_apart() -> None:
    """The embedded Elasticsearch is a tool for local runs: only the command line starts it (tests and
    benchmarks too, from outside the package), and it knows nothing of the gateway above the foundation."""
    foundation = LAYERS[-1][1]
    importers = {
        module
        for module in MODULES
        if not _within(module, "gateway.embedded")
        and any(_within(target, "gateway.embedded") for target in imports_of(module))
    }
    assert importers and all(layer_of(module) == 0 for module in importers), sorted(importers)
    reaches = {
        target
        for module in MODULES
        if _within(module, "gateway.embedded")
        for target in imports_of(module)
        if _within(target, "gateway") and not _within(target, "gateway.embedded")
    }
    assert all(any(_within(target, prefix) for prefix in foundation) for target in reaches), sorted(reaches)


@pytest.mark.parametrize("package", NO_HTTP)
def test_code_below_http_knows_nothing_of_the_web_stack(package: str) -> None:
    found = {
        f"{module} imports {target}"
        for module in MODULES
        if _within(module, package)
        for target in imports_of(module)
        if target.split(".")[0] in WEB_STACK or _within(target, "gateway.http")
    }
    assert found == set()


def _closure(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(target for target in imports_of(module) if target in MODULES)
        # importing gateway.a.b runs gateway/__init__ and gateway/a/__init__ first
        parts = module.split(".")
        todo.extend(".".join(parts[:n]) for n in range(1, len(parts)) if ".".join(parts[:n]) in MODULES)
    return seen


# The job and its command: ``gateway ingest-job`` imports the command's module, not every command's.
JOB_CLIENT = ("gateway.jobs.ingest_job", "gateway.cli.jobs")


@pytest.mark.parametrize("start", JOB_CLIENT)
def test_the_ingestion_job_client_needs_no_web_stack(start: str) -> None:
    modules = _closure(start)
    third_party = {target.split(".")[0] for module in modules for target in imports_of(module)}
    assert "gateway.loading.loader" in modules  # the walk follows imports
    assert third_party.isdisjoint(WEB_STACK), sorted(third_party & set(WEB_STACK))


@pytest.mark.parametrize("start", JOB_CLIENT)
def test_the_ingestion_job_client_imports_with_the_web_stack_unavailable(start: str) -> None:
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {WEB_STACK!r}:\n"
        "            raise ImportError(f'{name} is not installed')\n"
        "sys.meta_path.insert(0, Block())\n"
        f"import {start}\n"
        f"assert not any(m.split('.')[0] in {WEB_STACK!r} for m in sys.modules)\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_web_stack_blocker_does_block() -> None:
    """The check above would pass vacuously if blocking did nothing: the app must fail to import."""
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'fastapi':\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import gateway.app\n"
    )
    result = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "ImportError" in result.stderr


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[module]} has {lines} lines"


def test_the_import_walk_resolves_what_it_checks() -> None:
    """Sanity of the walk itself: a known downward import is seen, and layers rank as drawn."""
    assert "gateway.http.fastpath" in imports_of("gateway.app")
    assert layer_of("gateway.http.errors") < layer_of("gateway.search.service")
    with pytest.raises(AssertionError, match="in no layer"):
        layer_of("gateway.newcomer")


BENCH = PACKAGE.parent / "bench"


@pytest.mark.parametrize("path", sorted(BENCH.glob("*.py")), ids=lambda path: path.name)
def test_benchmarks_stand_on_their_own_and_stay_small(path: Path) -> None:
    """A benchmark imports the package, never the tests; and it is held to the same size as the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    named = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    named |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(_within(name, "tests") for name in named), sorted(named)
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES
