"""Ships the top-level ``index_templates/`` and ``seed/`` folders inside the wheel, as gateway/_bundled/.

Everything else is configured in pyproject.toml. The folders stay at the top of the repository (the README,
the Docker image and operators use them there); ``gateway.bundled`` finds whichever copy exists.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED_FOLDERS = ("index_templates", "seed")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the repository's folders directly
            return
        for folder in BUNDLED_FOLDERS:
            self.copy_tree(folder, str(Path(self.build_lib) / "gateway" / "_bundled" / folder))


setup(cmdclass={"build_py": BuildPyWithData})
