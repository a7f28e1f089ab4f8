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

# Embedded mode: SQLite, a Celery worker + beat on a SQLite-file broker, mail kept in the
# console's Mailbox. Prints the demo login, then serves http://127.0.0.1:8000/.
# Ctrl-C: honcho (scripts/run_processes.py) stops both processes; the worker uses a thread
# pool, as a prefork pool's children would get honcho's group-wide SIGTERM mid-task. honcho
# then exits 130, which is how a Ctrl-C'd run ends, not a failure. make still prints its own
# "Interrupt" line: it receives the terminal's Ctrl-C too, and no recipe can change that.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_setup
	$(BIN)/python scripts/run_processes.py start -f Procfile || [ $$? -eq 130 ]

test: install
	scripts/test

# ruff check, ruff format --check, mypy (django-stubs) and lint-imports; see scripts/lint.
lint: install
	scripts/lint

clean:
	rm -rf $(VENV) var staticfiles *.egg-info
