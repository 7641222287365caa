# Tributary: `make run` runs it, `make test` tests it. See README.md.

PYTHON ?= python3
PORT ?= 8000
SIM_PORT ?= 8765
# make run DEMO=0 (or TRIBUTARY_DEMO=0): only the web server and the worker, on DATABASE_URL;
# no simulator, demo instance or callback inbox.
DEMO ?= $(if $(filter 0 false no off,$(TRIBUTARY_DEMO)),0,1)
BASE_URL := http://127.0.0.1:$(PORT)
SIM_URL := http://127.0.0.1:$(SIM_PORT)
LOGIN := $(if $(DJANGO_SUPERUSER_PASSWORD),admin (password from DJANGO_SUPERUSER_PASSWORD),admin (password printed when the user was created; `make password` sets a new one))
VENV ?= .venv
VENV_PYTHON := $(VENV)/bin/python
# Reinstall when pyproject.toml is newer than the stamp.
INSTALL_STAMP := $(VENV)/.tributary-installed
# Extra pytest arguments: make test ARGS='-k poll -x' (PYTEST_ARGS works too).
ARGS ?=
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1
# The demo needs the development tools (simulator, inbox, setup_demo) installed as apps.
ifneq ($(DEMO),0)
export TRIBUTARY_DEV_TOOLS := true
endif

.DEFAULT_GOAL := help
.PHONY: help install run test lint format check clean tour-env password

help:
	@echo "make run     install into $(VENV), set up, and run the web server, the worker and a demo (Desk simulator"
	@echo "             delivering to the callback inbox) on 127.0.0.1:$(PORT); DEMO=0: web server and worker only"
	@echo "make test    run the tests (throwaway PostgreSQL when installed, else SQLite); ARGS='-k foo'"
	@echo "make tour-env  (while make run runs) shell exports for the README tour: eval \"\$$(make -s tour-env)\""
	@echo "make password  give the admin login a new password and print it"
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
	$(VENV_PYTHON) manage.py create_local_admin --base-url $(BASE_URL)
ifeq ($(DEMO),0)
	@printf '\n  Tributary on %s\n    Admin:      %s/admin/\n    Event log:  %s/events/log/\n    API docs:   %s/elements/api-v2/docs/\n    Login:      %s\n  Ctrl-C stops it.\n\n' \
		"$(BASE_URL)" "$(BASE_URL)" "$(BASE_URL)" "$(BASE_URL)" "$(LOGIN)"
	TRIBUTARY_DEV_TOOLS=$${TRIBUTARY_DEV_TOOLS:-false} $(VENV_PYTHON) -m project.supervisor \
		web="$(VENV_PYTHON) manage.py runserver --noreload 127.0.0.1:$(PORT)" \
		worker="$(VENV_PYTHON) manage.py qcluster"
else
	$(VENV_PYTHON) manage.py setup_demo --simulator-url $(SIM_URL) --base-url $(BASE_URL)
	@printf '\n  Tributary demo on %s\n    Admin:      %s/admin/\n    Event log:  %s/events/log/\n    Inbox:      %s/inbox/\n    API docs:   %s/elements/api-v2/docs/\n    Simulator:  %s/_simulator/requests\n    Login:      %s\n  The simulator changes cases and customers every few seconds; the first notifications\n  reach the inbox within about two minutes. Ctrl-C stops it; make run DEMO=0 runs without the demo.\n\n' \
		"$(BASE_URL)" "$(BASE_URL)" "$(BASE_URL)" "$(BASE_URL)" "$(BASE_URL)" "$(SIM_URL)" "$(LOGIN)"
	$(VENV_PYTHON) -m project.supervisor \
		web="$(VENV_PYTHON) manage.py runserver --noreload 127.0.0.1:$(PORT)" \
		worker="$(VENV_PYTHON) manage.py qcluster" \
		simulator="$(VENV_PYTHON) manage.py desk_simulator --port $(SIM_PORT) --activity"
endif

tour-env: install
	@TRIBUTARY_DEV_TOOLS=true $(VENV_PYTHON) manage.py tour_env --base-url $(BASE_URL) --simulator-url $(SIM_URL)

password: install
	@$(VENV_PYTHON) manage.py create_local_admin --new-password --base-url $(BASE_URL)

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
