# Two commands for a new machine: `make run` (the product) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run setup test lint messages clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# --no-compile: Python compiles what it imports on first import; compiling every installed file up front doubled
# the install's time (93 s against 49 s here). That needs Python to keep what it compiled: with PYTHONDONTWRITEBYTECODE
# set (as in this machine's environment) every process compiled Django again, 2.5 s of CPU each (4.8 s against 2.3 s for
# `manage.py check`), and the suite starts many: Celery workers, gunicorn, the simulators, SQLite probes.
unexport PYTHONDONTWRITEBYTECODE

$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet --no-compile -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --no-compile -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

## Install, migrate, load demo data and users; idempotent. `make run` calls it, CI exercises it (tests/test_setup.py).
setup: $(VENV)/.runtime-installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo

## The web server, a Celery worker and beat, on SQLite and a serverless broker unless DATABASE_URL/REDIS_URL say otherwise.
run: setup
	PORT=$(PORT) PY=$(PY) scripts/run_local.sh

## The whole suite on real PostgreSQL and Redis (started if installed and stopped), with the browser tests, on two
## pytest-xdist workers (each with its own test database and Redis database; PYTEST_ARGS=-n0 runs it in one process).
test: $(VENV)/.dev-installed
	scripts/ensure_services.sh
	scripts/ensure_browser.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run --settings=config.settings_test > /dev/null
	$(VENV)/bin/mypy
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## Re-extract the strings to translate into locale/*/django.po and compile the .mo files (both are committed).
messages: $(VENV)/.dev-installed
	$(PY) manage.py makemessages --locale zh_Hans --locale en --ignore '.venv/*' --ignore 'var/*' --no-obsolete
	$(PY) manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf var test-artifacts
