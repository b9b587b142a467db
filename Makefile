# Build, run and test the safeguarding dashboard.
#
# Needs only python3 (with venv) on PATH; everything else is installed into $(VENV).
#   make run            upgrade the database schema in place, build it if missing or stale, then serve
#                       (installs Chromium when missing, for the meeting pack's PDF)
#   make test           ruff and import-linter (make lint), then all test tiers (unit, web, security,
#                       imports, migrations, browser) on SQLite, then the PostgreSQL tier (the tests
#                       marked db) when TEST_DATABASE_URL (or a postgresql DATABASE_URL) is set
#   make test-unit | test-web | test-migrations | test-browser   one tier
#   make bench          run the benchmarks package, when there is one
#   make clean          remove the virtualenv and instance/

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY = $(VENV)/bin/python
PIP = $(PY) -m pip
PIP_FLAGS = -q --disable-pip-version-check --no-input
# The suite runs in parallel with pytest-xdist, one worker per core (PYTEST_WORKERS=0 runs it in one process).
# Tests of one module stay together (loadscope: the browser tier shares a server and a browser per module);
# each worker has its own ports and, on the PostgreSQL tier, its own database (tests/conftest.py).
PYTEST_WORKERS ?= auto
PYTEST_FLAGS ?= -q -n $(PYTEST_WORKERS) --dist loadscope
RUN_STAMP = $(VENV)/.installed-run
TEST_STAMP = $(VENV)/.installed-test

export PIP_NO_INPUT = 1

.PHONY: help install install-test run lint test test-unit test-web test-migrations test-browser ensure-chromium bench clean

help:
	@sed -n '3,12p' Makefile | sed 's/^# \{0,1\}//'

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(PY)
	$(PIP) install $(PIP_FLAGS) -e .
	@touch $@

$(TEST_STAMP): pyproject.toml $(RUN_STAMP)
	$(PIP) install $(PIP_FLAGS) -e '.[test]'
	@touch $@

install: $(RUN_STAMP)

install-test: $(TEST_STAMP)

# build --if-stale first upgrades the schema in place (dashboard/migrations), keeping users and imports.
# Chromium prints the meeting pack's PDF: installed like the tests' browser when missing (a warning, not a
# failure, when it cannot be: everything else still serves, and the PDF link says what is missing).
run: $(RUN_STAMP) ensure-chromium
	$(PY) -m dashboard build --if-stale
	$(PY) -m dashboard users first-run
	@echo "Serving on http://$${HOST:-127.0.0.1}:$${PORT:-8050}/ (gunicorn.conf.py)"
	exec $(VENV)/bin/gunicorn app:server -c gunicorn.conf.py

ensure-chromium:
	@bash scripts/ensure-chromium.sh

# One pytest run over tests/ (all tiers), so that an empty tier cannot pass silently and the
# exit code is pytest's. The first run is always SQLite and runs every test. The PostgreSQL tier then
# runs only the tests whose result can depend on the database backend: those marked db, by the rule in
# tests/conftest.py (a test that asks, directly or through other fixtures, for the session's database or
# the PostgreSQL case of the imports' any_db or the migrations' dialect). Pure unit tests (analysis,
# registry, figures, parsing) do not repeat. Nor does the browser tier: its pages read the data through
# the queries the web and security tiers run on PostgreSQL; the browser tests that check an upload (a
# write no other tier makes on PostgreSQL) are marked db by hand and do repeat.
# Code checks first: ruff (style and likely bugs) and import-linter (the layer contracts in pyproject.toml).
lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

test: lint $(TEST_STAMP) ensure-chromium
	env -u DASHBOARD_TEST_DATABASE_URL $(PY) -m pytest $(PYTEST_FLAGS) tests
	@pg_url="$${TEST_DATABASE_URL:-}"; \
	if [ -z "$$pg_url" ] && [[ "$${DATABASE_URL:-}" == postgresql* ]]; then \
	    if [[ "$${DATABASE_URL##*/}" == *test* ]]; then pg_url="$$DATABASE_URL"; \
	    else echo "DATABASE_URL does not name a test database (its name has no 'test'): not running the suite against it"; fi; \
	fi; \
	if [ -n "$$pg_url" ]; then \
	    echo "== PostgreSQL tier: the tests marked db (those that use the database), with DASHBOARD_TEST_DATABASE_URL (server: $${pg_url##*@})"; \
	    echo "   (the deselected ones do not depend on the database: they ran in the SQLite run above)"; \
	    DASHBOARD_TEST_DATABASE_URL="$$pg_url" $(PY) -m pytest $(PYTEST_FLAGS) -m db tests; \
	else \
	    echo "SKIPPED: PostgreSQL tier (set TEST_DATABASE_URL=postgresql://USER@HOST:5432/DBNAME)"; \
	fi
	@if [ -n "$${REDIS_URL:-}" ]; then \
	    echo "Redis: REDIS_URL is set; the redis tests ran against it"; \
	else \
	    echo "SKIPPED: Redis tests (set REDIS_URL=redis://127.0.0.1:6379/0)"; \
	fi

test-unit: $(TEST_STAMP)
	$(PY) -m pytest $(PYTEST_FLAGS) tests/unit

test-web: $(TEST_STAMP)
	$(PY) -m pytest $(PYTEST_FLAGS) tests/web

# A database of the last release upgraded in place (SQLite; PostgreSQL too with DASHBOARD_TEST_DATABASE_URL).
test-migrations: $(TEST_STAMP)
	$(PY) -m pytest $(PYTEST_FLAGS) tests/migrations

test-browser: $(TEST_STAMP) ensure-chromium
	$(PY) -m pytest $(PYTEST_FLAGS) tests/browser

bench: $(TEST_STAMP)
	@if [ -f benchmarks/__main__.py ]; then \
	    $(PY) -m benchmarks; \
	else \
	    echo "No benchmarks package (benchmarks/__main__.py) yet: nothing to run."; \
	fi

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis *.egg-info
