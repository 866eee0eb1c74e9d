# Two commands on a fresh machine: `make demo` and `make test` (see README).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint dev bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet uv
	$(UV) sync --frozen --python python3.11
	@touch $@

demo: install
	$(BIN)/healthscore demo

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	HEALTHSCORE_WAREHOUSE=:memory: $(BIN)/sqlfluff lint dbt_project/models dbt_project/tests

# With DAGSTER_HOME unset, `dagster dev` reads ./dagster.yaml, whose storage lives in data/dagster.
dev: install
	env -u DAGSTER_HOME $(BIN)/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

bench: install
	$(BIN)/python bench/bench_demo.py

clean:
	rm -rf data dbt_project/target dbt_project/logs .pytest_cache
