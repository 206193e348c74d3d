# radiomix: every target creates .venv (and installs radiomix with its extras) when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo_output
PYTEST_WORKERS ?= 2

.PHONY: demo test bench lint clean chromium warmup

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

warmup: $(STAMP)
	$(VENV)/bin/radiomix warmup

demo: $(STAMP) warmup
	$(VENV)/bin/radiomix demo --out $(DEMO_DIR)

# The report tests render HTML in headless Chromium (Debian package); installed when
# missing and apt-get is usable, otherwise those tests skip and say why.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium not installed: report rendering tests will be skipped"; }

test: $(STAMP) chromium warmup
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) tests

bench: $(STAMP) warmup
	$(PY) benchmarks/run.py --out benchmarks/results
	$(PY) benchmarks/compare.py --out benchmarks/results --readme README.md
	$(PY) benchmarks/bench_evaluation.py --out benchmarks/results

lint: $(STAMP)
	$(PY) -m ruff check radiomix pipelines tests benchmarks

clean:
	rm -rf $(VENV) $(DEMO_DIR) benchmarks/results .pytest_cache .hypothesis
