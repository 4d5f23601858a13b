"""docker-compose.yml: Elasticsearch at the pinned version, the gateway wired to it by health, and the
`cluster` profile (three nodes, two gateway replicas, a load balancer)."""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from pydantic import ValidationError

from gateway.embedded import launcher
from gateway.settings import DEMO_TENANT_ID
from tests.helpers import make_settings

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def test_elasticsearch_image_is_the_pinned_version() -> None:
    image = _compose()["services"]["elasticsearch"]["image"]
    assert image == f"docker.elastic.co/elasticsearch/elasticsearch:{launcher.pinned_version()}"


def test_gateway_waits_for_a_healthy_elasticsearch() -> None:
    services = _compose()["services"]
    assert "healthcheck" in services["elasticsearch"]
    assert services["gateway"]["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert services["gateway"]["environment"]["ES_URL"] == "http://elasticsearch:9200"
    assert (COMPOSE.parent / services["gateway"]["build"] / "Dockerfile").is_file()


def test_elasticsearch_data_survives_restarts() -> None:
    document = _compose()
    volume = document["services"]["elasticsearch"]["volumes"][0].split(":")[0]
    assert volume in document["volumes"]


# --- the `cluster` profile: three nodes, two gateway replicas, a load balancer ---

NODES = ("es01", "es02", "es03")
REPLICAS = ("gateway01", "gateway02")
SHARED_SECRETS = ("GATEWAY_JWT_SECRET", "GATEWAY_API_KEY_SECRET")


def _services() -> dict[str, Any]:
    services = _compose()["services"]
    assert isinstance(services, dict)
    return services


def _nginx_conf() -> str:
    content = _compose()["configs"]["cluster-lb"]["content"]
    assert isinstance(content, str)
    # Compose turns $$ into $ when it reads the file; nginx sees the result.
    return content.replace("$$", "$")


def _directives(conf: str, name: str) -> list[list[str]]:
    """The arguments of every simple `name ...;` directive in an nginx configuration (not blocks)."""
    found = []
    for line in conf.splitlines():
        line = line.split("#", 1)[0].strip()
        words = line.rstrip(";").split()
        if words and words[0] == name and line.endswith(";"):
            found.append(words[1:])
    return found


def test_default_profile_is_the_single_node_and_its_gateway() -> None:
    services = _services()
    always = {name for name, service in services.items() if "profiles" not in service}
    assert always == {"elasticsearch", "gateway"}
    for name in always:
        assert "networks" not in services[name], "the default pair stays on the default network"
    for name, service in services.items():
        if name not in always:
            assert service["profiles"] == ["cluster"], name


def test_cluster_nodes_discover_each_other() -> None:
    services = _services()
    single = services["elasticsearch"]
    cluster_names = set()
    for name in NODES:
        node = services[name]
        environment = node["environment"]
        assert node["image"] == single["image"]
        assert environment["node.name"] == name
        assert set(environment["discovery.seed_hosts"].split(",")) == set(NODES)
        assert set(environment["cluster.initial_master_nodes"].split(",")) == set(NODES)
        assert "discovery.type" not in environment
        assert environment["xpack.security.enabled"] == "false"
        assert node["healthcheck"] == single["healthcheck"]
        cluster_names.add(environment["cluster.name"])
        # Small, fixed heaps: three of them share the machine.
        heap = environment["ES_JAVA_OPTS"].split()
        assert heap == ["-Xms512m", "-Xmx512m"]
        assert "ports" not in node, "only the load balancer is published"
    assert len(cluster_names) == 1


def test_cluster_nodes_keep_their_data_in_their_own_volumes() -> None:
    document = _compose()
    volumes = [document["services"][name]["volumes"][0].split(":") for name in NODES]
    assert {target for _, target in volumes} == {"/usr/share/elasticsearch/data"}
    names = [source for source, _ in volumes]
    assert len(set(names)) == len(NODES)
    assert "es-data" not in names
    assert set(names) <= set(document["volumes"])


def test_gateway_replicas_share_cluster_and_secrets() -> None:
    services = _services()
    environments = [services[name]["environment"] for name in REPLICAS]
    assert environments[0] == environments[1]
    environment = environments[0]
    assert environment["ES_URL"].split(",") == [f"http://{node}:9200" for node in NODES]
    assert environment["GATEWAY_TLS"] == "false"
    for variable in SHARED_SECRETS:
        # Never a value in the file: the variable itself, empty when unset (which the gateway refuses).
        assert environment[variable] == f"${{{variable}:-}}"
    for name in REPLICAS:
        replica = services[name]
        assert replica["build"] == services["gateway"]["build"]
        assert replica["depends_on"] == {node: {"condition": "service_healthy"} for node in NODES}
        assert "http://127.0.0.1:8443/readyz" in " ".join(replica["healthcheck"]["test"])
        assert "ports" not in replica, "only the load balancer is published"
    states = [services[name]["volumes"][0].split(":")[0] for name in REPLICAS]
    assert len(set(states)) == len(REPLICAS) and "gateway-state" not in states


def test_gateway_refuses_empty_shared_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # What keeps the replicas from generating a secret each when the variables are not set.
    monkeypatch.chdir(tmp_path)  # no .env
    for variable in SHARED_SECRETS:
        monkeypatch.setenv(variable, "")
    with pytest.raises(ValidationError) as failure:
        make_settings()
    assert {error["loc"][0] for error in failure.value.errors()} >= set(SHARED_SECRETS)


def test_load_balancer_round_robins_over_both_replicas() -> None:
    services = _services()
    lb = services["lb"]
    assert lb["image"].startswith("nginx:")
    assert lb["depends_on"] == {name: {"condition": "service_healthy"} for name in REPLICAS}
    assert lb["configs"] == [{"source": "cluster-lb", "target": "/etc/nginx/conf.d/default.conf"}]
    published = lb["ports"][0].rsplit(":", 1)[0]
    assert published.startswith("127.0.0.1:")
    assert published not in [port.rsplit(":", 1)[0] for port in services["gateway"]["ports"]]

    conf = _nginx_conf()
    servers = _directives(conf, "server")
    assert [args[0] for args in servers] == [f"{name}:8443" for name in REPLICAS]
    for args in servers:
        assert any(arg.startswith("max_fails=") for arg in args)
        assert any(arg.startswith("fail_timeout=") for arg in args)
    assert not [args for args in servers if set(args) & {"weight", "backup", "ip_hash"}]
    assert _directives(conf, "ip_hash") == [] and _directives(conf, "hash") == []
    assert _directives(conf, "proxy_pass") == [["http://gateways"]]
    # Retries on another replica only for connection failures, never for non-idempotent requests.
    assert _directives(conf, "proxy_next_upstream") == [["error", "timeout"]]
    assert _directives(conf, "listen") == [[lb["ports"][0].rsplit(":", 1)[1]]]
    assert ["X-Forwarded-For", "$remote_addr"] in _directives(conf, "proxy_set_header")


def test_nginx_variables_are_escaped_from_compose() -> None:
    content = _compose()["configs"]["cluster-lb"]["content"]
    # A lone $name would be replaced by Compose (with an empty string) before nginx sees it.
    assert not re.search(r"(?<!\$)\$(?!\$)", content)


# --- the file as Compose reads it: interpolated, checked against the Compose Specification's schema, and
# narrowed to the active profiles. `make compose-check` runs the real `docker compose config` as well. ---

SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec" / "compose-spec.json"
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+other}, ${NAME+other},
# $NAME, and $$ for a literal $ (the Compose Specification's "Interpolation" section).
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*)|(?P<invalid>\{[^}]*\}?|.?))"
)


