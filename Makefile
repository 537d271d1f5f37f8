# pinnopt: the two commands of the README, and a few helpers.
#   make run    set up .venv (CPU torch), solve the default problem (Burgers, its quick
#               configuration: a step budget, under 2 minutes of CPU on one core), print its validation
#   make test   set up .venv with the test tools, run ruff and the test suite
#   make docs   the API reference from the docstrings (pdoc) in build/api/index.html
# GPU users: install their CUDA build of torch into .venv first (see README), or set
#   TORCH="torch --index-url https://download.pytorch.org/whl/cu128"

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: run test docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.torch: | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q $(TORCH)
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

run: $(VENV)/.installed
	$(BIN)/pinnopt solve burgers --quick

test: $(VENV)/.installed
	$(BIN)/ruff check pinnopt problems tests examples benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

docs: $(VENV)/.installed
	$(BIN)/python docs/build_api.py build/api

bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.accuracy
	$(BIN)/python -m benchmarks.tables --write

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
