# vcprov: every target sets itself up from nothing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The venv's own tools first, activated or not (molecule and ansible-runner look
# ansible-playbook up on PATH).
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: install demo test lint bench clean lock lab-up lab-down

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt requirements.in requirements-dev.in
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -r requirements.in -r requirements-dev.in
	$(BIN)/python -m pip install -q -c constraints.txt --no-deps -e .
	mkdir -p .collections/ansible_collections/vcprov
	ln -sfn ../../.. .collections/ansible_collections/vcprov/network
	touch $(STAMP)

lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install -q -r requirements.in -r requirements-dev.in
	.venv-lock/bin/pip freeze | grep -v '^-e' > constraints.txt
	rm -rf .venv-lock

demo: install
	$(BIN)/python -m vcprov.demo

test: install
	$(BIN)/python -m pytest -n 2 --dist loadfile tests

lint: install
	$(BIN)/ruff check python tests benchmarks
	$(BIN)/ruff format --check python tests benchmarks
	$(BIN)/mypy
	@if ls playbooks/*.yml roles/*/tasks/*.yml >/dev/null 2>&1; then $(BIN)/ansible-lint playbooks roles; fi

bench: install
	$(BIN)/python benchmarks/run.py

lab-up: install
	$(BIN)/vcprov lab up

lab-down: install
	$(BIN)/vcprov lab down

clean:
	-$(BIN)/vcprov lab down 2>/dev/null
	rm -rf $(VENV) .lab .collections .pytest_cache .mypy_cache .ruff_cache
