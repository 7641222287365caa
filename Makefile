# Tributary: `make run` runs it, `make test` tests it. See README.md.

PYTHON ?= python3
PORT ?= 8000
VENV ?= .venv
VENV_PYTHON := $(VENV)/bin/python
# Reinstall when pyproject.toml is newer than the stamp.
INSTALL_STAMP := $(VENV)/.tributary-installed
# Extra pytest arguments: make test ARGS='-k poll -x' (PYTEST_ARGS works too).
ARGS ?=
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help install run test lint format check clean

help:
	@echo "make run     install into $(VENV), migrate, load elements, create the admin, serve on 127.0.0.1:$(PORT) with the worker"
	@echo "make test    run the tests (throwaway PostgreSQL when installed, else SQLite); ARGS='-k foo'"
	@echo "make lint    ruff check + ruff format --check"
	@echo "make format  ruff format + ruff check --fix"
	@echo "make check   manage.py check + makemigrations --check"
	@echo "make clean   remove $(VENV) and caches"

$(VENV_PYTHON):
	$(PYTHON) -m venv $(VENV)

$(INSTALL_STAMP): pyproject.toml | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install -e '.[dev]'
	touch $(INSTALL_STAMP)

install: $(INSTALL_STAMP)

run: install
	$(VENV_PYTHON) manage.py migrate
	$(VENV_PYTHON) manage.py load_elements
	$(VENV_PYTHON) manage.py setup_schedules
	$(VENV_PYTHON) manage.py create_local_admin --base-url http://127.0.0.1:$(PORT)
	$(VENV_PYTHON) -m project.supervisor \
		web="$(VENV_PYTHON) manage.py runserver --noreload 127.0.0.1:$(PORT)" \
		worker="$(VENV_PYTHON) manage.py qcluster"

test: install
	bash scripts/with-test-postgres.sh $(VENV_PYTHON) -m pytest $(PYTEST_ARGS) $(ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: install
	$(VENV_PYTHON) manage.py check
	$(VENV_PYTHON) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
