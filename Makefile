# spindiff — one venv, made with pip, holding the project and its test tools.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The main job. Until the service exists (issue 5) it runs the MTJ random-source self-test.
run: install
	$(VENV)/bin/spindiff rng-test --profile vcma-default --bits 1000000

# Every test, the statistical and the browser ones included. CI (.ci/run) calls exactly this.
test: install
	$(PY) -m pytest

# Skip the statistically heavy tests while iterating.
test-fast: install
	$(PY) -m pytest -m "not slow"

bench: install
	$(VENV)/bin/spindiff bench rng --json

clean:
	rm -rf $(VENV) .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
