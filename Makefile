# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv once.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-act lint check-actions bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/champion demo

test: $(STAMP)
	$(BIN)/python -m pytest

# The example workflows run end to end by act, alone (they are part of `make test` too).
test-act: $(STAMP)
	$(BIN)/python -m pytest -m act

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(MAKE) check-actions

# The actions and example workflows: zizmor's audits (offline) and SchemaStore's schemas.
ACTIONS := action.yml $(wildcard actions/*/action.yml)
WORKFLOWS := $(wildcard workflows-examples/*.yml)
check-actions: $(STAMP)
	$(BIN)/zizmor --offline --config zizmor.yml $(ACTIONS) $(WORKFLOWS)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions $(ACTIONS)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)

bench: $(STAMP)
	$(BIN)/python bench/registry.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
