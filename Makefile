SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test lint format venv bench clean-run

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	@$(VENV)/bin/python -m pip install -q --upgrade pip
	@$(VENV)/bin/python -m pip install -q -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

## make run: the product on http://127.0.0.1:$${PORT:-8000}/ with PostgreSQL, Redis and a worker
run: venv
	@scripts/run.sh

## make test: the whole suite against a real PostgreSQL and Redis (PYTEST_ARGS=... to narrow)
test: venv
	@scripts/test.sh $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## make bench: measure the product on this machine (SCENARIO=ingest,... to narrow; BENCH_ARGS=...)
bench: venv
	@SCENARIO="$(SCENARIO)" BENCH_ARGS="$(BENCH_ARGS)" scripts/bench.sh

## make clean-run: stop and delete the throwaway local servers' data under .run/
clean-run:
	@scripts/stack.sh down pg redis
	rm -rf .run
