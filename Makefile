# The two commands of the README's quick start: `make demo` and `make test`.
# Both create the virtual environment on first use (Python 3.11+, nothing else needed).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SRC    := smmcheck tests bench

.PHONY: demo test check lint typecheck policy-test pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/smmcheck demo --report-dir reports/demo

test: lint typecheck policy-test pytest

check: test

lint: $(STAMP)
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)

typecheck: $(STAMP)
	$(BIN)/mypy smmcheck

policy-test: $(STAMP)
	$(BIN)/smmcheck policy lint
	$(BIN)/smmcheck policy test

pytest: $(STAMP)
	SMMCHECK_CACHE_DIR=$$(mktemp -d) $(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/python bench/bench_check.py
	$(BIN)/python bench/bench_acl.py
	$(BIN)/python bench/bench_collect.py

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache
