"""Where the top-level ``index_templates/`` and ``seed/`` folders are, however the gateway was installed.

``gateway/_bundled/`` holds links to both folders, which stay at the top of the repository (operators and the
Docker image use them by those paths); a wheel carries copies in their place. A checkout whose links were
not kept (e.g. a platform without symlinks) falls back to the repository's folders.
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
        return Path(str(packaged)).resolve()  # the link, or a wheel's copy
    return REPO_ROOT / name
