# Two commands on a fresh clone: `make run` (the whole local stack) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean package lint-infra openapi lint-openapi clients

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
	$(PY) -m pytest -n 2 -q

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

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
