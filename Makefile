# certsync — every task a developer or an administrator needs, behind make.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test

.PHONY: install dev demo test test-fast lint format bench clean samples docs

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(TESTSTAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,lint]'
	touch $@

install: $(STAMP)

dev: $(TESTSTAMP)

samples: $(STAMP)
	$(BIN)/python samples/make_samples.py

demo: $(STAMP)
	$(BIN)/python samples/make_samples.py --check
	$(BIN)/python -m certsync.demo

test: $(TESTSTAMP)
	$(BIN)/python -m pytest -n 2 -q

# The quick loop while developing: every test but those marked slow (they run in `make test`).
test-fast: $(TESTSTAMP)
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

lint: $(TESTSTAMP)
	$(BIN)/ruff format --check jobs tests samples bench
	$(BIN)/ruff check jobs tests samples bench
	$(BIN)/mypy

format: $(TESTSTAMP)
	$(BIN)/ruff format jobs tests samples bench
	$(BIN)/ruff check --fix jobs tests samples bench

docs: $(STAMP)
	$(BIN)/python -m certsync.docs README.md

bench: $(TESTSTAMP)
	$(BIN)/python bench/run_bench.py

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache
