# Two entry points for a fresh machine (Python 3.10+ and npm on PATH):
#   make compare   set up, fetch MNIST, train the CNN in every framework, print the table
#   make test      set up, fetch MNIST, run linters, the golden checks and the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
NNDSL := $(VENV)/bin/nndsl
SPEC ?= specs/cnn.nn
EPOCHS ?= 1

.PHONY: setup data compare test lint regen

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

# an editable install: dsl/ is imported as `nndsl` and edits take effect at once
# (tests/test_wheel.py builds the wheel and checks that it ships grammar and templates)
setup: $(VENV)/.installed

data: setup
	$(NNDSL) data fetch mnist

compare: data
	$(NNDSL) compare $(SPEC) --epochs $(EPOCHS)

lint: setup
	$(PY) -m ruff check dsl tests benchmarks scripts
	$(PY) -m black --check --quiet dsl tests benchmarks scripts
	$(NNDSL) fmt --check specs
	$(NNDSL) check specs
	$(NNDSL) gen specs --target all --check

test: data lint
	cd /tmp && $(CURDIR)/$(NNDSL) summary $(CURDIR)/specs/cnn.nn > /dev/null
	NNDSL_REQUIRE_DATA=1 $(PY) -m pytest -q -p no:cacheprovider

regen: setup
	$(NNDSL) gen specs --target all
