"""The locks: requirements-dev.lock (what `make run`, `make test` and CI install) and requirements.lock (what
the image installs) pin every package with its hashes, and agree with pyproject.toml's ranges."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
DEV_LOCK = ROOT / "requirements-dev.lock"
RUNTIME_LOCK = ROOT / "requirements.lock"
PROJECT = "ingest-gateway (pyproject.toml)"
CONSTRAINED = "-c requirements-dev.lock"
STALE = "pyproject.toml and the locks disagree: run `make lock` and commit both locks"

_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?:\s*;\s*(?P<marker>[^\\]+?))?\s*\\?$"
)
_HASH = re.compile(r"^\s+--hash=sha256:(?P<hash>[0-9a-f]{64})\s*\\?$")


@dataclass
class Pin:
    version: Version
    marker: Marker | None
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)


def read_lock(text: str) -> dict[NormalizedName, Pin]:
    """The pins of a lock written by `uv pip compile --generate-hashes` (annotated with what needs them)."""
    pins: dict[NormalizedName, Pin] = {}
    current: Pin | None = None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if pin := _PIN.match(line):
            marker = Marker(pin["marker"]) if pin["marker"] else None
            name = canonicalize_name(pin["name"])
            assert name not in pins, f"{name} is pinned twice"  # one pin per package, whatever the platform
            current = pins[name] = Pin(Version(pin["version"]), marker)
        elif (digest := _HASH.match(line)) and current is not None:
            current.hashes.append(digest["hash"])
        elif (note := line.strip()).startswith("#") and current is not None:
            via = note.lstrip("#").strip().removeprefix("via").strip()
            if via:
                current.via.append(via)
        else:
            raise AssertionError(f"unexpected line in a lock: {line!r}")
    return pins


def _declared() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    dev = [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    return runtime, dev


def _direct(pins: dict[NormalizedName, Pin]) -> set[NormalizedName]:
    return {name for name, pin in pins.items() if PROJECT in pin.via}


def _disagreements(requirements: list[Requirement], pins: dict[NormalizedName, Pin]) -> list[str]:
    """Each requirement the lock does not satisfy, and each package the lock says the project asks for but
    pyproject.toml no longer names."""
    problems = []
    for requirement in requirements:
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} is not locked")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{requirement} but the lock has {pin.version}")
    named = {canonicalize_name(r.name) for r in requirements}
    gone = sorted(_direct(pins) - named)
    problems += [f"{name} is locked for the project, which no longer asks for it" for name in gone]
    return problems


def test_every_locked_package_has_its_hashes() -> None:
    for lock in (DEV_LOCK, RUNTIME_LOCK):
        pins = read_lock(lock.read_text())
        assert len(pins) > 40, lock
        unhashed = [name for name, pin in pins.items() if not pin.hashes]
        assert unhashed == [], f"{lock.name}: pins without hashes"
        assert "--index-url" not in lock.read_text()  # installs from the configured index, by hash


def test_the_dev_lock_satisfies_pyproject() -> None:
    runtime, dev = _declared()
    assert _disagreements(runtime + dev, read_lock(DEV_LOCK.read_text())) == [], STALE


def test_the_runtime_lock_is_the_dev_lock_without_the_dev_tools() -> None:
    runtime, dev = _declared()
    development, production = read_lock(DEV_LOCK.read_text()), read_lock(RUNTIME_LOCK.read_text())
    assert _disagreements(runtime, production) == [], STALE
    for name, pin in production.items():
        assert name in development, f"{name} is in requirements.lock only: {STALE}"
        locked = development[name]
        assert (pin.version, sorted(pin.hashes)) == (locked.version, sorted(locked.hashes)), STALE
        # Everything in it is needed by the project's runtime dependencies (or by the project itself).
        needed_by = [v for v in pin.via if v != CONSTRAINED]
        assert needed_by, name
        for parent in needed_by:
            assert parent == PROJECT or canonicalize_name(parent) in production, (name, parent)
    # ... and everything the runtime packages need is in it (the dev lock says who needs what).
    runtime_direct = {canonicalize_name(r.name) for r in runtime}
    for name, pin in development.items():
        parents = {canonicalize_name(v) for v in pin.via if v != PROJECT} & set(production)
        if parents or (PROJECT in pin.via and name in runtime_direct):
            assert name in production, f"{name} (needed by {sorted(parents)}) is missing: {STALE}"
    dev_only = {canonicalize_name(r.name) for r in dev} - runtime_direct
    assert {"pytest", "mypy", "playwright", "uv"} <= dev_only
    assert not {"pytest", "mypy", "playwright", "uv"} & set(production)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (('"fastapi>=0.115"', '"fastapi>=999"'), "fastapi>=999 but the lock has"),
        (('"tqdm>=4.66",', '"tqdm>=4.66",\n    "left-pad>=1",'), "left-pad>=1 is not locked"),
        (('    "orjson>=3.9",\n', ""), "orjson is locked for the project, which no longer asks for it"),
    ],
)
def test_a_pyproject_change_without_make_lock_is_caught(change: tuple[str, str], complaint: str) -> None:
    old, new = change
    text = (ROOT / "pyproject.toml").read_text()
    assert old in text
    project = tomllib.loads(text.replace(old, new, 1))["project"]
    requirements = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]
    problems = _disagreements(requirements, read_lock(DEV_LOCK.read_text()))
    assert any(complaint in problem for problem in problems), problems


def test_this_environment_holds_exactly_the_dev_lock() -> None:
    """`make test` installs the lock (--require-hashes --no-deps): every package at its locked version,
    and nothing else but the project itself and the installer."""
    pins = read_lock(DEV_LOCK.read_text())
    present = {canonicalize_name(d.metadata["Name"]) for d in importlib.metadata.distributions()}
    assert present - set(pins) - {"ingest-gateway", "pip"} == set()
    wrong = {}
    for name, pin in pins.items():
        if pin.marker is not None and not pin.marker.evaluate():
            continue  # another platform's package
        try:
            installed = Version(importlib.metadata.version(name))
        except importlib.metadata.PackageNotFoundError:
            wrong[name] = "missing"
            continue
        if installed != pin.version:
            wrong[name] = f"{installed} installed, {pin.version} locked"
    assert wrong == {}, "run `make test` (it rebuilds .venv from the lock)"


def test_the_image_installs_the_runtime_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY requirements.lock" in dockerfile
    assert re.search(r"pip install [^\n]*--require-hashes [^\n]*--no-deps -r requirements\.lock", dockerfile)
    assert "pip install -e" not in dockerfile and "pip install ." not in dockerfile  # nothing resolved anew
