"""Extract search request bodies from the YAML REST tests of OpenSearch (Elasticsearch's fork, Apache-2.0).

Usage::

    python tests/data/extract_es_rest_bodies.py <checkout> [-o tests/data/es_rest_search_bodies.json]

``<checkout>`` is a directory laid out like the OpenSearch repository holding the files of ``FILES``, each
as it is at the listed commit (``git show <commit>:<path> > <checkout>/<path>``). Every ``do: search:``
step with a ``body`` becomes one entry ``{"source": "OpenSearch@<commit>:<path>#<test>", "body": {...}}``;
a second body of the same test gets `` [2]``, and so on. Bodies that use the test runner's stash
(``$var``), that are not JSON objects, or that an earlier entry already holds are left out. See README.md
in this directory for the provenance and licence.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPOSITORY = "opensearch-project/OpenSearch"
SPEC = "rest-api-spec/src/main/resources/rest-api-spec/test/"
PAINLESS = "modules/lang-painless/src/yamlRestTest/resources/rest-api-spec/test/"

# (path in the repository, commit the file is taken from)
FILES: list[tuple[str, str]] = [
    (SPEC + "search/10_source_filtering.yml", "3c5d997a765e24ffa32d35219fd5026cfb143a9d"),
    (SPEC + "search/30_limits.yml", "2b04bd7207a93d946185f1f10a181514f1e4640c"),
    (SPEC + "search/40_indices_boost.yml", "5fea89a41fa0fab2a93e321f8128c88b520e24ec"),
    (SPEC + "search/90_search_after.yml", "009b8066433c0bd5ce279865650319af81339498"),
    (SPEC + "search/110_field_collapsing.yml", "09fb66eed738523a193f6b46667d947c144a879d"),
    (SPEC + "search/111_field_collapsing_with_rescore.yml", "d1f10a3350344733fd5b64ba837c79889ca00b2a"),
    (SPEC + "search/150_rewrite_on_coordinator.yml", "b4b42fa18aa046cf3949db9433965ead38db1642"),
    (SPEC + "search/171_terms_lookup_query.yml", "55d76679f180000c3fadef546a2a57e6487a7412"),
    (SPEC + "search/171_terms_query_with_types.yml", "e3e29201880a8e1f2176a2dcbf75f478bec3c4b9"),
    (SPEC + "search/230_interval_query.yml", "08832728a1c3e2f9e4a0574b632789874c4ab14d"),
    (SPEC + "search/350_matched_queries.yml", "1209e797c797d1529c40f86396ffff65c7c5cd7d"),
    (SPEC + "search.aggregation/20_terms.yml", "0794002f084ed285150c9f2ce16514be65602aab"),
    (SPEC + "search.aggregation/40_range.yml", "06b33720a7f181520c5264aae78371a5bba7c1e4"),
    (SPEC + "search.aggregation/200_top_hits_metric.yml", "d54710456ff46d51f634b30c81d22c0aa9f8bb7a"),
    (SPEC + "search.aggregation/230_composite.yml", "16957a4a06dab96e22ce4f6c3cb930d0e0c8a18b"),
    (SPEC + "search.aggregation/300_pipeline.yml", "910532dd3a81e5f92614ec81e2e1b0450aea3ed8"),
    (SPEC + "search.highlight/10_unified.yml", "a1cd17331c2e53a8a3b2149ac7aca28d2268f287"),
    (SPEC + "search.highlight/30_max_analyzed_offset.yml", "226982bff4e46151164ed10da03f25fe392a98fd"),
    (SPEC + "search.inner_hits/10_basic.yml", "35812e436808b513f739024b2cbca07591105879"),
    (SPEC + "suggest/20_completion.yml", "08832728a1c3e2f9e4a0574b632789874c4ab14d"),
    (PAINLESS + "painless/30_search.yml", "1a1d678b12a94961116ee7284bddf8a63ca328a4"),
]


class _TestLoader(yaml.SafeLoader):
    """YAML as the REST test runner reads it: an unquoted 2020-01-01T00:00:00Z stays a string."""


_TestLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def short_path(path: str) -> str:
    """The path below the ``rest-api-spec/test/`` directory, e.g. ``search/10_source_filtering.yml``."""
    return path.split("rest-api-spec/test/", 1)[1]


def _jsonable(node: Any) -> Any:
    """Mapping keys as strings (YAML reads ``1:`` as an int), dates as their ISO text."""
    if isinstance(node, dict):
        return {str(key): _jsonable(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_jsonable(item) for item in node]
    if isinstance(node, datetime.date):
        return node.isoformat()
    return node


def uses_stash(node: Any) -> bool:
    """True when a key or a string value refers to the test runner's stash (``$var`` / ``${var}``)."""
    if isinstance(node, dict):
        return any(uses_stash(key) or uses_stash(value) for key, value in node.items())
    if isinstance(node, list):
        return any(uses_stash(item) for item in node)
    return isinstance(node, str) and (node.startswith("$") or "${" in node)


def search_bodies(text: str) -> Iterator[tuple[str, Any]]:
    """(test name, body) of every ``do: search:`` step of one YAML test file, in file order."""
    for document in yaml.load_all(text, Loader=_TestLoader):
        if not isinstance(document, dict):
            continue
        for name, steps in document.items():
            if not isinstance(steps, list):
                continue
            for step in steps:
                do = step.get("do") if isinstance(step, dict) else None
                search = do.get("search") if isinstance(do, dict) else None
                if isinstance(search, dict) and "body" in search:
                    yield str(name), search["body"]


def as_object(body: Any) -> dict[str, Any] | None:
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    return _jsonable(body) if isinstance(body, dict) else None


def extract(checkout: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for path, commit in FILES:
        text = (checkout / path).read_text(encoding="utf-8")
        counts: dict[str, int] = {}
        for name, raw in search_bodies(text):
            counts[name] = counts.get(name, 0) + 1
            body = as_object(raw)
            if body is None or uses_stash(body):
                continue
            key = json.dumps(body, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            suffix = f" [{counts[name]}]" if counts[name] > 1 else ""
            source = f"OpenSearch@{commit[:10]}:{short_path(path)}#{name}{suffix}"
            entries.append({"source": source, "body": body})
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="directory laid out like the OpenSearch repository")
    parser.add_argument("-o", "--output", type=Path, help="write the JSON here instead of stdout")
    args = parser.parse_args(argv)
    text = json.dumps(extract(args.checkout), indent=1, ensure_ascii=False) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
