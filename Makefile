# One command surface. The two that matter: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format check-migrations check-deploy bench bench-pages e2e-setup worker vendor clean help

help:
	@echo "make run     - set up and serve the portal with demo data on http://$(HOST):$(PORT)"
	@echo "make test    - set up and run the whole test suite"
	@echo "make lint | format | check-migrations | check-deploy | bench | e2e-setup | worker | vendor | clean"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@ $(VENV)/.installed-run

.env:
	cp .env.example .env

run: $(VENV)/.installed-run .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo --if-empty
	$(BIN)/python manage.py demo_credentials
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed-test .env
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check-migrations: $(VENV)/.installed-run .env
	$(BIN)/python manage.py makemigrations --check --dry-run

check-deploy: $(VENV)/.installed-run
	PCN_PORTAL_IGNORE_DOTENV=1 DEBUG=0 SECRET_KEY="$$(openssl rand -hex 40)" ALLOWED_HOSTS=hi-portal.example.nhs.uk \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

# Benchmarks run on PostgreSQL (BENCH_DATABASE_URL; the database is created if missing).
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/pcn_bench
bench: $(VENV)/.installed-test .env
	psql "$(dir $(BENCH_DATABASE_URL))postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='$(notdir $(BENCH_DATABASE_URL))'" | grep -q 1 \
		|| createdb -h 127.0.0.1 -U postgres "$(notdir $(BENCH_DATABASE_URL))"
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python -m benchmarks.imports
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python -m benchmarks.pages

# Browser tests need Debian's chromium (no browser downloads work offline).
e2e-setup:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# Refresh the vendored front-end assets (NHS.UK frontend from npm; plotly.js from the pinned plotly).
vendor: $(VENV)/.installed-run
	scripts/vendor_nhsuk_frontend.sh
	scripts/vendor_plotly.sh $(BIN)/python

worker: $(VENV)/.installed-run .env
	$(BIN)/celery -A pcn_portal worker --loglevel=INFO --concurrency=2 --beat

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles var/test-artifacts

# Dashboard page benchmark (PostgreSQL): DATABASE_URL=postgres://... make bench-pages
bench-pages: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.pages
