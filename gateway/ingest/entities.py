"""The four base entities (SPEC §4.4): their id fields, index names, document ids and document shape.

Pure functions only; ``gateway.ingest.writer`` turns validated items into Elasticsearch bulk operations. Every
entity document keeps the caller's fields as given and adds a ``metadata`` block like the data-source
documents', so ``_id = sha512("actual_<primaryKey>")`` holds for every entity, as in the original.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

NAMESPACE = "/autoid/base"
BRANCH = "actual"
MAX_ID_LENGTH = 1024
RESERVED_FIELDS = frozenset({"metadata"})


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
        ids[field] = value
    reserved = RESERVED_FIELDS.intersection(item)
    if reserved:
        raise InvalidItem(f"{', '.join(sorted(reserved))} is reserved for the gateway")
    return ids


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
