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

.PHONY: run test test-deps lint typecheck unit go-test bench clean

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

# The Go client (clients/go): vet, and test under the race detector (needs a C compiler; without one,
# plain), offline (go.mod replaces the hooks package with clients/go/hooksstub). Go is Debian's
# golang-go (1.19), found or installed by test-deps.
GO ?= $(shell command -v go || ls /usr/lib/go-*/bin/go 2>/dev/null | tail -1)
go-test: test-deps
	@GO="$(GO)"; GO=$${GO:-$$(command -v go)}; \
	if [ -z "$$GO" ]; then echo "go-test: no go toolchain: apt-get install golang-go (make test-deps)" >&2; exit 1; fi; \
	cd clients/go && export GOPROXY=off GOFLAGS=-mod=readonly && $$GO vet ./... && \
	if CGO_ENABLED=1 $$GO env CC >/dev/null 2>&1 && command -v "$$($$GO env CC)" >/dev/null; then \
	  $$GO test -race -count=1 ./...; else echo "go-test: no C compiler, so no -race"; $$GO test -count=1 ./...; fi

# Chromium, redis-server and Go: found, or installed from Debian's packages, or a message saying how.
test-deps:
	@.ci/test-deps

test: $(STAMP) test-deps lint typecheck go-test
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
