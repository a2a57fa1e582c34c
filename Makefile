# The two commands of the README: `make run` (add DEMO=1 for the demo case) and `make test`.
# `make lint` runs ruff (configured in pyproject.toml; installed by install-test); CI runs it before the tests.
# `make run` serves with gunicorn (WEB_WORKERS of them) and one job consumer next to it (`reportkit serve`);
# `make dev` is Flask's development server with the debugger (jobs in a thread of it).
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WEB_WORKERS ?= 2

.PHONY: run dev test lint install install-test bench extension

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	bash scripts/system-deps.sh
	$(BIN)/pip install -q -e .

install-test: $(BIN)/python
	bash scripts/system-deps.sh --test
	$(BIN)/pip install -q -e '.[test]'

run: install
	$(BIN)/reportkit db upgrade
	$(BIN)/reportkit seed-policies
	@if [ "$(DEMO)" = "1" ]; then $(BIN)/reportkit demo; fi
	@echo ""
	@echo "reportkit is starting at http://$(HOST):$(PORT)"
	@echo "Create the first account in the browser (Register), or from another shell:"
	@echo "    $(BIN)/reportkit create-user you@example.org --admin"
	@echo ""
	$(BIN)/reportkit serve --host $(HOST) --port $(PORT) --workers $(WEB_WORKERS)

dev: install
	$(BIN)/reportkit db upgrade
	$(BIN)/reportkit seed-policies
	$(BIN)/reportkit run --debug --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check .

bench: install-test
	$(BIN)/python bench/case_page.py
	$(BIN)/python bench/dossier.py
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/concurrency.py
	$(BIN)/python bench/worker_death.py
	$(BIN)/python bench/server.py

# The browser extension as a zip to load or publish (offline, no build step: the files of extension/ as they are).
extension:
	mkdir -p dist
	rm -f dist/reportkit-extension.zip
	$(PYTHON) -m zipfile -c dist/reportkit-extension.zip $(sort $(wildcard extension/*))
	@echo "dist/reportkit-extension.zip: load extension/ unpacked, or this zip (README: Capturing posts)"
