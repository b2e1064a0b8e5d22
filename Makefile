# Slotbridge — two commands matter: `make run` (the local stack) and `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: run test lint typecheck check install bench clean fuzz soak coldstart

install: $(PIP_STAMP) $(NPM_STAMP)

$(PIP_STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Ports of `make run`: the dev host, the Microsoft sandbox, and Azurite's (`default` 10000-10002, or `free`).
PORT ?= 7071
SANDBOX_PORT ?= 8443
# The Google stand-in: 0 takes a free port (the app is told its URL at start).
GOOGLE_PORT ?= 0
STORAGE_PORTS ?= default
run: install
	$(PY) -m devstack.run --port $(PORT) --sandbox-port $(SANDBOX_PORT) --google-port $(GOOGLE_PORT) --storage-ports $(STORAGE_PORTS)

test: install
	$(PY) -m pytest

# Longer runs of what `make test` runs briefly: the contract fuzzer with many more (fresh random)
# examples per operation, the soak for minutes with the invariants table, the cold-start report.
FUZZ_EXAMPLES ?= 200
SOAK_MINUTES ?= 3
fuzz: install
	SLOTBRIDGE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -p no:cacheprovider tests/integration/contract

soak: install
	$(PY) -m bench.soak --minutes $(SOAK_MINUTES)

coldstart: install
	$(PY) -m bench.coldstart

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: install
	$(PY) -m mypy lib functions devstack function_app.py

check: lint typecheck test

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
