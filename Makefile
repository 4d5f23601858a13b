# The two commands of the Quick start are `make run` and `make test`; everything else is optional.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# The demo tenant of the original documentation; set TENANT_ID to serve another one.
export TENANT_ID ?= 8700f5cb-eaca-461e-8c2e-245a25f2399d

.PHONY: help run test lint lock fuzz bench bench-slow bench-ingest chaos screenshots prereqs ui-prereqs db-prereqs es-start es-stop es-status cluster compose-check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

prereqs: ## install Java 17+ and Maven with apt when they are missing (needed for the embedded Elasticsearch)
	@if [ -n "$$ES_URL" ]; then exit 0; fi; \
	missing=""; \
	command -v java >/dev/null 2>&1 || [ -x "$$JAVA_HOME/bin/java" ] || missing="$$missing openjdk-17-jdk-headless"; \
	command -v mvn >/dev/null 2>&1 || missing="$$missing maven"; \
	$(APT_INSTALL)

ui-prereqs: ## install Chromium and fonts with apt when missing (the web page's browser tests and screenshots)
	@missing=""; \
	[ -x "$${GATEWAY_CHROMIUM:-/usr/bin/chromium}" ] || missing="$$missing chromium"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	$(APT_INSTALL)

db-prereqs: ## install PostgreSQL with apt when missing (the JDBC tests and bench start a throw-away server)
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	$(APT_INSTALL)

# Installs $$missing with apt when running as root, else says what to install.
APT_INSTALL = if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; apt-get update -qq && apt-get install -y -qq $$missing; \
	  else echo "please install:$$missing"; exit 1; fi; \
	fi

# The virtualenv holds exactly requirements-dev.lock (every package pinned, with its hashes) and the project
# itself; it is built anew whenever the lock changes. `make lock` re-resolves the locks from pyproject.toml.
$(STAMP): requirements-dev.lock
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --require-hashes --no-deps -r requirements-dev.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	$(PIP) check
	touch $(STAMP)

PIP     := $(PY) -m pip --disable-pip-version-check -q
UV      := $(VENV)/bin/uv
UV_LOCK := $(UV) pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock' --quiet $(if $(filter 1 yes true,$(UPGRADE)),--upgrade)

# uv at its locked version and hash, alone: `make lock` must work while the rest of the lock does not.
$(UV): requirements-dev.lock
	[ -d $(VENV) ] || $(PYTHON) -m venv $(VENV)
	set -euo pipefail; pinned=$$(mktemp); trap 'rm -f "$$pinned"' EXIT; \
	awk '/^uv==/{on=1; print; next} on && /^ /{print; next} {on=0}' requirements-dev.lock > "$$pinned"; \
	$(PIP) install --require-hashes --no-deps -r "$$pinned"; touch $(UV)

lock: $(UV) ## re-resolve requirements-dev.lock and requirements.lock from pyproject.toml (UPGRADE=1: newest); needs PyPI
	$(UV_LOCK) --extra dev -o requirements-dev.lock
	$(UV_LOCK) -c requirements-dev.lock -o requirements.lock
	@echo "locked: $$(grep -c '^[a-z]' requirements-dev.lock) packages (dev), $$(grep -c '^[a-z]' requirements.lock) (runtime)"

run: prereqs $(STAMP) ## start Elasticsearch (unless ES_URL), apply templates, serve https://127.0.0.1:8443
	$(VENV)/bin/gateway up

test: prereqs ui-prereqs db-prereqs $(STAMP) lint ## lint, then the whole suite against a real Elasticsearch it starts and stops
	$(PY) -m pytest

lint: $(STAMP) ## ruff and mypy --strict
	$(VENV)/bin/ruff check gateway tests bench
	$(VENV)/bin/ruff format --check gateway tests bench
	$(VENV)/bin/mypy

fuzz: prereqs $(STAMP) ## long fuzz runs: the whole HTTP API (Schemathesis) and the search guard (~6 min)
	HYPOTHESIS_PROFILE=fuzz GATEWAY_FUZZ_EXAMPLES=$${GATEWAY_FUZZ_EXAMPLES:-200} \
	  GATEWAY_FUZZ_SEED=$${GATEWAY_FUZZ_SEED:-$$RANDOM} $(PY) -m pytest -o timeout=3600 tests/fuzz tests/search

bench: prereqs $(STAMP) ## search (direct, nginx, gateway) and key-verification benchmarks (own Elasticsearch and nginx)
	@missing=""; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	$(APT_INSTALL) || exit 1; \
	case "$$missing" in *nginx*) [ -s /run/nginx.pid ] && /usr/sbin/nginx -s stop || true;; esac
	PYTHONPATH=. $(PY) bench/key_verification.py
	PYTHONPATH=. $(PY) bench/search.py

bench-slow: prereqs $(STAMP) ## 2,000 slow TLS senders vs the header deadline, while a client searches (~2 min)
	PYTHONPATH=. $(PY) bench/slow_clients.py

bench-ingest: prereqs db-prereqs $(STAMP) ## loader benchmark: 1 M generated identities vs helpers.streaming_bulk (several minutes)
	PYTHONPATH=. $(PY) bench/ingest_load.py

chaos: prereqs $(STAMP) ## fault campaign: 3-node cluster + 2 gateways under load, nodes and replicas killed (~3 min)
	PYTHONPATH=. $(PY) bench/chaos.py

screenshots: prereqs ui-prereqs $(STAMP) ## the web page's screenshots in docs/ui/ (real browser, gateway, Elasticsearch)
	GATEWAY_SCREENSHOTS_DIR=docs/ui $(PY) -m pytest tests/http/ui/test_screenshots.py

es-start: prereqs $(STAMP) ## start the embedded Elasticsearch in the background (port 9200)
	$(VENV)/bin/gateway es start
es-stop: $(STAMP) ## stop it
	$(VENV)/bin/gateway es stop
es-status: $(STAMP) ## is it running?
	$(VENV)/bin/gateway es status
cluster: prereqs $(STAMP) ## start a local 3-node Elasticsearch cluster instead (HTTP 9200-9202); prints its ES_URL
	$(VENV)/bin/gateway es start --nodes 3

# The Compose CLI plugin, built from source through the Go module proxy when `docker compose` is missing
# (several minutes, once per machine; needs Go at least as new as the plugin's go.mod asks for).
COMPOSE_VERSION ?= v2.40.3
COMPOSE_PLUGIN  ?= $(HOME)/.docker/cli-plugins/docker-compose
GO              ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)

compose-check: $(STAMP) ## validate docker-compose.yml (both profiles) with the real Compose CLI too; builds it if missing
	@docker compose version >/dev/null 2>&1 || $(MAKE) --no-print-directory $(COMPOSE_PLUGIN)
	docker compose version
	env -u GATEWAY_JWT_SECRET -u GATEWAY_API_KEY_SECRET docker compose --env-file /dev/null config --quiet
	GATEWAY_JWT_SECRET=$$(printf 'x%.0s' {1..48}) GATEWAY_API_KEY_SECRET=$$(printf 'x%.0s' {1..48}) \
	  docker compose --env-file /dev/null --profile cluster config --quiet
	$(PY) -m pytest tests/test_compose.py

$(COMPOSE_PLUGIN):
	@[ -x "$(GO)" ] || { echo "please install Go (or set GO=/path/to/go) to build the Compose plugin"; exit 1; }
	set -euo pipefail; \
	src=$$(cd /tmp && $(GO) mod download -json github.com/docker/compose/v2@$(COMPOSE_VERSION) \
	  | $(PYTHON) -c 'import json, sys; print(json.load(sys.stdin)["Dir"])'); \
	build=$$(mktemp -d); trap 'chmod -R u+w "$$build"; rm -rf "$$build"' EXIT; \
	cp -R "$$src/." "$$build"; chmod -R u+w "$$build"; \
	mkdir -p "$(dir $(COMPOSE_PLUGIN))"; \
	cd "$$build" && time $(GO) build -trimpath \
	  -ldflags "-w -X github.com/docker/compose/v2/internal.Version=$(COMPOSE_VERSION)" -o "$(COMPOSE_PLUGIN)" ./cmd

clean: es-stop ## remove the virtualenv, local state and build output
	rm -rf $(VENV) .state embedded-es/target .pytest_cache .mypy_cache .ruff_cache
