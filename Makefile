# Two commands: `make run` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

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

test: lint
	$(BIN)/pytest -q

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
