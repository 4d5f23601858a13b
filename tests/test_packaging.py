"""A regular (non-editable) wheel install finds the index templates, the seed files and the web page."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "gateway", "index_templates", "seed")

CHECK = """
import json, gateway
from gateway.es.templates import load_templates
from gateway.loading.seed import DATASOURCES_FILE, MAPPINGS_FILE, read_datasources
from gateway.settings import DEMO_TENANT_ID, Settings
from gateway.http.ui import STATIC_DIR

settings = Settings(TENANT_ID=DEMO_TENANT_ID)
print(json.dumps({
    "package": gateway.__file__,
    "templates_dir": str(settings.templates_dir),
    "templates": len(load_templates(settings.templates_dir)),
    "data_root": str(settings.data_root),
    "showcase": (settings.data_root / "data" / "input" / "identities.csv").is_file(),
    "datasources": [str(DATASOURCES_FILE), len(list(read_datasources(DATASOURCES_FILE, "t")))],
    "mappings": [str(MAPPINGS_FILE), MAPPINGS_FILE.is_file()],
    "ui": [str(STATIC_DIR), sorted(p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*.*"))],
}))
"""


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    if "pip" in args:  # pip is a tool here, not our code: its own deprecations are not ours to fail on
        env = {k: v for k, v in (env or os.environ).items() if k != "PYTHONWARNINGS"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.timeout(600)
def test_a_wheel_install_finds_templates_and_seed_outside_the_repository(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy, so that building leaves no build/ folder in the repository
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(REPO / name, source / name)
    wheels, target, elsewhere = tmp_path / "wheels", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "-q")
    _run(*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source), cwd=tmp_path)
    (wheel,) = wheels.glob("ingest_gateway-*.whl")
    _run(*pip, "install", "--no-deps", "--target", str(target), str(wheel), cwd=tmp_path)
    shutil.rmtree(source)  # nothing may be read from the sources after the install

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "ES_"))}
    env["PYTHONPATH"] = str(target)
    found = json.loads(
        _run(sys.executable, "-c", CHECK, cwd=elsewhere, env=dict(env, PYTHONPATH=str(target)))
    )
    assert Path(found["package"]).is_relative_to(target)
    assert Path(found["templates_dir"]).is_relative_to(target) and found["templates"] > 0
    assert Path(found["data_root"]).is_relative_to(target) and found["showcase"]
    assert Path(found["datasources"][0]).is_relative_to(target) and found["datasources"][1] >= 4
    assert Path(found["mappings"][0]).is_relative_to(target) and found["mappings"][1]
    static = REPO / "gateway" / "http" / "static"
    assert Path(found["ui"][0]).is_relative_to(target)
    assert found["ui"][1] == sorted(p.relative_to(static).as_posix() for p in static.rglob("*.*"))


def test_a_source_tree_knows_its_version_without_being_installed(tmp_path: Path) -> None:
    """The image runs the gateway from its copied sources (PYTHONPATH): /version still says the release."""
    from gateway import source_version

    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    released = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert source_version(tmp_path) == released != "0.0.0"
    assert source_version(tmp_path / "elsewhere") == "0.0.0"  # no pyproject.toml there
