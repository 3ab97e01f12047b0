# retention_kit: every command sets up its own environment in .venv if missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: test lint unit notebooks lab setup clean reports browser postgres course student

$(STAMP): pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
	  ($(PY) -m pip install -q --disable-pip-version-check uv >/dev/null 2>&1 && $(PY) -m uv venv -q -p $(PY) $(VENV)) \
	  || $(PY) -m venv $(VENV); fi
	@if $(PY) -m uv --version >/dev/null 2>&1; then \
	  $(PY) -m uv pip install -q -p $(BIN)/python -e ".[test]"; \
	else $(BIN)/python -m pip install -q -e ".[test]"; fi
	@rm -f $(VENV)/.installed-*; touch $@

setup: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check retention_kit tests benchmarks

# Two test processes (pytest-xdist, one file per process at a time, so a module's fixtures
# run once); the tests that wait on kernel start-up or signals with deadlines run alone after.
unit: $(STAMP) browser postgres
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not serial" retention_kit tests
	$(BIN)/python -m pytest -q -m serial tests

notebooks: $(STAMP)
	$(BIN)/python -m pytest -q -p no:randomly --nbval-lax --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg -o addopts="" notebooks/0*.ipynb

test: lint unit notebooks

# The README's main command: one offline HTML report per bundled demo client.
reports: $(STAMP)
	$(BIN)/retention-kit report --data datasets/demo --out reports
	@echo "Reports are in $(CURDIR)/reports: open $(CURDIR)/reports/index.html in a browser."

# The offline course site (Jupyter Book 1), executing the notebooks: an instructor edition
# with the solutions and a student edition without, in build/course/.
course: $(STAMP)
	$(BIN)/python -m retention_kit.course site --out build/course

# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; it never
# downloads a browser of its own). Installed only when missing.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  LOG=$$(mktemp); \
	  { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install \
	    -y -qq --no-install-recommends chromium; } >$$LOG 2>&1 || { cat $$LOG; exit 1; }; \
	  rm -f $$LOG; fi

# A PostgreSQL server for the tests of raw logs in a database (tests/conftest.py starts a
# throwaway one with initdb, as `nobody` when run as root). Debian's package is installed only
# when no server binary is found on PATH or under /usr/lib/postgresql/*/bin.
postgres:
	@if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "Installing Debian's postgresql for the database tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  LOG=$$(mktemp); \
	  { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install \
	    -y -qq --no-install-recommends postgresql; } >$$LOG 2>&1 || { cat $$LOG; exit 1; }; \
	  rm -f $$LOG; fi

# JupyterLab gets its own environment: its import chain slows every Python start of the
# test environment by seconds. The scale extra (DuckDB, pyarrow, Ibis) runs lesson 06; its
# Spark section runs when pyspark and Java are there too. Root (containers) needs --allow-root.
LAB := .venv-lab
LAB_EXTRAS := lab,notebooks,scale
lab:
	@if [ ! -x $(LAB)/bin/python ]; then \
	  ($(PY) -m uv --version >/dev/null 2>&1 && $(PY) -m uv venv -q -p $(PY) $(LAB)) || $(PY) -m venv $(LAB); fi
	@if $(PY) -m uv --version >/dev/null 2>&1; then \
	  $(PY) -m uv pip install -q -p $(LAB)/bin/python -e ".[$(LAB_EXTRAS)]"; \
	else $(LAB)/bin/python -m pip install -q -e ".[$(LAB_EXTRAS)]"; fi
	$(LAB)/bin/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS) notebooks/

# The notebooks folder as learners get it: lessons and blank exercises, no solutions, no
# outputs of the exercises; a folder and a zip in build/student/ for trainers to hand out.
student: $(STAMP)
	$(BIN)/python -m retention_kit.course student --out build/student

clean:
	rm -rf $(VENV) $(LAB) .pytest_cache build *.egg-info
