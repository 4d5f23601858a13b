"""Measure the embedded Elasticsearch: download size, cold and warm start, memory.

Cold = an empty Maven repository (a temporary one, so your ~/.m2 is untouched) and no built launcher:
download + build + start. Warm = the same node started again with everything cached.

    PYTHONPATH=. .venv/bin/python bench/embedded_es.py     # prints a Markdown table
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from bench._es import free_port, rss_mib
from gateway.embedded import launcher
from gateway.embedded import node as embedded


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="es-bench-"))
    try:
        module = work / "embedded-es"
        shutil.copytree(launcher.LAUNCHER_DIR, module, ignore=shutil.ignore_patterns("target"))
        os.environ["MAVEN_OPTS"] = f"-Dmaven.repo.local={work / 'm2'}"
        config = embedded.NodeConfig(work / "node", port=free_port(), launcher_dir=module)

        started = time.monotonic()
        node = embedded.start(config)
        cold = time.monotonic() - started
        cold_rss = rss_mib(node.pid)
        embedded.stop(config)

        started = time.monotonic()
        node = embedded.start(config)
        warm = time.monotonic() - started
        time.sleep(5)
        idle_rss = rss_mib(node.pid)
        embedded.stop(config)

        classpath = (module / "target" / "classpath.txt").read_text().strip().split(os.pathsep)
        jar_bytes = sum(Path(p).stat().st_size for p in classpath)
        repo_bytes = sum(p.stat().st_size for p in (work / "m2").rglob("*") if p.is_file())
        print(f"| Elasticsearch version | {launcher.pinned_version()} |")
        print(f"| runtime jars (classpath) | {len(classpath)} files, {jar_bytes / 2**20:.1f} MiB |")
        print(f"| first-run Maven download (jars + build plugins) | {repo_bytes / 2**20:.1f} MiB |")
        print(f"| cold start (download + build + start until yellow) | {cold:.1f} s |")
        print(f"| warm start (cached, until yellow) | {warm:.1f} s |")
        print(f"| node RSS right after start | {cold_rss:.0f} MiB |")
        print(f"| node RSS idle, 5 s after a warm start | {idle_rss:.0f} MiB |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
