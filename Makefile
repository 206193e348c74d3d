# radiomix: every target creates .venv (and installs radiomix with its extras) when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo_output
PYTEST_WORKERS ?= 2

.PHONY: demo test bench lint clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/radiomix demo --out $(DEMO_DIR)

test: $(STAMP)
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) tests

bench: $(STAMP)
	$(PY) benchmarks/run.py --out benchmarks/results

lint: $(STAMP)
	$(PY) -m ruff check radiomix pipelines tests benchmarks

clean:
	rm -rf $(VENV) $(DEMO_DIR) benchmarks/results .pytest_cache .hypothesis
