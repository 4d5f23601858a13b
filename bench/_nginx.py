"""nginx as the search benchmark's baseline: a bare keep-alive reverse proxy with a static key check.

The config does what a C proxy in the gateway's place would do at the least: compare the
``Authorization`` header with one key (401 otherwise) and ``X-Tenant-ID`` with one tenant (403 otherwise),
then pass the body untouched to ``/<index>/_search`` over kept-alive upstream connections. One worker
process (like the one gateway process), no access log, everything under its own temporary prefix.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

SEARCH_PATH = "/jas/datasource/search"
# What may stand inside a double-quoted nginx string without escaping or variable expansion.
_PLAIN = re.compile(r"[A-Za-z0-9._~:/+=-]+")
_TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _plain(name: str, value: str) -> str:
    if not _PLAIN.fullmatch(value):
        raise ValueError(f"{name} {value!r} cannot be written into nginx.conf as a plain string")
    return value


def nginx_config(prefix: Path, port: int, es_url: str, index: str, key: str, tenant: str) -> str:
    """The whole nginx.conf: listen on 127.0.0.1:``port``, proxy the search to ``es_url``."""
    upstream = urlsplit(es_url)
    if upstream.scheme != "http" or not upstream.hostname or not upstream.port:
        raise ValueError(f"expected http://host:port for Elasticsearch, got {es_url!r}")
    server = f"{_plain('host', upstream.hostname)}:{upstream.port}"
    temp = "\n".join(f"    {name}_temp_path {prefix / name};" for name in _TEMP_PATHS)
    return f"""\
daemon off;
master_process on;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;

events {{
    worker_connections 1024;
}}

http {{
    access_log off;
{temp}
    keepalive_requests 1000000;

    upstream elasticsearch {{
        server {server};
        keepalive 32;
        keepalive_requests 1000000;
    }}

    server {{
        listen 127.0.0.1:{port};

        location = {SEARCH_PATH} {{
            if ($http_authorization != "{_plain("key", key)}") {{
                return 401;
            }}
            if ($http_x_tenant_id != "{_plain("tenant", tenant)}") {{
                return 403;
            }}
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "";
            proxy_set_header X-Tenant-ID "";
            proxy_pass http://elasticsearch/{_plain("index", index)}/_search;
        }}

        location / {{
            return 404;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    """nginx on PATH, else Debian's /usr/sbin/nginx (not on a non-root user's PATH)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        raise SystemExit("nginx is required (apt-get install nginx; `make bench` installs it)")
    return found


def _status(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (loopback)
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def check_guard(url: str, body: bytes, headers: dict[str, str]) -> None:
    """Fail fast unless nginx answers 200 to the right key and tenant, 401 and 403 to wrong ones."""
    cases = (
        ("the bench key and tenant", headers, 200),
        ("a wrong key", {**headers, "authorization": "not-the-key"}, 401),
        ("no key", {k: v for k, v in headers.items() if k != "authorization"}, 401),
        ("a wrong tenant", {**headers, "x-tenant-id": "not-the-tenant"}, 403),
    )
    for what, sent, expected in cases:
        if (status := _status(url, body, sent)) != expected:
            raise SystemExit(f"nginx answered {status} to {what} (expected {expected}): check its config")


@dataclass(frozen=True)
class Nginx:
    url: str
    master_pid: int

    def pids(self) -> list[int]:
        """The master and its workers (read now: a worker that is respawned is counted from then on)."""
        found = [self.master_pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(stat[1]) == self.master_pid:  # ppid
                    found.append(int(entry.name))
        return found

    def cpu_seconds(self) -> float:
        """utime + stime of the master and its workers, summed."""
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / CLOCK_TICKS


@contextmanager
def nginx(workdir: Path, port: int, es_url: str, index: str, key: str, tenant: str) -> Iterator[Nginx]:
    """Start nginx (in the foreground, its own prefix under ``workdir``); stop it on leaving."""
    prefix = workdir / "nginx"
    prefix.mkdir()
    config = prefix / "nginx.conf"
    config.write_text(nginx_config(prefix, port, es_url, index, key, tenant))
    binary = nginx_binary()
    # -e: the error log before the config is read (the default is a system path).
    command = [binary, "-p", f"{prefix}/", "-c", str(config), "-e", str(prefix / "error.log")]
    test = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
    if test.returncode != 0:
        raise SystemExit(f"nginx rejected its config:\n{test.stderr}")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            if process.poll() is not None:
                raise SystemExit(f"nginx exited at start:\n{(prefix / 'error.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/", timeout=1):  # noqa: S310 (loopback)
                    pass
            except urllib.error.HTTPError:
                break  # the 404 of `location /`: listening
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("nginx did not start listening")
        yield Nginx(url, process.pid)
    finally:
        process.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
