# Two entry points for a fresh machine:  make demo  (index the sample footage, run searches)
#                                         make test  (set up and run the test suite)
VENV    ?= .venv
PYTHON  ?= python3
SHARED  ?= ../shared
PY      := $(VENV)/bin/python
export FORENSIC_MODELS ?= $(abspath $(SHARED)/models)
export FORENSIC_INDEX  ?= $(abspath forensic-index)

.PHONY: setup demo test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,fast,plates,cluster]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	bash samples/demo.sh $(SHARED)/footage

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) bench/relevance.py

clean:
	rm -rf forensic-index .pytest_cache test-output demo-report.html
