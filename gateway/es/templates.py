"""Index and component templates kept as JSON in ``index_templates/`` and applied idempotently.

Layout: ``index_templates/component/<name>.json`` and ``index_templates/index/<name>.json``; the file name
is the template name. Each file carries a ``version``: a template whose stored version already matches is
left alone, so applying is cheap and safe at every start. Index templates whose patterns are concrete
names also get their index created, so a fresh cluster answers searches with empty hits instead of 404.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from elasticsearch import AsyncElasticsearch, BadRequestError, NotFoundError

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


async def apply_templates(es: AsyncElasticsearch, templates: list[Template]) -> dict[str, str]:
    """Apply every template; returns ``{name: "created" | "updated" | "unchanged"}`` plus created indices."""
    report: dict[str, str] = {}
    for template in templates:
        stored = await _stored_version(es, template)
        if stored is not None and stored == template.version:
            report[template.name] = "unchanged"
            continue
        await _put(es, template)
        report[template.name] = "created" if stored is None else "updated"
    for template in templates:
        for index in template.concrete_indices:
            if await _ensure_index(es, index):
                report[index] = "index created"
    return report
