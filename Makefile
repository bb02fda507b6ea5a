# The two commands of the README, plus the tools around them.
# Every target bootstraps .venv from uv.lock first (fast when nothing changed).
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# 2 cores on CI: two pytest workers. Override with `make test PYTEST_WORKERS=4`.
PYTEST_WORKERS ?= 2

.PHONY: help env demo test lint format typecheck sqlfluff docs clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

env:  ## create or refresh .venv from uv.lock
	@scripts/bootstrap.sh

demo: env  ## run the demo: generate, load, check, build, notify for fiscal year 2021
	$(BIN)/budgetperf demo

test: env  ## run the whole test suite
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup

lint: env  ## ruff, mypy and sqlfluff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/budgetperf dbt-env $(BIN)/sqlfluff lint dbt_project/models

format: env  ## apply ruff's formatting and fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

docs: env  ## build the dbt docs site for analysts (self-contained index.html)
	$(BIN)/budgetperf docs

clean:  ## remove the environment and local state (.venv, .tools, .budgetperf)
	rm -rf $(VENV) .tools .budgetperf
