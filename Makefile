# Two entry points do all the set-up from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DB     ?= data/evaluator.duckdb
PORT   ?= 8501

.PHONY: demo test lint bench install install-test browser java clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

# the test extras and the optional Spark engine (pyspark, ~500 MB): the Spark equivalence test runs in CI
install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,spark]'

# Debian's Chromium and a CJK font for the real-browser tests, LibreOffice Calc for the tests that
# open our workbooks and CSVs as the office does, poppler-utils (pdfinfo, pdftotext) to measure the
# printed PDF (they skip, with a reason, without them; CI fails on a missing Chromium or LibreOffice)
BROWSER_PKGS := chromium fonts-wqy-microhei libreoffice-calc-nogui poppler-utils
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v soffice >/dev/null 2>&1 \
	  && command -v pdftotext >/dev/null 2>&1 \
	  && [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PKGS) >/dev/null) \
	    || echo "could not install $(BROWSER_PKGS): browser tests will skip"; \
	else echo "not root: install $(BROWSER_PKGS) to run the browser tests"; fi

# Java 17 for Spark (Debian's headless JRE when no java is on PATH)
JAVA_PKGS := openjdk-17-jre-headless
java:
	@if command -v java >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(JAVA_PKGS) >/dev/null) \
	    || echo "could not install $(JAVA_PKGS): the Spark test fails in CI, skips elsewhere"; \
	else echo "not root: install $(JAVA_PKGS) to run the Spark test"; fi

## Build the demo data, load it into $(DB), score it and serve the dashboard on 127.0.0.1:$(PORT)
demo: install
	$(BIN)/evaluator demo --db $(DB) --port $(PORT)

## Run the whole test suite (unit, end-to-end CLI, dashboard, browser), then lint and type checks
test: install-test browser java
	$(BIN)/python -m pytest -n auto --dist loadgroup
	$(BIN)/ruff check evaluator dashboards tests benchmarks
	$(BIN)/mypy evaluator dashboards

# pandas (the scale baseline) comes with the test extra
bench: install-test
	$(BIN)/python benchmarks/run.py
	$(BIN)/python -m benchmarks.run --size medium

clean:
	rm -rf $(VENV) data/*.duckdb data/*.duckdb.wal data/*.key data/*.app.db data/*.app.db-wal data/*.app.db-shm data/demo data/rejects data/snapshots artifacts
