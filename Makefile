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

.PHONY: install demo demo-onboard demo-firmware test lint bench clean lock lab-up lab-down browser ee

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

# One factory-reset codec onboarded to an accepted site (its own 4-site lab in .lab-onboard/).
demo-onboard: install
	$(BIN)/python -m vcprov.onboard_cli demo

# A canary ring whose codec comes back broken, rolled back while the rollout halts
# (its own 6-site lab in .lab-firmware/).
demo-firmware: install
	$(BIN)/python -m vcprov.firmware_demo

# Headless Chromium for tests/test_report_browser.py: installed with apt-get when missing
# and we are root; otherwise (or if that fails) the browser test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	{ if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make browser: installing chromium (apt-get)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	    { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } || \
	    echo "make browser: could not install chromium; the browser test will skip"; \
	  else echo "make browser: no chromium and not root: the browser test will skip"; fi; }

test: install browser
	$(BIN)/python -m pytest -n 2 --dist loadfile tests

lint: install
	$(BIN)/ruff check python tests benchmarks plugins
	$(BIN)/ruff format --check python tests benchmarks plugins
	$(BIN)/mypy
	@if ls playbooks/*.yml roles/*/tasks/*.yml >/dev/null 2>&1; then $(BIN)/ansible-lint playbooks roles; fi

bench: install
	$(BIN)/python benchmarks/run.py

# The AWX execution environment (execution-environment.yml, docs/scale.md): the build
# context always; the image when a container engine answers.
ee: install
	rm -rf build/ee && mkdir -p build/ee/files
	$(BIN)/python -m pip wheel -q --no-deps -w build/ee/files .
	$(BIN)/ansible-galaxy collection build --force --output-path build/ee/files .
	cp constraints.txt build/ee/files/
	$(BIN)/ansible-builder create -f execution-environment.yml -c build/ee/context
	@if podman info >/dev/null 2>&1; then \
	  $(BIN)/ansible-builder build -f execution-environment.yml -c build/ee/context --container-runtime podman; \
	elif docker info >/dev/null 2>&1; then \
	  $(BIN)/ansible-builder build -f execution-environment.yml -c build/ee/context --container-runtime docker; \
	else echo "ee: no container engine here: build context in build/ee/context (ansible-builder build there)"; fi

lab-up: install
	$(BIN)/vcprov lab up

lab-down: install
	$(BIN)/vcprov lab down

clean:
	-$(BIN)/vcprov lab down 2>/dev/null
	-$(BIN)/vcprov lab down --state .lab-onboard 2>/dev/null
	-$(BIN)/vcprov lab down --state .lab-firmware 2>/dev/null
	rm -rf $(VENV) .lab .lab-onboard .lab-firmware build .collections .pytest_cache .mypy_cache .ruff_cache

# Molecule: one scenario per role, each on a 2-site lab of its own (molecule/README.md).
.PHONY: molecule
molecule: install
	MOLECULE_GLOB='molecule/*/molecule.yml' $(BIN)/molecule test --all
