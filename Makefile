# Slotbridge — two commands matter: `make run` (the local stack) and `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: run test lint typecheck check install bench clean

install: $(PIP_STAMP) $(NPM_STAMP)

$(PIP_STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: install
	$(PY) -m devstack.run

test: install
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .

typecheck: install
	$(PY) -m mypy lib functions devstack function_app.py

check: lint typecheck test

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
