# Developer entry points; CI runs `make test` through .ci/run.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# Touched after a successful install, so `make up`/`make test` reinstall only when pyproject.toml changed.
STAMP := $(VENV)/.yilian-installed

.PHONY: install up test lint viewer

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

up: $(STAMP) viewer
	$(BIN)/yilian up

test: $(STAMP) viewer
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy
