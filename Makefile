# Config Console — `make run` for a local console with the demo, `make test` for the suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp
PORT ?= 8000

.PHONY: run test lint format bench bench-data bench-pages bench-cold bench-schema bench-large-value bench-values venv

venv: $(STAMP)

# Rebuilt whenever a requirements file changes.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# Plain HTTP on this machine, with debug on (static files come from the finders), served as
# deployed (gunicorn.conf.py: uvicorn workers, so watch streams work), on this machine only.
# The task worker sends webhook deliveries.
run: export DJANGO_DEBUG = 1
run: export DJANGO_SSL_REDIRECT = 0
run: $(STAMP)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "Config Console on http://127.0.0.1:$(PORT) — log in at /accounts/login/"
	@echo "Logins: alice / alice-demo-2026 (editor), bob / bob-demo-2026 (reviewer),"
	@echo "        carol / carol-demo-2026 (admin), dave / dave-demo-2026 (viewer)"
	@echo
	@echo "Webhook deliveries: a django-tasks worker runs beside the server (stopped with it)."
	$(BIN)/python manage.py db_worker --no-reload --queue-name '*' & worker=$$!; \
		trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		$(BIN)/gunicorn -c gunicorn.conf.py --bind 127.0.0.1:$(PORT)

# npm's packages, pinned in package-lock.json: axe-core for the browser tests' accessibility
# checks, oidc-provider for the sign-in tests, and OpenFeature's stock JavaScript SDKs and OFREP
# providers, which tests/ofrep runs with node against a live server.
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Uses DATABASE_URL when set (PostgreSQL in CI), the SQLite default otherwise.
test: $(STAMP) $(AXE)
	$(BIN)/pytest $(PYTEST_ARGS)

# Every package of the project (a folder with an __init__.py), and the client's.
PACKAGES := $(patsubst %/__init__.py,%,$(wildcard */__init__.py)) client/config_console_client

# ruff, then mypy on services, selectors and API views (scope in pyproject.toml), then no import
# circle anywhere: pylint's cyclic-import and nothing else, over every module (it sees imports
# inside functions, and circles that cross apps; import-linter's acyclic contract only sees
# siblings); it files each circle under the last module it read, and the circle is the list in
# parentheses. Then which way the arrows point between packages (import-linter: the contracts in
# pyproject.toml), then a check that every model change has its migration.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	PYTHONPATH=client $(BIN)/pylint --disable=all --enable=cyclic-import --score=n $(PACKAGES)
	PYTHONPATH=client $(BIN)/lint-imports --no-cache
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=tests.settings

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	bench/run
	$(MAKE) bench-schema

# 10,000 configs on one schema, then the time to open a schema change request on it and to
# publish it, on PostgreSQL and on SQLite (BENCH_SCHEMA_ON=postgresql for one of them).
BENCH_SCHEMA_ON ?= postgresql sqlite
bench-schema: $(STAMP)
	for engine in $(BENCH_SCHEMA_ON); do \
		DJANGO_DEBUG=0 $(BIN)/python bench/schema_change.py $$engine || exit 1; \
	done

# A PostgreSQL database of a chosen size (S, M or L; see bench/README.md), then the time every
# page and API list takes on it.
SIZE ?= S
bench-data: $(STAMP)
	$(BIN)/python bench/data.py --size $(SIZE)

# The change request page for a 1 MiB value (a throwaway SQLite database; see the script).
bench-large-value: $(STAMP)
	$(BIN)/python bench/large_value_page.py

bench-pages: $(STAMP)
	$(BIN)/python bench/pages.py

# The first bundle read of a fresh worker, and the read path's memory (after bench-data).
bench-cold: $(STAMP)
	$(BIN)/python bench/cold.py

# The largest accepted config value, timed through parsing, validation, diffing and a proposal.
bench-values: $(STAMP)
	$(BIN)/python bench/values.py
