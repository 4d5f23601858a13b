"""Where the top-level ``index_templates/`` and ``seed/`` folders are, however the gateway was installed.

A wheel carries copies of both inside the package (``gateway/_bundled/``, put there by ``setup.py`` at
build time); a source checkout or an editable install has only the folders at the top of the repository,
where they stay because operators and the Docker image use them by those paths.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLE = "_bundled"


def bundled_dir(name: str) -> Path:
    """The installed copy of the top-level folder ``name``, else the repository's own."""
    packaged = files("gateway").joinpath(BUNDLE, name)
    if packaged.is_dir():
        return Path(str(packaged))  # a regular install: the package lives in a directory
    return REPO_ROOT / name
