# nndsl's commands. On a fresh machine (Python 3.10+, make; npm and root for the optional
# parts) two commands do everything:
#   make compare   set up, fetch MNIST, train specs/cnn.nn in every target, print the table
#   make test      set up, fetch MNIST, lint, golden checks and the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
NNDSL := $(VENV)/bin/nndsl
SPEC ?= specs/cnn.nn
EPOCHS ?= 1

.DEFAULT_GOAL := help
.PHONY: help setup system data compare test test-fast lint regen mutants mutants-fast bench gpu-check

help:
	@echo "make compare     set up, fetch MNIST, train $(SPEC) in every target and compare ($(EPOCHS) epoch)"
	@echo "make test        set up, fetch MNIST, lint, golden checks, mutants-fast and the whole test suite"
	@echo "make test-fast   the quick loop: the tool and every kind in every target (under 2 minutes)"
	@echo "make regen       regenerate generated/ from specs/"
	@echo "make mutants     every mutation check (mutants-fast: the CI subset)"
	@echo "make bench       the CPU speed record (quiet machine only; see benchmarks/speed.py)"
	@echo "make gpu-check   the GPU benchmark (skips where there is no GPU)"
	@echo "variables: SPEC=specs/mlp.nn EPOCHS=5 VENV=.venv"

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

# TF.js' packages for the tfjs target and the demo page, pinned by package-lock.json (no
# install scripts run); without npm the tfjs tests skip
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the tfjs target's tests and nndsl demo need it (skipped)"; fi

# an editable install: dsl/ is imported as `nndsl` and edits take effect at once
# (tests/test_wheel.py builds the wheel and checks that it ships grammar and templates)
setup: $(VENV)/.installed node_modules/.installed

# optional system packages the tests use when present: Graphviz (`nndsl graph` to SVG) and
# Chromium (the demo page's test, headless)
system:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v dot >/dev/null; then \
		{ apt-get install -y -q graphviz >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q graphviz >/dev/null; }; } || echo "apt-get failed: graph tests will skip"; \
	fi
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v chromium >/dev/null; then \
		{ apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; } || echo "apt-get failed: the demo test will skip"; \
	fi

data: setup system
	$(NNDSL) data fetch mnist

compare: data
	$(NNDSL) compare $(SPEC) --epochs $(EPOCHS)

lint: setup
	$(PY) -m ruff check dsl tests benchmarks scripts setup.py
	$(PY) -m black --check --quiet dsl tests benchmarks scripts setup.py
	$(NNDSL) fmt --check specs
	$(NNDSL) check specs
	$(NNDSL) gen specs --check

test: data system lint mutants-fast
	cd /tmp && $(CURDIR)/$(NNDSL) summary $(CURDIR)/specs/cnn.nn > /dev/null
	NNDSL_REQUIRE_DATA=1 $(PY) -m pytest -q -p no:cacheprovider -n 2

test-fast: setup
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow and not integration" -x

regen: setup
	$(NNDSL) gen specs

mutants: setup
	$(PY) scripts/mutants.py

mutants-fast: setup
	$(PY) scripts/mutants.py --fast

bench: data
	$(PY) benchmarks/speed.py --json results/speed.json

gpu-check: setup
	$(PY) benchmarks/gpu.py --json results/gpu.json
