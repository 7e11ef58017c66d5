PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-spark bench install clean lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## make demo: build the demo company, load it, run every analysis, write the report.
demo: $(STAMP)
	$(BIN)/salesintel demo --db demo/salesintel.duckdb --report demo/report.html

## make test: the whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest

## make test-spark: the cross-engine tests on a local Spark session (needs Java 17; installs the spark extra).
test-spark: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[test,spark]"
	SALESINTEL_TEST_ENGINES=spark $(BIN)/python -m pytest tests/test_engines.py -k spark

## make lint: ruff (lint and format check).
lint: $(STAMP)
	$(BIN)/ruff check salesintel tests bench scripts
	$(BIN)/ruff format --check salesintel tests bench scripts

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/python bench/load_orders.py
	$(BIN)/python bench/load_retail.py
	$(BIN)/python bench/load_edge_proof.py
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/basket_rules.py
	$(BIN)/python bench/clv.py

clean:
	rm -rf $(VENV) demo .pytest_cache
