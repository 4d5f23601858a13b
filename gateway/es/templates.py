"""Index and component templates kept as JSON in ``index_templates/`` and applied idempotently.

Layout: ``index_templates/component/<name>.json`` and ``index_templates/index/<name>.json``; the file name
is the template name. Each file carries a ``version``: a template whose stored version already matches is
left alone, so applying is cheap and safe at every start. Index templates whose patterns are concrete
names also get their index created, so a fresh cluster answers searches with empty hits instead of 404.

A template that fixes its mapping (``dynamic`` false or strict) also brings an index created before it in
line: such an index gets the template's ``dynamic`` and declared fields through a mapping update, which
Elasticsearch allows on a live index. A field an older mapping typed differently cannot be changed that way
(that needs a reindex): the index then only stops growing, and the conflict is logged and reported.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

from elasticsearch import AsyncElasticsearch, BadRequestError, NotFoundError

from gateway.es.failures import es_reason

log = logging.getLogger(__name__)

Kind = Literal["component", "index"]


@dataclass(frozen=True)
class Template:
    kind: Kind
    name: str
    body: dict[str, Any]

    @property
    def version(self) -> int:
        return int(self.body["version"])

    @property
    def concrete_indices(self) -> list[str]:
        patterns = self.body.get("index_patterns", []) if self.kind == "index" else []
        return [p for p in patterns if "*" not in p]


class TemplateFileError(ValueError):
    """A template file is missing, unreadable or not a JSON object."""


def load_templates(directory: Path) -> list[Template]:
    """Component templates first, since index templates compose them."""
    templates: list[Template] = []
    kinds: tuple[Kind, ...] = ("component", "index")
    for kind in kinds:
        for path in sorted((directory / kind).glob("*.json")):
            try:
                body = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise TemplateFileError(f"{path}: {exc}") from exc
            if not isinstance(body, dict):
                raise TemplateFileError(f"{path}: expected a JSON object")
            if not isinstance(body.get("version"), int):
                raise TemplateFileError(f"{path}: needs an integer 'version' (bump it on every change)")
            templates.append(Template(kind, path.stem, body))
    if not templates:
        raise TemplateFileError(f"no templates found under {directory}")
    return templates


async def _stored_version(es: AsyncElasticsearch, template: Template) -> int | None:
    try:
        if template.kind == "component":
            found = await es.cluster.get_component_template(name=template.name)
            items = found["component_templates"]
            return items[0]["component_template"].get("version") if items else None
        found = await es.indices.get_index_template(name=template.name)
        items = found["index_templates"]
        return items[0]["index_template"].get("version") if items else None
    except NotFoundError:
        return None


async def _put(es: AsyncElasticsearch, template: Template) -> None:
    if template.kind == "component":
        await es.cluster.put_component_template(name=template.name, **template.body)
    else:
        await es.indices.put_index_template(name=template.name, **template.body)


async def _ensure_index(es: AsyncElasticsearch, index: str) -> bool:
    try:
        await es.indices.create(index=index)
    except BadRequestError as exc:
        if exc.error == "resource_already_exists_exception":
            return False
        raise
    return True


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merged as Elasticsearch composes templates: objects key by key, the later one winning."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def composed_mapping(templates: list[Template], template: Template) -> dict[str, Any]:
    """The mappings an index created from ``template`` starts with: its components', then its own."""
    components = {t.name: t for t in templates if t.kind == "component"}
    mapping: dict[str, Any] = {}
    for name in template.body.get("composed_of", []):
        if name in components:
            mapping = _merge(mapping, components[name].body.get("template", {}).get("mappings", {}))
    return _merge(mapping, template.body.get("template", {}).get("mappings", {}))


def template_for(templates: list[Template], index: str) -> Template | None:
    """The index template Elasticsearch would pick for ``index``: the highest priority one matching it."""
    matching = [
        t
        for t in templates
        if t.kind == "index" and any(fnmatchcase(index, p) for p in t.body.get("index_patterns", []))
    ]
    return max(matching, key=lambda t: int(t.body.get("priority", 0)), default=None)


def field_paths(mapping: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Every field a mapping declares, as dotted paths: objects' fields and multi-fields included."""
    for name, field in mapping.get("properties", {}).items():
        path = f"{prefix}{name}"
        yield path
        yield from field_paths(field, f"{path}.")
        for sub in field.get("fields", {}):
            yield f"{path}.{sub}"


def undeclared_fields(templates: list[Template], index: str, mapping: Mapping[str, Any]) -> list[str]:
    """The fields in ``index``'s live ``mapping`` that its template does not declare (all, without one)."""
    template = template_for(templates, index)
    declared = set(field_paths(composed_mapping(templates, template))) if template else set()
    return sorted(set(field_paths(mapping)) - declared)


def _covers(live: Any, wanted: Any) -> bool:
    """Whether a live mapping already says everything ``wanted`` says (it may say more)."""
    if isinstance(wanted, Mapping):
        return isinstance(live, Mapping) and all(k in live and _covers(live[k], v) for k, v in wanted.items())
    return str(live).lower() == str(wanted).lower()


async def _align_mappings(
    es: AsyncElasticsearch, templates: list[Template], existing: list[str]
) -> dict[str, str]:
    """Existing indices whose template fixes ``dynamic``: given that ``dynamic`` and the declared fields."""
    wanted: dict[str, dict[str, Any]] = {}
    for index in existing:
        template = template_for(templates, index)
        mapping = composed_mapping(templates, template) if template else {}
        if "dynamic" in mapping:
            wanted[index] = mapping
    if not wanted:
        return {}
    live = await es.indices.get_mapping(index=",".join(wanted))
    report: dict[str, str] = {}
    for index, mapping in wanted.items():
        dynamic, current = mapping["dynamic"], live[index]["mappings"]
        same_dynamic = str(current.get("dynamic", "true")).lower() == str(dynamic).lower()
        if same_dynamic and _covers(current.get("properties", {}), mapping.get("properties", {})):
            continue
        try:
            await es.indices.put_mapping(
                index=index, dynamic=dynamic, properties=mapping.get("properties", {})
            )
            report[index] = "mapping updated"
        except BadRequestError as exc:  # a field an older mapping typed otherwise: at least stop growing
            await es.indices.put_mapping(index=index, dynamic=dynamic)
            reason = es_reason(exc)
            log.warning(
                "index %s: dynamic %s now, but a field keeps another type: %s", index, dynamic, reason
            )
            report[index] = f"mapping updated (dynamic {dynamic} only; reindex to fix: {reason})"
    return report


async def apply_templates(es: AsyncElasticsearch, templates: list[Template]) -> dict[str, str]:
    """Apply every template; returns ``{name: "created" | "updated" | "unchanged"}`` plus created indices
    and the existing indices whose mappings were brought in line."""
    report: dict[str, str] = {}
    for template in templates:
        stored = await _stored_version(es, template)
        if stored is not None and stored == template.version:
            report[template.name] = "unchanged"
            continue
        await _put(es, template)
        report[template.name] = "created" if stored is None else "updated"
    existing: list[str] = []
    for template in templates:
        for index in template.concrete_indices:
            if await _ensure_index(es, index):
                report[index] = "index created"
            else:
                existing.append(index)
    report.update(await _align_mappings(es, templates, existing))
    return report
