# exoneb developer entry points. Everything installs itself into .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/exoneb db upgrade
	$(VENV)/bin/exoneb demo --if-empty
	$(VENV)/bin/exoneb serve --host $(HOST) --port $(PORT)

test: install
	bash scripts/system-deps.sh
	bash scripts/test.sh

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

bench: install
	$(PY) bench/bench_dosimetry.py
	$(PY) bench/bench_monitoring.py
	$(PY) bench/bench_monitoring_hl7.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist
