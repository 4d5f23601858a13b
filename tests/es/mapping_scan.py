"""The check the suite runs after every test and at its end: entity indices hold only declared fields.

Whatever a test wrote, through whichever route, an entity index (``*_autoid_base_*``) on the session's node
must map exactly what ``index_templates/`` declares for it: a field beyond that is a mapping a caller grew.
"""

from __future__ import annotations

from functools import cache

import pytest
from elasticsearch import Elasticsearch

from gateway.bundled import bundled_dir
from gateway.es.templates import Template, load_templates, undeclared_fields

ENTITY_INDICES = "*_autoid_base_*"


@cache
def shipped_templates() -> list[Template]:
    return load_templates(bundled_dir("index_templates"))


def undeclared_entity_fields(es: Elasticsearch, indices: str = ENTITY_INDICES) -> dict[str, list[str]]:
    """``{index: [field, ...]}`` for every matching index that maps a field its template does not declare."""
    found = es.indices.get_mapping(index=indices, expand_wildcards="all")
    templates = shipped_templates()
    extra = {name: undeclared_fields(templates, name, body["mappings"]) for name, body in found.items()}
    return {name: fields for name, fields in extra.items() if fields}


def fail_on_undeclared_fields(es: Elasticsearch) -> None:
    if extra := undeclared_entity_fields(es):
        listed = "; ".join(f"{name}: {', '.join(fields[:20])}" for name, fields in sorted(extra.items()))
        pytest.fail(f"entity indices map fields no template declares: {listed}", pytrace=False)
