# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KRAT_ADMIN_TOKEN ?= dev-admin-token
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

## run: install, migrate the SQLite default, load the demo data if empty, serve on :8000
run: $(VENV)/.installed
	$(BIN)/krat db upgrade
	$(BIN)/krat demo --if-empty
	@echo "development admin token: $(KRAT_ADMIN_TOKEN)"
	@echo "  curl -H 'Authorization: Bearer $(KRAT_ADMIN_TOKEN)' http://$(HOST):$(PORT)/api/v1/recommendations?status=open"
	KRAT_ADMIN_TOKEN=$(KRAT_ADMIN_TOKEN) $(BIN)/krat serve --host $(HOST) --port $(PORT)

## test: install the dev extras, lint, run the whole suite
test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n auto

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy app

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: the benchmark suite (bench/README.md); BENCH_ARGS=--quick for a smoke run
bench: $(VENV)/.installed
	@command -v wrk >/dev/null || apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache .mypy_cache
