"""Which scope each route an API key may call needs: one table, enforced by ``CallerDep``, shown in OpenAPI.

A route a key may call and that is missing here is refused to every key (fail closed), and
tests/http/routes/test_scopes.py fails. Some routes need ``delete`` as well for some bodies (the ingest
``delete`` action, a ``full`` run): ``also_delete`` says when, and the route checks it once it has read the
body, before doing anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.auth.callers import Caller
from gateway.auth.scopes import DELETE, SEARCH, WRITE, Scope
from gateway.errors import NotPermitted


@dataclass(frozen=True)
class Needs:
    scope: Scope
    also_delete: str | None = None  # when the body asks for this, ``delete`` too


INGEST = Needs(WRITE, also_delete="`action` `delete`")
FULL_RUN = Needs(WRITE, also_delete="`mode` `full`")
SYNC = "/api/ingest/sync/{datasourceId}"

ROUTE_SCOPES: Mapping[tuple[str, str], Needs] = {
    ("POST", "/jas/datasource/search"): Needs(SEARCH),
    ("GET", "/api/ingest/datasources"): Needs(SEARCH),
    ("POST", "/api/ingest/datasources"): Needs(SEARCH),
    ("GET", "/api/ingest/mappings"): Needs(SEARCH),
    ("POST", "/api/ingest/mappings"): Needs(SEARCH),
    ("POST", "/api/ingest/applications"): INGEST,
    ("POST", "/api/ingest/entitlements"): INGEST,
    ("POST", "/api/ingest/identities"): INGEST,
    ("POST", "/api/ingest/assignments"): INGEST,
    ("POST", f"{SYNC}/start"): FULL_RUN,
    ("POST", f"{SYNC}/renew"): Needs(WRITE),
    ("POST", f"{SYNC}/finish"): FULL_RUN,
    ("POST", f"{SYNC}/abort"): Needs(WRITE),
    ("POST", f"{SYNC}/check"): Needs(WRITE),
}


def check_route(caller: Caller, method: str, path: str) -> None:
    """403 ``forbidden`` naming the scope the route needs, when the caller's key lacks it."""
    needs = ROUTE_SCOPES.get((method, path))
    if needs is None:
        raise NotPermitted(f"{method} {path} is not open to API keys")
    caller.require(needs.scope, f"{method} {path}")


def require_delete(caller: Caller, what: str) -> None:
    caller.require(DELETE, what)


def describe(needs: Needs) -> str:
    text = f"Needs an API key with the `{needs.scope}` scope"
    if needs.also_delete:
        text += f", and `delete` too with {needs.also_delete}"
    return text + " (docs/api-keys.md, Scopes)."


def annotate(paths: Mapping[str, Mapping[str, dict[str, Any]]]) -> None:
    """Each operation of the table gets ``x-required-scope`` (and ``x-also-delete``) and a sentence."""
    for (method, path), needs in ROUTE_SCOPES.items():
        operation = paths.get(path, {}).get(method.lower())
        if operation is None:
            continue
        operation["x-required-scope"] = needs.scope
        if needs.also_delete:
            operation["x-also-requires-delete-with"] = needs.also_delete
        description = operation.get("description", "")
        operation["description"] = f"{description}\n\n{describe(needs)}".strip()
