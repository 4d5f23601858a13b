"""A throw-away PostgreSQL server for tests and benchmarks: Debian's binaries, a temporary directory, a
given port, no Docker.

``initdb`` and ``postgres`` refuse to run as root, so as root they run as the ``postgres`` user the
package creates (``runuser``). The server listens on 127.0.0.1 only, with its unix socket in its own
directory, and asks every TCP client for a password (SCRAM); it is stopped and removed afterwards.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

PG_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian's layout), if any."""
    found = [p.parent for p in PG_ROOT.glob("*/bin/initdb") if p.parent.parent.name.isdigit()]
    return max(found, key=lambda p: int(p.parent.name)) if found else None


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", SUPERUSER, "--", *args] if os.geteuid() == 0 else args


@dataclass(frozen=True)
class PostgresServer:
    bin: Path
    root: Path
    port: int
    password: str  # the superuser's

    def url(self, user: str, database: str = "postgres") -> str:
        """A URL as a data source names it: user, host, port, database, never a password."""
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=SUPERUSER,
            password=self.password,
            dbname=database,
            autocommit=True,
        )


def _run(args: list[str], root: Path) -> None:
    result = subprocess.run(_as_owner(args), capture_output=True, text=True, check=False, cwd=root)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")


@contextmanager
def postgres_server(bin_dir: Path, port: int) -> Iterator[PostgresServer]:
    root = Path(tempfile.mkdtemp(prefix="gateway-pg-"))
    password = secrets.token_urlsafe(24)
    (root / "pwfile").write_text(password + "\n")
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SUPERUSER)
        for path in (root, root / "pwfile"):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    data = root / "data"
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={root / 'pwfile'}"]
    initdb += ["-E", "UTF8", "--no-locale", "--auth-local=trust", "--auth-host=scram-sha-256"]
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        _run(initdb, root)
        _run([*pg_ctl, "-l", str(root / "log"), "-o", options, "-w", "start"], root)
        try:
            yield PostgresServer(bin_dir, root, port, password)
        finally:
            _run([*pg_ctl, "-m", "fast", "-w", "stop"], root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
