# Every target bootstraps .venv first (idempotent), so a fresh clone needs only Python 3.11+.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 2024
ASSISTANT ?= agent
# Where `make dev` keeps threads across restarts; by default outside the project.
STATE_DIR ?=
PYTEST_ARGS ?=

# The first interpreter that is Python 3.11, 3.12 or 3.13.
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3 python; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))' 2>/dev/null && { echo $$p; break; }; done)

export LANGGRAPH_CLI_NO_ANALYTICS ?= 1

.PHONY: help install dev demo chat test lint format bench clean

help:
	@echo "make demo   start langgraph dev with the offline model, run 'lgchat demo', stop"
	@echo "make test   run the whole test suite (unit + real langgraph dev server)"
	@echo "make chat   start langgraph dev (offline model), chat in the terminal, stop on exit"
	@echo "            (ASSISTANT=chatbot for the other graph)"
	@echo "make dev    serve both graphs with hot reload on port $(PORT) (or a free one)"
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
	@exec $(BIN)/python -m devtools.devserver dev --port $(PORT) $(if $(STATE_DIR),--state-dir $(STATE_DIR))

demo: $(STAMP)
	$(BIN)/python -m devtools.devserver run -- $(BIN)/lgchat demo

chat: $(STAMP)
	@exec $(BIN)/python -m devtools.devserver run -- $(BIN)/lgchat chat --assistant $(ASSISTANT)

bench: $(STAMP)
	$(BIN)/python -m bench

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy agent client tests bench devtools examples

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .langgraph_api
