"""``gateway users``: administrator accounts, stored in Elasticsearch with Argon2id password hashes."""

from __future__ import annotations

import sys
from typing import Any

import click
from elasticsearch import AsyncElasticsearch

from gateway.auth.passwords import PasswordHasher, WeakPassword
from gateway.auth.users import DEFAULT_GROUPS, User, UserExists, UserStore, admin_groups, create_user
from gateway.cli.common import fail, load_settings, with_es
from gateway.ids import InvalidId


@click.group("users")
def users_group() -> None:
    """Administrator accounts (stored in Elasticsearch, passwords hashed with Argon2id)."""


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
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
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
