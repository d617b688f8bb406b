# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPEC ?= specs/stellar-ttp.yaml

.PHONY: install run test bench lint type proto schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/flowrun up $(SPEC) $(if $(PROFILE),--profile $(PROFILE))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

type: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint type
	$(BIN)/pytest -q --cov --cov-report=term

bench: $(STAMP)
	$(BIN)/python tests/bench/report.py

proto: $(STAMP)
	$(BIN)/python proto/generate.py

schema: $(STAMP)
	$(BIN)/flowrun schema > schemas/pipeline.schema.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
