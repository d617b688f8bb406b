# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPEC ?= specs/stellar-ttp.yaml
# pytest-xdist workers of `make test`: most tests wait on subprocesses, so two run well on
# two cores. WORKERS=0 runs the suite in this process.
WORKERS ?= 2

.PHONY: install run test unit bench bench-baseline bench-compare flaky lint type proto schema clean

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

# Rewrite tests/bench/baseline.json from a `make bench` run, on purpose.
bench-baseline: $(STAMP)
	$(BIN)/python tests/bench/record_baseline.py

# `make bench-compare BASE=main [BENCH=<pytest -k expr>] [ROUNDS=3]`: BASE beside the working tree.
ROUNDS ?= 3
bench-compare: $(STAMP)
	$(if $(BASE),,$(error BASE=<git ref> is required: make bench-compare BASE=main))
	$(BIN)/python tests/bench/compare.py --base $(BASE) --rounds $(ROUNDS) $(if $(BENCH),--bench '$(BENCH)')

# `make flaky TIER=unit RUNS=5 [RECORD=1]`: each test's pass rate over RUNS runs of a tier.
TIER ?= unit
RUNS ?= 5
flaky: $(STAMP)
	$(BIN)/python tests/bench/flaky.py --tier $(TIER) --runs $(RUNS) --workers $(WORKERS) $(if $(RECORD),--record-baseline)

proto: $(STAMP)
	$(BIN)/python proto/generate.py

schema: $(STAMP)
	$(BIN)/flowrun schema > schemas/pipeline.schema.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
