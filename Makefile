# Developer entry points; CI runs `make test` through .ci/run.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# Touched after a successful install, so `make up`/`make test` reinstall only when pyproject.toml changed.
STAMP := $(VENV)/.yilian-installed

.PHONY: install up test lint

define install_recipe
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $(STAMP)
endef

install:
	$(install_recipe)

$(STAMP): pyproject.toml
	$(install_recipe)

up: $(STAMP)
	$(BIN)/yilian up

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy
