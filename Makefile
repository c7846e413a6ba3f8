# Developer entry points; CI runs `make test` through .ci/run.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# Touched after a successful install, so `make up`/`make test` reinstall only when pyproject.toml changed.
STAMP := $(VENV)/.yilian-installed

.PHONY: install up test lint viewer web api-client api-client-check infra-tools chaos

define install_recipe
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $(STAMP)
endef

install:
	$(install_recipe)

$(STAMP): pyproject.toml
	$(install_recipe)

# The OHIF viewer served at /viewer/ (docs/viewer.md). build.py runs `npm ci` only when viewer/package-lock.json
# changed and rebuilds viewer/build/ only when it is stale, so this is a no-op most of the time.
viewer: $(STAMP)
	$(BIN)/python viewer/build.py

# The web app served at / (web/, React + Vite). `npm install` runs only when web/package-lock.json changed (npm 11's `ci`
# refuses its own lock file: it omits the other platforms' optional rollup binaries), the
# build only when a source file is newer than web/dist/index.html.
WEB_STAMP := web/node_modules/.yilian-installed
WEB_SOURCES := $(shell find web/src web/public web/scripts -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json web/package.json

$(WEB_STAMP): web/package-lock.json
	cd web && npm install --no-audit --no-fund
	@touch $@

web/dist/index.html: $(WEB_STAMP) $(WEB_SOURCES)
	cd web && npm run build

web: web/dist/index.html

# The web app's API types are generated from the API's OpenAPI document; both are committed (docs/web.md).
# After changing a route or a model: `make api-client`. `make test` fails while either is stale; no service starts.
API_DOC := web/openapi.json
API_TYPES := web/src/api/generated/schema.ts

api-client: $(STAMP) $(WEB_STAMP)
	$(BIN)/python -m yilian.api.openapi $(API_DOC)
	cd web && node scripts/gen-api.mjs

api-client-check: $(STAMP) $(WEB_STAMP)
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(BIN)/python -m yilian.api.openapi "$$tmp/openapi.json" && \
	(cd web && node scripts/gen-api.mjs "$$tmp/openapi.json" "$$tmp/schema.ts") && \
	if cmp -s "$$tmp/openapi.json" $(API_DOC) && cmp -s "$$tmp/schema.ts" $(API_TYPES); then \
		echo "API client is current ($(API_DOC), $(API_TYPES))"; \
	else \
		echo "$(API_DOC) or $(API_TYPES) is stale: run make api-client, then commit both" >&2; exit 1; \
	fi

# checkov scans infra/terraform (tests/infra/test_terraform.py). It lives in its own venv: its pins (packaging<24,
# boto3) would downgrade the project's test tools in .venv.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): infra/terraform/checkov-requirements.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q -r infra/terraform/checkov-requirements.txt
	@touch $@

infra-tools: $(CHECKOV_STAMP)

up: $(STAMP) viewer web
	$(BIN)/yilian up

test: $(STAMP) viewer web api-client-check infra-tools
	cd web && npm test
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

# The scale-out fault test alone (docs/ops.md): two APIs behind nginx, two workers, the gateway, each killed with
# SIGKILL, PostgreSQL and Temporal restarted. `make test` runs it too (it lives under tests/).
chaos: $(STAMP)
	$(BIN)/pytest -q tests/chaos

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
