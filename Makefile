# Two commands on a fresh clone: `make run` (the whole local stack) and `make test` (every test).
# `make` alone lists the targets.
.DEFAULT_GOAL := help

# The venv is made with the runtime's Python (Lambda's python3.12) when this machine has one, on PATH
# or among pyenv's versions (pyenv's shim alone fails without a chosen version, so each is tried);
# else with python3, and the install warns. `make PYTHON=...` chooses another.
RUNTIME_PYTHON := $(shell for p in $$(command -v python3.12) $(wildcard $(HOME)/.pyenv/versions/3.12.*/bin/python3.12); do "$$p" -c pass >/dev/null 2>&1 && echo "$$p" && break; done)
PYTHON ?= $(or $(RUNTIME_PYTHON),python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help run test lint bench clean package lint-infra lock lock-check openapi lint-openapi clients

help:
	@echo "make run          the whole local stack (AWS_PORT, API_PORT, STATE_DIR: from the command line or the environment)"
	@echo "make test         lint and every test"
	@echo "make lint         ruff only"
	@echo "make bench        the benchmarks (docs/benchmarks.md)"
	@echo "make package      build/<STAGE>/sam.json and deployment.zip (STAGE=dev by default)"
	@echo "make lint-infra   cfn-lint on the packaged template"
	@echo "make lock         rewrite requirements.lock and requirements-dev.lock from requirements*.txt"
	@echo "make lock-check   fail if the lock files are not what \`make lock\` would write"
	@echo "make openapi      write the served OpenAPI document to build/openapi.json"
	@echo "make lint-openapi lint that document (rules in clients/redocly.yaml)"
	@echo "make clients      generate the Python and TypeScript clients from it and build both"
	@echo "make clean        remove the venv, the local stack's state and build/"

# Installed from the lock files only, every file checked against its hash. The stamp follows the
# locks: editing requirements*.txt changes nothing until `make lock` has rewritten them.
$(STAMP): requirements.lock requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' || echo "warning: $(VENV) runs Python \
	$$($(PY) -c 'import platform; print(platform.python_version())'), not the runtime's 3.12: install python3.12 \
	(or give PYTHON=...) and \`make clean\` to match Lambda" >&2
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	touch $(STAMP)

# The locks: every package of the zip and of the tools pinned with the hashes of all its files, resolved
# for Python 3.11 and up on every platform (the runtime's 3.12 on x86_64 or arm64, and machines without
# 3.12). The dev lock is held to the runtime lock's versions, so tests run what the zip ships. The
# existing locks are uv's preferences: a run moves only what the inputs moved. On a merge conflict in a
# lock, take either side's file and run `make lock` again.
UV ?= $(VENV)/bin/uv
LOCK_COMPILE = $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock"

lock:
	test -x $(UV) || $(MAKE) $(STAMP)
	$(LOCK_COMPILE) requirements.txt -o requirements.lock
	$(LOCK_COMPILE) requirements-dev.txt -c requirements.lock -o requirements-dev.lock

# What `make lock` would write, in build/lock-check, compared with the checked-in locks (the dev lock is
# held to the checked-in runtime lock, which the first diff has shown to be current).
lock-check:
	test -x $(UV) || $(MAKE) $(STAMP)
	mkdir -p build/lock-check
	cp requirements.lock requirements-dev.lock build/lock-check/
	$(LOCK_COMPILE) requirements.txt -o build/lock-check/requirements.lock
	diff -u requirements.lock build/lock-check/requirements.lock
	$(LOCK_COMPILE) requirements-dev.txt -c requirements.lock -o build/lock-check/requirements-dev.lock
	diff -u requirements-dev.lock build/lock-check/requirements-dev.lock

# Set on the command line or in the environment, e.g. `make run API_PORT=8001`, or `make run
# AWS_PORT=5001 API_PORT=8001 STATE_DIR=.local/second` for a second stack beside the first.
AWS_PORT ?= 5000
API_PORT ?= 8000
STATE_DIR ?= .local

run: $(STAMP)
	$(PY) -m infra.local up --aws-port $(AWS_PORT) --api-port $(API_PORT) --state-dir $(STATE_DIR)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -n 2 -q

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

# Each benchmark prints its own output and appends its targets to the summary file; the last command
# prints them as one table (docs/benchmarks.md).
bench: export CXC_BENCH_SUMMARY = build/bench-summary.jsonl
bench: $(STAMP)
	mkdir -p build && rm -f $(CXC_BENCH_SUMMARY)
	$(PY) -m tests.bench.bench_cold_start
	$(PY) -m tests.bench.bench_matching_compute
	$(PY) -m tests.bench.bench_requests
	$(PY) -m tests.bench.bench_aws_calls
	$(PY) -m tests.bench.bench_handler_overhead
	$(PY) -m tests.bench.bench_scale
	$(PY) -m tests.bench.summary $(CXC_BENCH_SUMMARY)

# `make package STAGE=prod`: build/<stage>/sam.json and build/<stage>/deployment.zip (docs/deployment.md).
STAGE = dev

package: $(STAMP)
	$(PY) -m infra.package $(STAGE)

# cfn-lint on the packaged template (packages first if there is none); any finding fails.
lint-infra: $(STAMP)
	test -f build/$(STAGE)/sam.json || $(PY) -m infra.package $(STAGE)
	$(VENV)/bin/cfn-lint build/$(STAGE)/sam.json

# The served OpenAPI document, written without starting the stack: it is built from the app's routes and
# models. build/, not docs/: the served document is the source, a checked-in copy would only drift.
OPENAPI = build/openapi.json

openapi: $(STAMP)
	$(PY) -m infra.openapi --out $(OPENAPI)

# The linter and the client generators: npm's are pinned in clients/package-lock.json, under clients/.
clients/node_modules/.package-lock.json: clients/package.json clients/package-lock.json
	cd clients && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Redocly's linter on the document, with the rules stated in clients/redocly.yaml; any finding fails.
lint-openapi: openapi clients/node_modules/.package-lock.json
	cd clients && npx --no-install redocly lint ../$(OPENAPI) --config redocly.yaml

# Clients generated from the document must build without a warning: the Python one imports with warnings
# as errors, the TypeScript one type-checks strictly (clients/tsconfig.json).
OPENAPI_PYTHON_CLIENT = $(VENV)/bin/openapi-python-client
# The generated package imports httpx and attrs, which come with the generator.
CLIENT_PY = $(abspath $(PY))
clients: openapi clients/node_modules/.package-lock.json
	rm -rf build/clients
	$(OPENAPI_PYTHON_CLIENT) generate --path $(OPENAPI) --config clients/python-client.yaml --meta none \
	  --output-path build/clients/python/clusterxchange_client --fail-on-warning
	cd build/clients/python && $(CLIENT_PY) -W error -m compileall -q clusterxchange_client
	cd build/clients/python && $(CLIENT_PY) -W error -c \
	  "import importlib, pkgutil, clusterxchange_client as c; \
	  [importlib.import_module(m.name) for m in pkgutil.walk_packages(c.__path__, c.__name__ + '.')]"
	cd clients && npx --no-install openapi-ts 2>&1 | tee ../build/clients/openapi-ts.log
	! grep -qi 'warn' build/clients/openapi-ts.log
	cd clients && npx --no-install tsc --noEmit -p tsconfig.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .local build
