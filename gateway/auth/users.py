"""Administrator accounts, stored in the gateway-private ``gateway-users`` index (one doc per username)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import AsyncElasticsearch, ConflictError, NotFoundError

from gateway.auth.passwords import PasswordHasher
from gateway.auth.sessions import SessionStore
from gateway.ids import USERNAME

USERS_INDEX = "gateway-users"
DEFAULT_GROUPS = ("Zoran User",)


class UserExists(ValueError):
    """A user with that username already exists."""


class UnknownUser(LookupError):
    """No user has that username."""

    def __str__(self) -> str:
        return f"no user {self.args[0]!r}"


@dataclass(frozen=True)
class User:
    username: str
    password_hash: str
    display_name: str
    uid: str
    gid_number: str
    dn: str
    groups: tuple[str, ...] = DEFAULT_GROUPS
    disabled: bool = False
    created: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    def profile(self) -> dict[str, Any]:
        """The user object of the original login response, in its key order."""
        return {
            "dn": self.dn,
            "controls": [],
            "displayName": self.display_name,
            "gidNumber": self.gid_number,
            "uid": self.uid,
            "_groups": list(self.groups),
        }

    def to_doc(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "password_hash": self.password_hash,
            "display_name": self.display_name,
            "uid": self.uid,
            "gid_number": self.gid_number,
            "dn": self.dn,
            "groups": list(self.groups),
            "disabled": self.disabled,
            "created": self.created,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> User:
        return cls(
            username=doc["username"],
            password_hash=doc["password_hash"],
            display_name=doc["display_name"],
            uid=doc["uid"],
            gid_number=doc["gid_number"],
            dn=doc["dn"],
            groups=tuple(doc.get("groups", ())),
            disabled=bool(doc.get("disabled", False)),
            created=doc["created"],
        )


def normalize_username(username: str) -> str:
    return username.strip().lower()


def default_dn(username: str) -> str:
    return f"cn={username},ou=People,dc=zoran,dc=com"


def default_uid(username: str) -> str:
    return username.split("@", 1)[0]


def _existing_name(username: str) -> str:
    """The account a change names; UnknownUser when no user could have that name (as in ``get``)."""
    account = normalize_username(username)
    if not USERNAME.valid(account):
        raise UnknownUser(username)
    return account


class UserStore:
    def __init__(self, es: AsyncElasticsearch) -> None:
        self._es = es

    async def get(self, username: str) -> User | None:
        account = normalize_username(username)
        if not USERNAME.valid(account):  # no such user: the name could not be a document id in a URL
            return None
        try:
            found = await self._es.get(index=USERS_INDEX, id=account)
        except NotFoundError:
            return None
        return User.from_doc(found["_source"])

    async def create(self, user: User) -> None:
        try:
            await self._es.create(
                index=USERS_INDEX,
                id=USERNAME.check(normalize_username(user.username)),
                document=user.to_doc(),
                refresh=True,
            )
        except ConflictError as exc:
            raise UserExists(f"user {user.username!r} already exists") from exc

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        await self.update(username, password_hash=password_hash)

    async def update(self, username: str, **fields: Any) -> None:
        """Change stored fields of an existing user; UnknownUser if there is none."""
        account = _existing_name(username)
        try:
            await self._es.update(index=USERS_INDEX, id=account, doc=fields, retry_on_conflict=3)
        except NotFoundError as exc:
            raise UnknownUser(username) from exc

    async def delete(self, username: str) -> None:
        account = _existing_name(username)
        try:
            await self._es.delete(index=USERS_INDEX, id=account)
        except NotFoundError as exc:
            raise UnknownUser(username) from exc


async def create_user(
    store: UserStore,
    hasher: PasswordHasher,
    username: str,
    password: str,
    *,
    display_name: str | None = None,
    groups: tuple[str, ...] = DEFAULT_GROUPS,
    gid_number: str = "999",
    uid: str | None = None,
    dn: str | None = None,
) -> User:
    """Hash the password (off the event loop) and store a new user; UserExists if the name is taken."""
    account = normalize_username(username)
    user = User(
        username=account,
        password_hash=await hasher.hash_async(password),
        display_name=display_name or account,
        uid=uid or default_uid(account),
        gid_number=gid_number,
        dn=dn or default_dn(account),
        groups=groups,
    )
    await store.create(user)
    return user


def admin_groups(admin_group: str) -> tuple[str, ...]:
    """The groups of an administrator: every user's, plus the configured admin group."""
    return (*DEFAULT_GROUPS, admin_group)


async def ensure_user(
    store: UserStore, hasher: PasswordHasher, username: str, password: str, **fields: Any
) -> bool:
    """Create the user unless that name exists (another replica may be creating it too); True when created."""
    if await store.get(username) is not None:
        return False
    try:
        await create_user(store, hasher, username, password, **fields)
    except UserExists:
        return False
    return True


# --- changes that end a user's sessions -----------------------------------------------------------------


async def change_password(
    store: UserStore,
    sessions: SessionStore,
    hasher: PasswordHasher,
    username: str,
    password: str,
    now: dt.datetime,
) -> None:
    """Store a new password hash, then end every session of the user (hash first: see ``Authenticator``)."""
    await store.update(username, password_hash=await hasher.hash_async(password))
    await sessions.revoke_all(normalize_username(username), now)


async def set_disabled(
    store: UserStore, sessions: SessionStore, username: str, disabled: bool, now: dt.datetime
) -> None:
    """Disable (sessions end, logins fail) or enable a user; enabling brings no old session back."""
    await store.update(username, disabled=disabled)
    if disabled:
        await sessions.revoke_all(normalize_username(username), now)


async def delete_user(store: UserStore, sessions: SessionStore, username: str, now: dt.datetime) -> None:
    """Delete a user; their sessions stay ended even if the name is given to a new user later."""
    await store.delete(username)
    await sessions.revoke_all(normalize_username(username), now)
