"""What an API key may do: its scopes (SPEC §10), their defaults, and the 403 a missing one answers.

``search``: the passthrough search and the data-source and mapping reads. ``write``: ingest create, update
and upsert, and sync runs that delete nothing. ``delete``: the ingest ``delete`` action and finishing a
``full`` run (its deletes). Which route needs which is one table, ``gateway.http.scopes``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from gateway.errors import InvalidInput, NotPermitted

Scope = Literal["search", "write", "delete"]
SEARCH: Scope = "search"
WRITE: Scope = "write"
DELETE: Scope = "delete"
SCOPES: tuple[Scope, ...] = (SEARCH, WRITE, DELETE)
DEFAULT_SCOPES: tuple[Scope, ...] = (SEARCH, WRITE)  # a new key, unless its creator says otherwise
# A record stored before scopes existed carries none: it keeps everything it could do, so an upgrade
# never stops a running job.
STORED_BEFORE_SCOPES: tuple[Scope, ...] = SCOPES

WHAT_EACH_ALLOWS: dict[Scope, str] = {
    SEARCH: "the passthrough search and the data-source and mapping reads",
    WRITE: "ingest create, update and upsert; sync runs that delete nothing",
    DELETE: "the ingest delete action; finishing a full sync run (its deletes)",
}


def parse_scopes(values: Iterable[str] | None) -> tuple[Scope, ...]:
    """The scopes a creator asked for, in canonical order; the default when none were given.

    Unknown names and an empty list are a 400 (a key that may do nothing is a mistake, not a policy).
    """
    if values is None:
        return DEFAULT_SCOPES
    wanted = [value.strip().lower() for value in values]
    unknown = sorted({value for value in wanted if value not in SCOPES})
    if unknown:
        raise InvalidInput(
            f"unknown scope(s) {', '.join(map(repr, unknown))}: scopes are {', '.join(SCOPES)}"
        )
    if not wanted:
        raise InvalidInput(f"scopes may not be empty: give one or more of {', '.join(SCOPES)}")
    return tuple(scope for scope in SCOPES if scope in wanted)


def stored_scopes(values: Iterable[str] | None) -> tuple[Scope, ...]:
    """The scopes of a stored record: those it names, or all of them for a record from before scopes."""
    if values is None:
        return STORED_BEFORE_SCOPES
    kept = set(values)
    return tuple(scope for scope in SCOPES if scope in kept)


def missing_scope(scope: Scope, what: str) -> NotPermitted:
    return NotPermitted(
        f"this API key lacks the '{scope}' scope, which {what} needs",
        details={"requiredScope": scope},
    )


def require(granted: Iterable[str], scope: Scope, what: str) -> None:
    """403 ``forbidden`` naming ``scope`` unless ``granted`` holds it."""
    if scope not in granted:
        raise missing_scope(scope, what)
