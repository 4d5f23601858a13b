"""``gateway users``: administrator accounts, stored in Elasticsearch with Argon2id password hashes."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import click
from elasticsearch import AsyncElasticsearch

from gateway.auth.passwords import PasswordHasher, WeakPassword
from gateway.auth.sessions import SessionStore
from gateway.auth.users import (
    DEFAULT_GROUPS,
    UnknownUser,
    User,
    UserExists,
    UserStore,
    admin_groups,
    change_password,
    create_user,
    delete_user,
    set_disabled,
)
from gateway.cli.common import fail, load_settings, with_es
from gateway.ids import InvalidId


@click.group("users")
def users_group() -> None:
    """Administrator accounts (stored in Elasticsearch, passwords hashed with Argon2id)."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


async def _must_exist(users: UserStore, username: str) -> None:
    if await users.get(username) is None:
        raise UnknownUser(username)


def _change(work: Callable[[UserStore, SessionStore, dt.datetime], Awaitable[None]]) -> None:
    """Run a change to an existing user (one that ends their sessions where it says so)."""

    async def run(es: AsyncElasticsearch) -> None:
        await work(UserStore(es), SessionStore(es), dt.datetime.now(dt.UTC))

    try:
        with_es(load_settings(), run)
    except (UnknownUser, WeakPassword) as exc:
        fail(str(exc))


@users_group.command("create")
@click.argument("username")
@click.option("--admin/--no-admin", default=True, show_default=True, help="Add to the admin group.")
@click.option("--display-name", help="Display name [default: the username].")
@click.option("--gid-number", default="999", show_default=True, help="gidNumber shown in login responses.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(
    username: str, admin: bool, display_name: str | None, gid_number: str, password_stdin: bool
) -> None:
    """Create a user; the password is prompted for (hidden) unless --password-stdin is given."""
    settings = load_settings()
    password = _read_password(password_stdin)
    fields: dict[str, Any] = {
        "display_name": display_name,
        "groups": admin_groups(settings.admin_group) if admin else DEFAULT_GROUPS,
        "gid_number": gid_number,
    }

    async def create(es: AsyncElasticsearch) -> User:
        return await create_user(UserStore(es), PasswordHasher(), username, password, **fields)

    try:
        user = with_es(settings, create)
    except (UserExists, WeakPassword, InvalidId) as exc:
        fail(str(exc))
    click.echo(f"created {user.username} (groups: {', '.join(user.groups)})")


@users_group.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def users_set_password(username: str, password_stdin: bool) -> None:
    """Set a user's password (at least 8 characters; prompted for, hidden, unless --password-stdin) and end
    all their sessions."""
    _change(lambda users, _sessions, _now: _must_exist(users, username))  # before asking for a password
    password = _read_password(password_stdin)
    _change(
        lambda users, sessions, now: change_password(
            users, sessions, PasswordHasher(), username, password, now
        )
    )
    click.echo(f"password of {username} changed; their sessions have ended")


@users_group.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Refuse the user's logins and end all their sessions."""
    _change(lambda users, sessions, now: set_disabled(users, sessions, username, True, now))
    click.echo(f"disabled {username}; their sessions have ended")


@users_group.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    """Let a disabled user log in again (their old sessions stay ended)."""
    _change(lambda users, sessions, now: set_disabled(users, sessions, username, False, now))
    click.echo(f"enabled {username}")


@users_group.command("delete")
@click.argument("username")
@click.confirmation_option(prompt="Delete this user and end their sessions?")
def users_delete(username: str) -> None:
    """Delete a user and end all their sessions (asks first unless --yes).

    The GATEWAY_ADMIN_USERNAME account is created again at the next start: disable it instead."""
    _change(lambda users, sessions, now: delete_user(users, sessions, username, now))
    click.echo(f"deleted {username}; their sessions have ended")
