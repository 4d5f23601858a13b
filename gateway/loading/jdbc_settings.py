"""JDBC connection settings → a SQLAlchemy engine, refusing what could leak or reach too far.

``connectionSettings.jdbc`` is ``{"url": ..., "user": ..., "passwordEnv" | "passwordFile": ...}``. The URL
may not carry a password; PostgreSQL (psycopg 3) URLs take only a few harmless options; a SQLite database
path is relative to the job's data root and confined to it, like ``file:`` URIs, and opened read-only.
A ``passwordEnv`` must name a variable made for it, ``JDBC_PASSWORD_<name>`` (a definition must not be able
to send the job's key, the gateway's settings or any other secret of its environment to a database server
of its choosing); a ``passwordFile`` lies under the data root. A PostgreSQL source needs one of the two
(libpq would otherwise look for a password in the job's environment and files) and a TCP host.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError

from gateway.loading.loader import SourceError

SETTINGS_KEYS = frozenset({"url", "user", "passwordEnv", "passwordFile"})
POSTGRES_OPTIONS = frozenset({"sslmode", "connect_timeout", "application_name", "target_session_attrs"})
DRIVERS = {"postgresql": "postgresql", "postgresql+psycopg": "postgresql", "sqlite": "sqlite"}
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
PASSWORD_PREFIX = "JDBC_PASSWORD_"  # noqa: S105  # the only variables a definition may name (allow-list)


class JdbcError(SourceError):
    """A jdbc data source that cannot be used; nothing was read."""


def _password(settings: Mapping[str, Any], data_root: Path, environ: Mapping[str, str]) -> str | None:
    if "passwordEnv" in settings and "passwordFile" in settings:
        raise JdbcError("give passwordEnv or passwordFile, not both")
    if "passwordEnv" in settings:
        name = settings["passwordEnv"]
        if not isinstance(name, str) or not ENV_NAME.match(name):
            raise JdbcError("passwordEnv must name an environment variable")
        if not name.startswith(PASSWORD_PREFIX) or name == PASSWORD_PREFIX:
            raise JdbcError(f"passwordEnv must name a variable {PASSWORD_PREFIX}<name>, not {name}")
        if name not in environ:
            raise JdbcError(f"the environment variable {name} (passwordEnv) is not set")
        return environ[name]
    if "passwordFile" in settings:
        value = settings["passwordFile"]
        if not isinstance(value, str) or not value.strip("/") or "\x00" in value:
            raise JdbcError("passwordFile must name a file under the data root")
        root = data_root.resolve()
        path = (root / value.lstrip("/")).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise JdbcError(f"passwordFile {value!r} names no file under the data root")
        with path.open(encoding="utf-8") as file:
            return file.readline(4096).rstrip("\r\n")  # the first line only, bounded
    return None


def _sqlite(url: URL, data_root: Path) -> Engine:
    if url.query or url.host or url.username or url.port:
        raise JdbcError("a sqlite URL names a database file only (sqlite:///data/x.sqlite), no options")
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:") or "\x00" in database:
        raise JdbcError("the sqlite URL names no database file")
    if Path(database).is_absolute():
        raise JdbcError(
            "a sqlite database path is relative to the data root (sqlite:///data/x.sqlite), never absolute"
        )
    root = data_root.resolve()
    path = (root / database).resolve()
    if not path.is_relative_to(root):
        raise JdbcError("the sqlite database path points outside the data root")
    if not path.is_file():
        raise JdbcError(f"the sqlite URL names no database file under the data root ({database})")
    uri = path.as_uri() + "?mode=ro"  # read-only: a query cannot change the database
    return create_engine(
        "sqlite+pysqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
    )


def _postgres(url: URL, settings: Mapping[str, Any], password: str | None) -> Engine:
    if not url.host or not url.database:
        raise JdbcError("a postgresql URL names a host and a database (postgresql+psycopg://host:5432/db)")
    if url.host.startswith("/") or "%2f" in url.host.lower():
        raise JdbcError("a postgresql host is a network address, not a unix socket directory")
    options = sorted(set(url.query) - POSTGRES_OPTIONS)
    if options:
        allowed = ", ".join(sorted(POSTGRES_OPTIONS))
        raise JdbcError(f"the URL's options {', '.join(options)} are not allowed (only {allowed})")
    user = settings.get("user", url.username)
    if not isinstance(user, str) or not user or (url.username and url.username != user):
        raise JdbcError("name the database user once, as user or in the URL")
    if password is None:
        raise JdbcError("a postgresql source needs passwordEnv or passwordFile")
    clean = URL.create(
        "postgresql+psycopg", user, None, url.host, url.port, url.database, dict(url.query)
    )  # psycopg 3, and never a password in the URL
    connect_args: dict[str, Any] = {
        "options": "-c default_transaction_read_only=on",
        "password": password,
        "passfile": os.devnull,  # never ~/.pgpass
    }
    return create_engine(clean, connect_args=connect_args, isolation_level="REPEATABLE READ")


def jdbc_engine(
    settings: Any, data_root: Path, environ: Mapping[str, str] | None = None
) -> tuple[Engine, str | None]:
    """The engine a ``connectionSettings.jdbc`` object describes, and the password it uses (to keep it out
    of every message); JdbcError when the definition is not acceptable."""
    if not isinstance(settings, Mapping):
        raise JdbcError('connectionSettings.jdbc must be an object like {"url": "...", "passwordEnv": "..."}')
    unknown = sorted(set(settings) - SETTINGS_KEYS)
    if unknown:
        hint = " (credentials never belong in the definition: use passwordEnv or passwordFile)"
        raise JdbcError(f"unknown connectionSettings.jdbc keys: {', '.join(unknown)}" + hint)
    raw = settings.get("url")
    if not isinstance(raw, str) or not raw:
        raise JdbcError("connectionSettings.jdbc.url is required")
    try:
        url = make_url(raw)
    except ArgumentError:
        raise JdbcError("connectionSettings.jdbc.url is not a database URL") from None
    if url.password is not None:
        raise JdbcError("the URL carries a password: use passwordEnv or passwordFile instead")
    driver = DRIVERS.get(url.drivername)
    if driver is None:
        raise JdbcError(
            f"database driver {url.drivername!r} is not supported (postgresql+psycopg://... or sqlite:///...)"
        )
    password = _password(settings, data_root, os.environ if environ is None else environ)
    if driver == "sqlite":
        if password is not None:
            raise JdbcError("a sqlite database takes no password")
        return _sqlite(url, data_root), None
    return _postgres(url, settings, password), password
