# Intrascribe — the two commands are `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
SERVICES := api_service stt_service diarization_service agent_service
PYTEST_ARGS ?=

.PHONY: run up down health logs test test-environments test-root test-unit test-services test-e2e bench lint models setup clean help

help:
	@echo "make run     set up (first time) and start everything in the foreground; Ctrl-C stops it"
	@echo "make up      the same in the background; returns when every service is ready"
	@echo "make down    stop what 'make up' started (by PID)"
	@echo "make health  readiness of every service"
	@echo "make logs    last lines of every log (FOLLOW=1 to follow)"
	@echo "make test    set up (first time) and run the whole test suite"
	@echo "make test-unit / test-services / test-e2e   one category of it"
	@echo "make bench   run the benchmarks; results in bench/results/"
	@echo "make lint    ruff + mypy"
	@echo "make models  download the models the settings name (STT_*, DIARIZATION_*) into the model cache"

setup:
	@bash scripts/setup.sh

# SCALE=2: the scaled topology on this machine (devstack/topology.py; README, "Scaled topology").
SCALE ?= 1

run: setup
	@SCALE=$(SCALE) $(PY) -m devstack run

up: setup
	@SCALE=$(SCALE) $(PY) -m devstack up

down:
	@$(PY) -m devstack down

health:
	@$(PY) -m devstack health

logs:
	@$(PY) -m devstack logs $(if $(FOLLOW),-f)

# Each service's own tests run in that service's environment; tests/ runs in the root one, in two
# pytest workers (pytest-xdist, a file per worker at a time, each worker with servers of its own;
# most tests wait on servers, not on the CPU). The halves run one after the other: run at once,
# timing-bound tests failed in two of seven runs on 2 cores. CATEGORY=unit|service|e2e runs one category (pytest
# exits 5 where none of it is collected; the firmware's host tests run with the whole suite only).
ROOT_WORKERS ?= 2
CATEGORY ?=
PYTEST_SELECT = $(if $(CATEGORY),--category $(CATEGORY)) $(PYTEST_ARGS)
NONE_COLLECTED_IS_OK = $(if $(CATEGORY),|| [ $$? -eq 5 ])

test: setup
	@$(MAKE) --no-print-directory test-environments test-root

test-unit test-services test-e2e: setup
	@$(MAKE) --no-print-directory -j2 --output-sync=recurse test-environments test-root \
	  CATEGORY=$(patsubst test-%,%,$(patsubst test-services,test-service,$@))

test-environments:
	@set -e; for svc in $(SERVICES); do \
	  if [ -d $$svc/tests ]; then echo "==> $$svc $(CATEGORY) tests"; \
	    $$svc/.venv/bin/python -m pytest $$svc/tests $(PYTEST_SELECT) $(NONE_COLLECTED_IS_OK); fi; \
	done
	@echo "==> LiveKit plugin $(CATEGORY) tests"
	@agent_service/.venv/bin/python -m pytest plugins/livekit-plugins-intrascribe/tests $(PYTEST_SELECT) $(NONE_COLLECTED_IS_OK)
	@if [ -z "$(CATEGORY)" ]; then echo "==> firmware host tests (C, cmocka)"; bash firmware/test/run.sh; fi

test-root:
	@echo "==> shared and cross-service $(CATEGORY) tests"
	@$(PY) -m pytest shared/tests tests -n $(ROOT_WORKERS) --dist loadfile $(PYTEST_SELECT) $(NONE_COLLECTED_IS_OK)

# Where a network exists: fetch (or update) the hub models the settings name, for air-gapped installs.
models: setup
	@PYTHONPATH=$(CURDIR) stt_service/.venv/bin/python -m stt_service.models fetch
	@PYTHONPATH=$(CURDIR) diarization_service/.venv/bin/python -m diarization_service.models fetch

# The Helm chart (deploy/helm/intrascribe), checked offline: lint, render, strict typed validation.
# Builds helm v4.3.2 once per machine into ~/.cache/intrascribe/bin; tests/test_helm.py runs it too.
.PHONY: helm-check
helm-check:
	@bash scripts/helm_check.sh

bench: setup
	@$(PY) -m bench

lint: setup
	@.tools/bin/uv run --frozen --project . ruff check .
	@.tools/bin/uv run --frozen --project . ruff format --check .
	@.tools/bin/uv run --frozen --project . mypy shared devstack api_service stt_service diarization_service agent_service plugins tests bench
	@# Again in each service's environment, where its libraries (SQLAlchemy, dramatiq, LiveKit,
	@# faster-whisper, pyannote) have their real types instead of Any.
	@set -e; for svc in $(SERVICES); do extra=; [ $$svc = agent_service ] && extra=plugins; \
	  .tools/bin/uv run --frozen --project . mypy --python-executable $$svc/.venv/bin/python $$svc $$extra; done

clean: down
	rm -rf .run
