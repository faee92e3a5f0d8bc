# Every target bootstraps .venv first (idempotent), so a fresh clone needs only Python 3.11+.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 2024
PYTEST_ARGS ?=

# The first interpreter that is Python 3.11, 3.12 or 3.13.
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3 python; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))' 2>/dev/null && { echo $$p; break; }; done)

export LANGGRAPH_CLI_NO_ANALYTICS ?= 1

.PHONY: help install dev demo test lint format bench clean

help:
	@echo "make demo   start langgraph dev with the offline model, run 'lgchat demo', stop"
	@echo "make test   run the whole test suite (unit + real langgraph dev server)"
	@echo "make dev    serve both graphs with langgraph dev on port $(PORT) (or a free one)"
	@echo "make bench  run the benchmarks; writes bench/results/latest.md and plots"
	@echo "make lint   ruff and mypy"

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@if [ -z "$(PYTHON)" ]; then echo "error: Python 3.11-3.13 is required (none found on PATH)" >&2; exit 1; fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

dev: $(STAMP)
	@port=$$($(BIN)/python -m client.devserver free-port --prefer $(PORT)) || exit 1; \
	if [ "$$port" != "$(PORT)" ]; then echo "port $(PORT) is taken; serving on $$port instead"; fi; \
	exec $(BIN)/langgraph dev --no-browser --host 127.0.0.1 --port $$port

demo: $(STAMP)
	$(BIN)/python -m client.devserver run -- $(BIN)/lgchat demo

bench: $(STAMP)
	$(BIN)/python -m bench

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy agent client tests bench

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .langgraph_api