class Unset(Exception):
    """A ${NAME:?error} or ${NAME?error} whose variable is missing: Compose refuses the file."""


class InvalidInterpolation(Exception):
    """A $ that is no variable (``$5``, ``${}``, a lone ``$``), or a nested default this model does not
    evaluate (``${A:-${B}}``): refused rather than passed through unchanged."""


def interpolate(value: Any, environment: dict[str, str]) -> Any:
    """``value`` with its variables replaced as Compose replaces them (values only, never keys)."""
    if isinstance(value, dict):
        return {key: interpolate(item, environment) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environment) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["invalid"] is not None:
            raise InvalidInterpolation(f"invalid interpolation in {value!r}: {match[0]!r}")
        name = match["braced"] or match["named"]
        op, arg = match["op"] or "", match["arg"] or ""
        if "$" in arg:
            raise InvalidInterpolation(f"nested interpolation is not modelled here: {value!r}")
        present = name in environment
        usable = present and (environment[name] != "" or not op.startswith(":"))
        if op.endswith("-"):
            return environment[name] if usable else arg
        if op.endswith("?"):
            if not usable:
                raise Unset(f"{name}: {arg}")
            return environment[name]
        if op.endswith("+"):
            return arg if usable else ""
        return environment.get(name, "")

    return _VARIABLE.sub(replace, value)


