# One entry point per job. Longer logic lives in scripts/*.sh so each recipe stays readable.
# `make demo` and `make test` work on a fresh machine with only Python 3.11 and pip.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Written after a successful install: pip runs again only when requirements.txt changes.
STAMP := $(VENV)/.requirements-installed
TEST_ENV := DJANGO_SETTINGS_MODULE=thinkalike.settings_test

.DEFAULT_GOAL := help
.PHONY: help install demo test lint bench migrations-check

help:
	@echo "make demo              install, migrate, create the demo user, run web server + worker"
	@echo "make test              install and run the whole test suite on SQLite"
	@echo "make lint              ruff check"
	@echo "make bench             run the benchmarks (python -m benchmarks)"
	@echo "make migrations-check  fail if a model change has no migration"

install: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

demo: $(STAMP)
	@scripts/demo.sh

test: $(STAMP)
	@scripts/ensure-chromium.sh
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	@if [ -f benchmarks/__init__.py ]; then $(BIN)/python -m benchmarks; \
	else echo "No benchmarks/ package: nothing to run."; fi

migrations-check: $(STAMP)
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
