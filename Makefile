# The two commands a new user needs: `make dev` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PYTHONPATH := layers/core:infra
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: dev test install lint typecheck unit integration e2e volume openapi validate bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

## Start the embedded local cloud in the foreground with demo data (Ctrl-C stops it).
dev: install
	$(BIN)/python -m localcloud up

## Linters, type checks and every test.
test: install lint typecheck
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m localcloud openapi --check

typecheck: install
	$(BIN)/mypy layers/core/wrapper infra/localcloud functions

unit: install
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

e2e: install
	$(BIN)/pytest tests/e2e

## The usage issue's full figure over HTTP: 10,000 events, 10% duplicates, crashes (about 4 minutes).
volume: install
	USAGE_HTTP_EVENTS=10000 $(BIN)/pytest tests/e2e/test_usage.py -k volume_of_events

## Regenerate layers/core/wrapper/openapi.json from the routes and models.
openapi: install
	$(BIN)/python -m localcloud openapi

## What `sam validate --lint` says of template.yaml (the test suite runs it too).
validate: install
	$(BIN)/sam validate --lint --template template.yaml

## Benchmarks print JSON figures; they are not part of `make test`. Two JSON documents, one after the other.
bench: install
	$(BIN)/python tests/bench/bench_foundation.py
	$(BIN)/python tests/bench/bench_imports.py

clean:
	rm -rf $(VENV) .aws-sam .mypy_cache .ruff_cache
