# Two commands on a fresh clone: `make run` (the whole local stack) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean package lint-infra

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# Set on the command line, e.g. `make run API_PORT=8001`, or `make run AWS_PORT=5001 API_PORT=8001
# STATE_DIR=.local/second` for a second stack beside the first (not read from the environment).
AWS_PORT = 5000
API_PORT = 8000
STATE_DIR = .local

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

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .local build
