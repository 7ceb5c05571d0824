# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv once.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-act lint check-actions docs docs-snippets bench clean init-workflows constraints

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
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(MAKE) check-actions
	$(MAKE) docs

# The actions and example workflows: zizmor's audits (offline) and SchemaStore's schemas.
ACTIONS := action.yml $(wildcard actions/*/action.yml)
WORKFLOWS := $(wildcard workflows-examples/*.yml)
check-actions: $(STAMP)
	$(BIN)/zizmor --offline --config zizmor.yml $(ACTIONS) $(WORKFLOWS)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions $(ACTIONS)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)

# The documentation site, built offline into build/docs; --strict fails on a broken link or
# anchor, a missing snippet, or a command without its page (scripts/docs_hooks.py).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# Reruns the demo and rewrites the real output the pages show (docs/snippets/); commit the result.
docs-snippets: $(STAMP)
	$(BIN)/python scripts/docs_snippets.py

# The pins of champion's dependencies the actions install with (actions/install.sh): every run of
# a given action version resolves the same packages. Resolved for every platform and Python
# >= 3.10, with the extras the actions may add (dvc, s3, gs, azure). Refresh it when
# pyproject.toml's dependencies change or to take newer releases: `make constraints`, run the
# tests, commit the file.
constraints: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.10 \
	  --extra dvc --extra s3 --extra gs --extra azure --no-header -o actions/constraints.txt

# champion init writes the example workflows: its package data is a copy (a test checks it).
init-workflows:
	cp workflows-examples/pr-evaluate.yml workflows-examples/pr-comment.yml \
	  workflows-examples/release-on-merge.yml workflows-examples/rollback.yml src/champion/init/workflows/

bench: $(STAMP)
	$(BIN)/python bench/registry.py
	$(BIN)/python bench/install.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
