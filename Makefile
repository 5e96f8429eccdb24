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
        demo test unit nemo-test integration lint sanity molecule build changelog bench fixtures clean

help:
	@echo "make demo        set up, start the bench, run the main job against it"
	@echo "make test        set up and run every test (unit, lint, sanity, integration, molecule)"
	@echo "make nemo-test   the nemo engine on real NeMo 3.0 and 2.5 only (part of make test; no Docker)"
	@echo "make bench-down  stop the bench that 'make demo' leaves running"
	@echo "make bench       run the benchmarks (writes BENCHMARKS.md figures)"
	@echo "make changelog   regenerate CHANGELOG.rst and changelogs/changelog.yaml from the fragments"

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

# The nemo engine on real NeMo 3.0 and 2.5 (tiny models, CPU), each line in
# its own venv under .cache (requirements/nemo3.txt, nemo2.txt); no Docker.
nemo-test:
	bash scripts/nemo-test.sh

integration: bench-up
	cd $(COLL_LINK) && $(BIN)/python -m pytest -q tests/integration

lint: venv collection-link
	$(BIN)/ansible-lint --profile production

sanity: venv
	bash scripts/sanity.sh

molecule: setup
	$(BIN)/molecule test --all

build: venv
	bash scripts/check-build.sh $(CACHE)/dist

# 0.1.0 is not released yet: its section is rebuilt from every fragment each
# time (changelog.yaml starts empty, fragments are kept), so the output depends
# only on the fragments, the plugins' docs and RELEASE_DATE. The version is
# galaxy.yml's. Run from the ansible_collections/ path so ansible-doc finds
# the plugins and roles.
RELEASE_DATE ?= 2026-12-01
changelog: venv collection-link
	cd $(COLL_LINK) && $(BIN)/antsibull-changelog lint
	printf -- '---\nancestor: null\nreleases: {}\n' > changelogs/changelog.yaml
	cd $(COLL_LINK) && $(BIN)/antsibull-changelog release --reload-plugins --date $(RELEASE_DATE)
	cd $(COLL_LINK) && $(BIN)/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml

bench: bench-up
	bash scripts/benchmarks.sh

fixtures: setup
	bash scripts/make-fixtures.sh

clean:
	rm -rf $(VENV) $(CACHE) tests/output
