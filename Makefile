# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPEC ?= specs/stellar-ttp.yaml
# pytest-xdist workers of `make test`: most tests wait on subprocesses, so two run well on
# two cores. WORKERS=0 runs the suite in this process.
WORKERS ?= 2

.PHONY: install run test unit bench lint type proto schema clean

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
	$(BIN)/pytest -q -n $(WORKERS) --dist worksteal --cov --cov-report=term

# The unit tier alone, without lint or coverage: seconds. `make unit ARGS=--lf` reruns failures.
unit: $(STAMP)
	$(BIN)/pytest -q tests/unit $(ARGS)

bench: $(STAMP)
	$(BIN)/python tests/bench/report.py

proto: $(STAMP)
	$(BIN)/python proto/generate.py

schema: $(STAMP)
	$(BIN)/flowrun schema > schemas/pipeline.schema.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
