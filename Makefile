# make run  : the embedded default (SQLite, local files, in-process tasks) with the gateway simulator
# make test : lint, type-check and the whole test suite on real PostgreSQL, Redis, S3 and a worker
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Development installs the runtime pins plus the test tooling (the image: requirements.txt only).
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | sha1sum | cut -c1-12)

# The test suite's PostgreSQL (pytest-django creates and drops test_<name> on it).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cdr

.PHONY: run test test-deps lint typecheck unit bench clean

$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	$(PY) manage.py cdr_demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

# Chromium and redis-server: found, or installed from Debian's packages, or a message saying how.
test-deps:
	@.ci/test-deps

test: $(STAMP) test-deps lint typecheck
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
