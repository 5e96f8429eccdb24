# spark_control.audio: the two commands that matter are `make demo` and
# `make test`; both set up everything they need on a fresh Debian 12 machine
# (as root) and reuse what an earlier run built.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
CACHE := $(CURDIR)/.cache
COLL_ROOT := $(CACHE)/collections
COLL_LINK := $(COLL_ROOT)/ansible_collections/spark_control/audio
BENCH_INV := tests/bench/inventory.yml
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(COLL_ROOT)
export PYTHONPATH := $(COLL_ROOT)
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0

.PHONY: help setup venv host-deps engine images collection-link bench-up bench-down \
        demo test unit integration lint sanity molecule build bench fixtures clean

help:
	@echo "make demo        set up, start the bench, run the main job against it"
	@echo "make test        set up and run every test (unit, lint, sanity, integration, molecule)"
	@echo "make bench-down  stop the bench that 'make demo' leaves running"
	@echo "make bench       run the benchmarks (writes BENCHMARKS.md figures)"

# ---- set-up -----------------------------------------------------------------
$(VENV)/.installed: requirements/controller.txt requirements/audio-host.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3
	$(BIN)/pip install --quiet --requirement requirements/dev.txt
	touch $@

venv: $(VENV)/.installed

host-deps:
	bash scripts/host-deps.sh

engine: host-deps
	bash scripts/docker-engine.sh

collection-link:
	mkdir -p $(dir $(COLL_LINK))
	ln -sfn $(CURDIR) $(COLL_LINK)

images: venv engine
	$(BIN)/python tests/bench/build_images.py

setup: venv engine images collection-link

# ---- the bench --------------------------------------------------------------
bench-up: setup
	$(BIN)/ansible-playbook -i $(BENCH_INV) tests/bench/playbooks/up.yml

bench-down: venv collection-link
	bash scripts/docker-engine.sh
	$(BIN)/ansible-playbook -i $(BENCH_INV) tests/bench/playbooks/down.yml

# ---- the main job -----------------------------------------------------------
demo: bench-up
	bash scripts/demo.sh

# ---- tests ------------------------------------------------------------------
test: setup
	bash scripts/test.sh

unit: venv collection-link
	cd $(COLL_LINK) && $(BIN)/python -m pytest -q tests/unit

integration: bench-up
	cd $(COLL_LINK) && $(BIN)/python -m pytest -q tests/integration

lint: venv collection-link
	$(BIN)/ansible-lint --profile production

sanity: venv
	bash scripts/sanity.sh

molecule: setup
	$(BIN)/molecule test --all

build: venv
	mkdir -p $(CACHE)/dist
	$(BIN)/ansible-galaxy collection build --force --output-path $(CACHE)/dist .

bench: bench-up
	bash scripts/benchmarks.sh

fixtures: setup
	bash scripts/make-fixtures.sh

clean:
	rm -rf $(VENV) $(CACHE) tests/output