def load_project(
    environment: dict[str, str], profiles: tuple[str, ...] = (), written: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The project Compose would run: the file interpolated and schema-checked, then the services of the
    active profiles (and those without one) with only the volumes, networks and configs they use."""
    document = interpolate(_compose() if written is None else written, environment)
    errors = [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in _validator().iter_errors(document)
    ]
    assert not errors, errors
    services = {
        name: service
        for name, service in document["services"].items()
        if not service.get("profiles") or set(service["profiles"]) & set(profiles)
    }
    # Named volumes (not paths), networks, configs and dependencies must exist, as Compose checks.
    mounts = [v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if ":" in v]
    used_volumes = {m for m in mounts if not m.startswith((".", "/", "~"))}
    used_networks = {n for s in services.values() for n in s.get("networks", ["default"])}
    used_configs = {c["source"] for s in services.values() for c in s.get("configs", [])}
    needed = {d for s in services.values() for d in s.get("depends_on", {})}
    assert used_volumes <= set(document.get("volumes", {})), used_volumes - set(document.get("volumes", {}))
    assert used_networks - {"default"} <= set(document.get("networks", {})), used_networks
    assert used_configs <= set(document.get("configs", {})), used_configs
    assert needed <= set(services), f"depends on inactive or unknown services: {needed - set(services)}"
    project: dict[str, Any] = {"services": services}
    project["networks"] = {n: document.get("networks", {}).get(n) for n in sorted(used_networks)}
    project["volumes"] = {v: document["volumes"][v] for v in sorted(used_volumes)}
    if used_configs:
        project["configs"] = {c: document["configs"][c] for c in sorted(used_configs)}
    return project


@functools.cache
def _validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))


def _environment(*, secrets: bool) -> dict[str, str]:
    """An operator's environment: nothing of the project's set, or just the two shared secrets."""
    return {variable: "x" * 48 for variable in SHARED_SECRETS} if secrets else {}


def test_the_schema_is_the_compose_specification_with_its_licence() -> None:
    schema = json.loads(SCHEMA.read_text())
    assert schema["title"] == "Compose Specification"
    assert "Apache License" in (SCHEMA.parent / "LICENSE").read_text()
    assert "compose-spec/compose-spec" in (SCHEMA.parent / "README.md").read_text()


@pytest.mark.parametrize(
    ("path", "value", "complaint"),
    [
        (("services", "gateway", "healthchek"), {}, "'healthchek' was unexpected"),
        (("services", "lb", "depends_on"), "gateway01", "is not valid under any of the schemas"),
        (("services", "es01", "volumes"), {"es01-data": "/data"}, "is not of type"),
        (("nets",), {}, "'nets' was unexpected"),
    ],
)
def test_the_schema_refuses_what_compose_refuses(path: tuple[str, ...], value: Any, complaint: str) -> None:
    document = copy.deepcopy(interpolate(_compose(), _environment(secrets=True)))
    *parents, last = path
    target = document
    for key in parents:
        target = target[key]
    target[last] = value
    messages = [error.message for error in _validator().iter_errors(document)]
    assert any(complaint in message for message in messages), messages


@pytest.mark.parametrize(
    ("service", "key", "value", "complaint"),
    [
        ("gateway", "volumes", ["gateway-stat:/app/.state"], "gateway-stat"),
        ("lb", "networks", ["cluster-lbb"], "cluster-lbb"),
        ("gateway", "depends_on", {"es01": {"condition": "service_healthy"}}, "inactive or unknown services"),
    ],
)
def test_references_to_what_the_file_does_not_declare_are_refused(
    service: str, key: str, value: Any, complaint: str
) -> None:
    written = copy.deepcopy(_compose())
    written["services"][service][key] = value
    with pytest.raises(AssertionError, match=complaint):
        load_project(_environment(secrets=True), () if service == "gateway" else ("cluster",), written)


def test_interpolation_follows_the_compose_rules() -> None:
    environment = {"SET": "v", "EMPTY": ""}
    cases = {
        "$$name $${SET}": "$name ${SET}",
        "${SET} $SET ${MISSING}": "v v ",
        "${EMPTY:-d} ${EMPTY-d} ${MISSING-d}": "d  d",
        "${SET:+alt} ${EMPTY:+alt} ${EMPTY+alt}": "alt  alt",
        "${SET:?needed}": "v",
    }
    for written, read in cases.items():
        assert interpolate(written, environment) == read
    with pytest.raises(Unset, match="EMPTY: needed"):
        interpolate("${EMPTY:?needed}", environment)
    for invalid in ("$5", "${}", "cost: 5$", "${A:-${B}}", "${1A}"):
        with pytest.raises(InvalidInterpolation):
            interpolate(invalid, environment)
    assert interpolate({"$$key": ["${SET}", 1]}, environment) == {"$$key": ["v", 1]}


def test_compose_accepts_the_cluster_profile() -> None:
    project = load_project(_environment(secrets=True), ("cluster",))
    assert set(project["services"]) == {"elasticsearch", "gateway", *NODES, *REPLICAS, "lb"}
    assert set(project["networks"]) == {"default", "cluster-es", "cluster-lb"}
    # Interpolation turns every $$ into $: exactly what nginx gets, with no variable of Compose's left.
    assert project["configs"]["cluster-lb"]["content"] == _nginx_conf()


def test_compose_passes_the_same_secrets_to_both_replicas() -> None:
    for secrets in (True, False):
        services = load_project(_environment(secrets=secrets), ("cluster",))["services"]
        for variable in SHARED_SECRETS:
            values = {services[name]["environment"][variable] for name in REPLICAS}
            assert values == {"x" * 48 if secrets else ""}


def test_compose_default_profile_is_unchanged_and_needs_no_secrets() -> None:
    project = load_project(_environment(secrets=False))
    assert set(project["services"]) == {"elasticsearch", "gateway"}
    assert set(project["volumes"]) == {"es-data", "gateway-state"}
    assert set(project["networks"]) == {"default"}
    assert "configs" not in project
    assert project["services"]["gateway"]["ports"] == ["127.0.0.1:8443:8443"]
    assert project["services"]["gateway"]["environment"]["TENANT_ID"] == DEMO_TENANT_ID  # the default
