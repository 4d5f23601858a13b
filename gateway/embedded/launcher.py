"""The embedded node's launcher: the Java it needs, the pinned version, and its build with Maven.

``embedded-es/`` is a small Maven module; Maven resolves the Elasticsearch server jars from Maven Central
into its local repository (~/.m2) once and builds the launcher jar, rebuilt when its sources change.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from gateway.bundled import REPO_ROOT

LAUNCHER_DIR = REPO_ROOT / "embedded-es"
MIN_JAVA = 17


class EmbeddedEsError(RuntimeError):
    """Something a user must fix before the embedded node can run; the message says what."""


def pinned_version(launcher_dir: Path = LAUNCHER_DIR) -> str:
    pom = (launcher_dir / "pom.xml").read_text(encoding="utf-8")
    match = re.search(r"<elasticsearch\.version>([^<]+)</elasticsearch\.version>", pom)
    if match is None:
        raise EmbeddedEsError(f"{launcher_dir / 'pom.xml'} does not pin <elasticsearch.version>")
    return match.group(1)


def find_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise EmbeddedEsError(
            f"Java {MIN_JAVA}+ is required to run the embedded Elasticsearch, but no 'java' is on PATH "
            "and JAVA_HOME is not set. Install one (e.g. 'apt-get install openjdk-17-jdk-headless') "
            "or set ES_URL to use an existing cluster."
        )
    return java


def java_major_version(java: str) -> int:
    result = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if match is None:
        raise EmbeddedEsError(f"could not tell the version of {java}: {result.stderr.strip()[:200]}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def check_java(java: str) -> None:
    major = java_major_version(java)
    if major < MIN_JAVA:
        raise EmbeddedEsError(
            f"{java} is Java {major}; Elasticsearch {pinned_version()} needs Java {MIN_JAVA} or newer. "
            "Point JAVA_HOME at a newer JDK."
        )


def _newest_source_mtime(launcher_dir: Path) -> float:
    sources = [launcher_dir / "pom.xml", *(launcher_dir / "src").rglob("*.java")]
    return max(p.stat().st_mtime for p in sources)


def launcher_classpath(launcher_dir: Path = LAUNCHER_DIR) -> str:
    """Build the launcher if needed (Maven downloads the jars once) and return its Java classpath."""
    jar = launcher_dir / "target" / "embedded-es.jar"
    cp_file = launcher_dir / "target" / "classpath.txt"
    stale = not (jar.is_file() and cp_file.is_file()) or min(
        jar.stat().st_mtime, cp_file.stat().st_mtime
    ) < _newest_source_mtime(launcher_dir)
    if stale:
        mvn = shutil.which("mvn")
        if mvn is None:
            raise EmbeddedEsError(
                "Maven ('mvn') is required once to fetch Elasticsearch from Maven Central and build the "
                "launcher, but it is not on PATH. Install it (e.g. 'apt-get install maven')."
            )
        result = subprocess.run(
            [mvn, "-q", "-B", "-f", str(launcher_dir / "pom.xml"), "package"],
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
            raise EmbeddedEsError(f"building the embedded Elasticsearch launcher failed:\n{tail}")
    classpath = cp_file.read_text(encoding="utf-8").strip()
    return f"{jar}{os.pathsep}{classpath}"
