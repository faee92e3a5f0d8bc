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

# Aegra (the production engine) needs Python 3.12+ and gets its own environment.
AEGRA_VENV := .venv-aegra
AEGRA_STAMP := $(AEGRA_VENV)/.installed
AEGRA_REQUIREMENTS := deploy/aegra/requirements.txt
PYTHON_AEGRA ?= $(shell for p in python3.12 python3.13 python3.14 \
	$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null); do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info[:2] < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)
SERVE_PORT ?= 2026
# `make web`: the browser page (web/, built with Node.js 20+) on this port, or a free one
# when it is taken; a WEB_PORT you set is used as given, or refused when taken.
WEB_PORT ?= 5173
WEB_STAMP := web/node_modules/.package-lock.json

export LANGGRAPH_CLI_NO_ANALYTICS ?= 1

.PHONY: help install install-aegra dev demo chat web web-node test-web test-web-prod serve serve-ha test test-prod lint format bench \
	dockerfile clean

help:
	@echo "make demo   start langgraph dev with the offline model and a one-off auth secret,"
	@echo "            run 'lgchat demo' (two users side by side at its end), stop"
	@echo "make test   run the whole test suite (unit + real langgraph dev server)"
	@echo "make chat   start langgraph dev (offline model), chat in the terminal, stop on exit"
	@echo "            (ASSISTANT=chatbot for the other graph)"
	@echo "make dev    serve both graphs with hot reload on port $(PORT) (or a free one)"
	@echo "make web    build the browser page (needs Node.js 20+) and serve it on port $(WEB_PORT)"
	@echo "            (or a free one), with langgraph dev (offline model, auth on) behind it"
	@echo "make serve  serve on Aegra over local Postgres, port $(SERVE_PORT) (needs Python 3.12+)"
	@echo "make serve-ha  two Aegra instances sharing Postgres and Redis"
	@echo "make test-prod  the real-server suites on Aegra over Postgres + Redis"
	@echo "make test-web   the page's checks and its browser suite (needs Node.js 20+ and Chromium)"
	@echo "make test-web-prod  the browser suite with Aegra behind the page"
	@echo "make bench  run the benchmarks (Aegra's need Python 3.12+, Postgres, Redis); writes bench/results/"
	@echo "make lint   ruff and mypy"

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@if [ -z "$(PYTHON)" ]; then echo "error: Python 3.11-3.13 is required (none found on PATH)" >&2; exit 1; fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install-aegra: $(AEGRA_STAMP)

$(AEGRA_STAMP): pyproject.toml constraints.txt $(AEGRA_REQUIREMENTS)
	@if [ -z "$(PYTHON_AEGRA)" ]; then echo "error: Aegra needs Python 3.12 or newer (none found on PATH or in pyenv)" >&2; exit 1; fi
	@test -x $(AEGRA_VENV)/bin/python || $(PYTHON_AEGRA) -m venv $(AEGRA_VENV)
	$(AEGRA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(AEGRA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -r $(AEGRA_REQUIREMENTS) -e .
	@touch $(AEGRA_STAMP)

serve: $(STAMP) $(AEGRA_STAMP)
	@exec $(BIN)/python -m devtools.serve --port $(SERVE_PORT)

serve-ha: $(STAMP) $(AEGRA_STAMP)
	@exec $(BIN)/python -m devtools.serve --instances 2 --port $(SERVE_PORT)

dev: $(STAMP)
	@exec $(BIN)/python -m devtools.devserver dev --port $(PORT) $(if $(STATE_DIR),--state-dir $(STATE_DIR))

demo: $(STAMP)
	$(BIN)/python -m devtools.devserver run --dev-auth -- $(BIN)/lgchat demo

chat: $(STAMP)
	@exec $(BIN)/python -m devtools.devserver run -- $(BIN)/lgchat chat --assistant $(ASSISTANT)

# Node.js 20+ and npm, or one line saying which target needs them (and what does not).
NODE_GOAL = make $(or $(firstword $(filter web test-web test-web-prod,$(MAKECMDGOALS))),web)
web-node:
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
		echo "error: $(NODE_GOAL) needs Node.js 20+ and npm (https://nodejs.org); make demo and make test need only Python" >&2; exit 1; }
	@version=$$(node --version 2>/dev/null); major=$${version#v}; major=$${major%%.*}; \
		[[ "$$major" =~ ^[0-9]+$$ ]] && (( major >= 20 )) || { echo "error: $(NODE_GOAL) needs Node.js 20+, found $${version:-no version}" >&2; exit 1; }

# npm ci again only when package-lock.json changed (npm writes the stamp; touch dates it).
$(WEB_STAMP): web/package-lock.json | web-node
	@echo "installing the page's packages (npm ci)" >&2
	@cd web && npm ci --no-audit --no-fund >&2
	@touch $(WEB_STAMP)

# stdout is the page's URL alone; the build's progress goes to stderr.
web: web-node $(STAMP) $(WEB_STAMP)
	@echo "building the page (web/dist)" >&2
	@cd web && npm run --silent build >&2
	@exec $(BIN)/python -m devtools.web $(if $(filter file,$(origin WEB_PORT)),--prefer-port,--port) $(WEB_PORT)

# The page's checks, then its browser suite: Playwright drives Debian's Chromium (never a
# downloaded one) against langgraph dev and the scripted model.
CHROMIUM_PATH ?= /usr/bin/chromium
export CHROMIUM_PATH
test-web: web-node $(STAMP) $(WEB_STAMP)
	@test -x "$(CHROMIUM_PATH)" || { echo "error: make test-web needs Chromium at $(CHROMIUM_PATH): apt-get install -y chromium, or set CHROMIUM_PATH" >&2; exit 1; }
	cd web && npm run typecheck && npm run lint && npm test && npm run build && npm run e2e

# The browser suite again with Aegra behind the page (needs what test-prod needs, too).
test-web-prod: web-node $(STAMP) $(AEGRA_STAMP) $(WEB_STAMP)
	@test -x "$(CHROMIUM_PATH)" || { echo "error: make test-web-prod needs Chromium at $(CHROMIUM_PATH): apt-get install -y chromium, or set CHROMIUM_PATH" >&2; exit 1; }
	@$(BIN)/python -m devtools.serve --check
	cd web && npm run build && WEB_ENGINE=aegra npm run e2e

# The LangGraph Server image's Dockerfile, with the project's folder in the image named
# after the project rather than after this checkout's folder.
dockerfile: $(STAMP)
	$(BIN)/langgraph dockerfile -c langgraph.json deploy/langgraph-server/Dockerfile
	$(BIN)/python -c 'import pathlib, sys; p = pathlib.Path(sys.argv[1]); p.write_text(p.read_text().replace(sys.argv[2], sys.argv[3]))' \
		deploy/langgraph-server/Dockerfile /deps/$(notdir $(CURDIR)) /deps/langgraph-streaming-chat

# The engine comparison needs what test-prod needs.
bench: $(STAMP) $(AEGRA_STAMP)
	@$(BIN)/python -m devtools.serve --check --instances 2
	$(BIN)/python -m bench

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The real-server suites again, on Aegra over Postgres + Redis (fresh databases).
test-prod: $(STAMP) $(AEGRA_STAMP)
	@$(BIN)/python -m devtools.serve --check --instances 2
	$(BIN)/python -m pytest --engine aegra tests/integration tests/production tests/unit/test_deploy_artifacts.py \
		tests/bench_smoke $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy agent client security tests bench devtools examples

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) $(AEGRA_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .langgraph_api
