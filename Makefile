# Everyday tasks. Each target works from a fresh clone; `make dev` sets up the virtualenv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: dev demo test test-pg check lint types layers bench clean

$(BIN)/mios:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'

dev: $(BIN)/mios

demo: dev  ## the end-to-end demo: cycles on a simulated market, profit against the baselines
	$(BIN)/mios demo

test: dev
	$(BIN)/python -m pytest

test-pg: dev  ## the suite with the PostgreSQL tests on (needs a server at PG_URL)
	MIOS_TEST_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest

check: lint types layers

lint: dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

types: dev
	$(BIN)/mypy

layers: dev  ## the layer rule of DESIGN.md, as import-linter contracts in pyproject.toml
	$(BIN)/lint-imports

bench: dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis build dist
