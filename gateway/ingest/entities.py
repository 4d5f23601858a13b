"""The four base entities (SPEC §4.4): their id fields, index names, document ids and document shape.

Pure functions only; ``gateway.ingest.writer`` turns validated items into Elasticsearch bulk operations. Every
entity document keeps the caller's fields as given and adds a ``metadata`` block like the data-source
documents', so ``_id = sha512("actual_<primaryKey>")`` holds for every entity, as in the original.

The ``metadata`` block is the gateway's alone, and so is every Elasticsearch metadata field (``_id``,
``_source``, ...). Elasticsearch reads a dot in a field name as a path (``{"metadata.tenantId": x}`` is
``{"metadata": {"tenantId": x}}``), so field names are allow-listed rather than reserved ones deny-listed:
at every depth a name is ``FIELD_NAME`` (letters, digits, ``_`` and ``-``, starting with a letter or a digit;
no dot, no leading underscore), items nest at most ``MAX_DEPTH`` levels and hold at most ``MAX_FIELDS``
names. An item's paths are then exactly its names joined by dots, and none of them reaches the gateway's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

NAMESPACE = "/autoid/base"
BRANCH = "actual"
MAX_ID_LENGTH = 1024
RESERVED_FIELDS = frozenset({"metadata"})
FIELD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
FIELD_NAME_RULE = "field names are 1 to 128 letters, digits, '_' or '-', starting with a letter or digit"
MAX_DEPTH = 8  # objects and arrays within the item, the item itself included
MAX_FIELDS = 1000  # field names in one item, at every depth


@dataclass(frozen=True)
class EntityKind:
    """One base entity: ``name`` is the URL segment and index part, ``list_key`` the request's array."""

    name: str
    list_key: str
    id_fields: tuple[str, ...]
    columns: tuple[str, ...]

    def index(self, tenant_name: str) -> str:
        return f"{tenant_name}_autoid_base_{self.name}_latest"


APPLICATIONS = EntityKind("applications", "apps", ("app_id",), ("app_id", "app_name", "app_owner_id"))
ENTITLEMENTS = EntityKind(
    "entitlements", "entitlements", ("ent_id",), ("ent_id", "ent_name", "ent_owner_id", "app_id")
)
IDENTITIES = EntityKind("identities", "identities", ("usr_id",), ("usr_id", "usr_name", "usr_manager_id"))
ASSIGNMENTS = EntityKind("assignments", "assignments", ("usr_id", "ent_id"), ("usr_id", "ent_id"))

# In dependency order: what an assignment refers to is loaded before it.
ENTITY_KINDS: dict[str, EntityKind] = {
    kind.name: kind for kind in (APPLICATIONS, ENTITLEMENTS, IDENTITIES, ASSIGNMENTS)
}


def document_id(primary_key: str, branch: str = BRANCH) -> str:
    """The original product's document id: lowercase hex SHA-512 of ``<branch>_<primaryKey>``."""
    return hashlib.sha512(f"{branch}_{primary_key}".encode()).hexdigest()


class InvalidItem(ValueError):
    """An item that cannot become a document; the message names the field, never echoes values."""


def item_ids(kind: EntityKind, item: Any) -> dict[str, str]:
    """The item's id fields, validated: present, strings, not blank, bounded."""
    if not isinstance(item, Mapping):
        raise InvalidItem(f"each {kind.list_key} item must be a JSON object")
    ids: dict[str, str] = {}
    for field in kind.id_fields:
        value = item.get(field)
        if value is None:
            raise InvalidItem(f"{field} is required")
        if not isinstance(value, str):
            raise InvalidItem(f"{field} must be a string")
        if not value.strip():
            raise InvalidItem(f"{field} must not be blank")
        if len(value) > MAX_ID_LENGTH:
            raise InvalidItem(f"{field} is longer than {MAX_ID_LENGTH} characters")
        if not value.isprintable():  # control, format (bidi) and separator characters, NUL among them
            raise InvalidItem(f"{field} must hold printable characters only")
        ids[field] = value
    reserved = RESERVED_FIELDS.intersection(item)
    if reserved:
        raise InvalidItem(f"{', '.join(sorted(reserved))} is reserved for the gateway")
    check_fields(item)
    return ids


def check_fields(item: Mapping[str, Any]) -> None:
    """Every field name in ``item``, at every depth, is a ``FIELD_NAME``; depth and size are bounded.

    The message names where a bad name is (by the path of valid names above it), never the name itself."""
    fields = 0
    # (value, path of the object it is in or under, depth of its container)
    pending: list[tuple[Any, str, int]] = [(item, "", 1)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise InvalidItem(f"items nest at most {MAX_DEPTH} levels of objects and arrays")
        if isinstance(value, Mapping):
            fields += len(value)
            if fields > MAX_FIELDS:
                raise InvalidItem(f"an item has at most {MAX_FIELDS} field names")
            for name, inner in value.items():
                if not (isinstance(name, str) and FIELD_NAME.fullmatch(name)):
                    where = f"under {path}" if path else "at the top level"
                    raise InvalidItem(f"a field name {where} is refused: {FIELD_NAME_RULE}")
                if isinstance(inner, Mapping | list):
                    pending.append((inner, f"{path}.{name}" if path else name, depth + 1))
        elif isinstance(value, list):
            pending.extend((inner, path, depth + 1) for inner in value if isinstance(inner, Mapping | list))


def primary_key(kind: EntityKind, ids: Mapping[str, str]) -> str:
    """The entity's primary key: its id, or for assignments ``<usr_id>:<ent_id>``, each part escaped
    so that no two different pairs share a key."""
    if len(kind.id_fields) == 1:
        return ids[kind.id_fields[0]]
    return ":".join(quote(ids[field], safe="") for field in kind.id_fields)


def entity_id(kind: EntityKind, ids: Mapping[str, str]) -> str:
    return document_id(primary_key(kind, ids))


def entity_metadata(
    kind: EntityKind, key: str, tenant_name: str, context_id: str, now: str
) -> dict[str, str]:
    return {
        "contextId": context_id,
        "entityType": f"{NAMESPACE}/{kind.name}",
        "primaryKey": key,
        "entityPath": f"{NAMESPACE}/{kind.name}/{key}",
        "entityDefinition": kind.name,
        "namespace": NAMESPACE,
        "branch": BRANCH,
        "created": now,
        "updated": now,
        "tenantId": tenant_name,
    }
