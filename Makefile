# Two commands: `make run` and `make test` (`make test-fast` for the inner loop). Each creates
# .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/newsbot run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Every tier (tests/unit, tests/e2e, tests/hosts) on both backends: what CI runs.
test: lint
	$(BIN)/pytest -q

# The unit tier and the end-to-end tier on SQLite, without the slow ones, in six workers (they mostly wait: six overlap it on two cores).
test-fast: $(STAMP)
	NEWSBOT_TESTS=fast $(BIN)/pytest -q -n 6 -m "not postgres and not slow" tests/unit tests/e2e

bench: $(STAMP)
	$(BIN)/python -m bench.store
	$(BIN)/python -m bench.fanout
	$(BIN)/python -m bench.postgres
	$(BIN)/python -m bench.hostile
	$(BIN)/python -m bench.render
	$(BIN)/python -m bench.latency
	$(BIN)/python -m bench.freshness
	$(BIN)/python -m bench.chaos
	$(BIN)/python -m bench.follows
	$(BIN)/python -m bench.stories

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
