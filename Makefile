# Two commands on a fresh machine with Python >= 3.11, pip and make: `make serve`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: serve test lint unit bench bench-append bench-projections bench-latency bench-load clean

$(VENV)/.synced: pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if command -v uv >/dev/null 2>&1; then uv=uv; \
	 else test -x $(BIN)/uv || $(BIN)/pip install --quiet --disable-pip-version-check uv; uv=$(BIN)/uv; fi; \
	 $$uv sync --frozen --inexact --quiet --python $(BIN)/python
	@touch $@

serve: $(VENV)/.synced
	$(BIN)/accordlog serve

lint: $(VENV)/.synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

unit: $(VENV)/.synced
	$(BIN)/pytest tests/unit

bench: bench-append bench-projections bench-latency bench-load

bench-append: $(VENV)/.synced
	$(BIN)/python -m bench.append

bench-projections: $(VENV)/.synced
	$(BIN)/python -m bench.projections

bench-latency: $(VENV)/.synced
	$(BIN)/python -m bench.latency

bench-load: $(VENV)/.synced
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
