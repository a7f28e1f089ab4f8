# sesconsole: one entry point. `make run` serves the console; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench-api clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Embedded mode: SQLite, a Celery worker (prefork pool, so task time limits hold) + beat on a
# SQLite-file broker, mail kept in the console's Mailbox. Prints the demo login, then serves
# http://127.0.0.1:8000/ (CONSOLE_PORT). Ctrl-C stops every process cleanly and exits 0:
# scripts/run_processes.py takes the terminal's Ctrl-C for itself (make never sees it) and
# scripts/run_worker.py turns the stop into the worker's warm shutdown.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_setup
	$(BIN)/python scripts/run_processes.py start -f Procfile

test: install
	scripts/test

# ruff check, ruff format --check, mypy (django-stubs) and lint-imports; see scripts/lint.
lint: install
	scripts/lint

clean:
	rm -rf $(VENV) var staticfiles *.egg-info
