# The two commands a new user needs: `make dev` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PYTHONPATH := layers/core:infra
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: dev test install lint typecheck unit integration e2e volume openapi validate build deploy bench bench-billing clean

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

# The functions' runtime (template.yaml's, held to it by tests/unit/test_build.py), and the Python that
# `make build` compiles with: a .pyc is read only by the Python version that wrote it.
LAMBDA_RUNTIME := python3.12
LAMBDA_PYTHON  ?= $(LAMBDA_RUNTIME)

## sam build, then a .pyc beside every module of the build (functions, layer and its dependencies):
## Lambda's /var/task and /opt are read-only, so a module shipped without one is compiled at every cold
## start. Hash-checked, since SAM's zips date every file 1980 and a timestamped .pyc would never match.
build: install
	$(BIN)/sam build
	$(LAMBDA_PYTHON) -c 'import sys; v = "python%d.%d" % sys.version_info[:2]; sys.exit(v != "$(LAMBDA_RUNTIME)" and f"LAMBDA_PYTHON is {v}; the functions run $(LAMBDA_RUNTIME)")'
	$(LAMBDA_PYTHON) -m compileall -q -j 0 --invalidation-mode checked-hash .aws-sam/build

## make build, then sam deploy (CONFIG_ENV=dev, prod or local picks samconfig.toml's environment).
deploy: build
	$(BIN)/sam deploy $(if $(CONFIG_ENV),--config-env $(CONFIG_ENV))

## Benchmarks print JSON figures; they are not part of `make test`. Two JSON documents, one after the other.
bench: install
	$(BIN)/python tests/bench/bench_foundation.py
	$(BIN)/python tests/bench/bench_imports.py

## The billing run of 2,000 due subscriptions through the state machine (issue #11; about 15 minutes). One JSON document.
bench-billing: install
	$(BIN)/python tests/bench/bench_billing.py

clean:
	rm -rf $(VENV) .aws-sam .mypy_cache .ruff_cache
