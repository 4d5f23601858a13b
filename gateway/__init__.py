"""ingest-gateway: API keys, passthrough search and ingestion in front of Elasticsearch."""

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parent.parent


def source_version(root: Path = SOURCE_ROOT) -> str:
    """The version pyproject.toml names, for a source tree run without being installed (the image)."""
    try:
        return str(tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "0.0.0"


try:
    __version__ = version("ingest-gateway")
except PackageNotFoundError:
    __version__ = source_version()
