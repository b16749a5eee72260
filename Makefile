# README's commands. Each target does its own set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# checkov pins versions (boto3, networkx) the project's own tools cannot share: its own venv.
TOOLS := .venv-tools
CHECKOV_VERSION := 3.3.30
# The SageMaker pieces the tests take as judges (the SDK's image URIs, the training
# toolkit of the framework containers, scikit-learn for the sample's script) pin
# versions of their own (boto3, numpy): their own venv too.
SDK := .venv-sdk
SDK_PACKAGES := sagemaker-core==2.27.0 sagemaker-training==5.1.4 scikit-learn==1.9.1
# The SageMaker Python SDK v2 (estimators, tuner, rule_configs), whose requests the
# library's are compared with (tests/definition/test_sdk_parity.py); it pins sagemaker-core 1.x.
SDK2 := .venv-sdk2
SDK2_PACKAGES := sagemaker==2.257.7
# The boto3 of the Lambda Python runtime, older than ours: the handler must speak the
# API the synth validated with it too (tests/lambda_handler/test_handler_models.py).
LAMBDA := .venv-lambda
LAMBDA_PACKAGES := boto3==1.40.0 botocore==1.40.0
# Node 24 (jsii's supported releases are 22 and 24; 20 is end-of-life), pinned in
# package.json as npm's `node` package: every target runs the CDK CLI and jsii on it.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: synth test lint typecheck bench docs dist clean integ-snapshot integ-deploy

# What a synth needs: the package and its runtime dependencies (the CDK), no test tools.
$(VENV)/.synth-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed: $(VENV)/.synth-installed pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(TOOLS)/.installed: Makefile
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS)/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	touch $@

$(SDK)/.installed: Makefile
	$(PYTHON) -m venv $(SDK)
	$(SDK)/bin/python -m pip install --quiet --upgrade pip
	$(SDK)/bin/python -m pip install --quiet $(SDK_PACKAGES)
	touch $@

$(SDK2)/.installed: Makefile
	$(PYTHON) -m venv $(SDK2)
	$(SDK2)/bin/python -m pip install --quiet --upgrade pip
	$(SDK2)/bin/python -m pip install --quiet $(SDK2_PACKAGES)
	touch $@

$(LAMBDA)/.installed: Makefile
	$(PYTHON) -m venv $(LAMBDA)
	$(LAMBDA)/bin/python -m pip install --quiet $(LAMBDA_PACKAGES)
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

## make synth: synthesize the sample app with the pinned CDK CLI into cdk.out/
synth: $(VENV)/.synth-installed node_modules/.installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npx --no-install cdk synth --quiet --output cdk.out
	@echo "Synthesized into cdk.out/:" && ls cdk.out/*.template.json

## make test: the whole test suite, with the type and lint gates
# On every core (pytest-xdist, a module per process: module fixtures synthesize once),
# then the gates that read what all of them synthesized (marker after_all).
TEST_TEMPLATES := $(CURDIR)/.pytest-templates
TEST_WORKERS ?= auto
test: $(VENV)/.installed $(TOOLS)/.installed $(SDK)/.installed $(SDK2)/.installed $(LAMBDA)/.installed node_modules/.installed lint typecheck
	rm -rf $(TEST_TEMPLATES)
	CONSTRUCTS_LIB_TEST_TEMPLATES=$(TEST_TEMPLATES) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not after_all"
	CONSTRUCTS_LIB_TEST_TEMPLATES=$(TEST_TEMPLATES) $(PY) -m pytest -m after_all

## make integ-snapshot: record the integration tests' snapshots (tests/integ/*.snapshot), on purpose
integ-snapshot: $(VENV)/.installed
	$(PY) -m tests.integ.snapshots

## make integ-deploy REGION=us-east-1 [PROFILE=p] [TESTS="integ_training ..."]: the integration
## tests on your account: each deployed, its assertions read, then destroyed; worst cases printed
integ-deploy: $(VENV)/.installed node_modules/.installed
	@test -n "$(REGION)" || { echo "make integ-deploy needs REGION=<region> (PROFILE=<name> for a named profile)" >&2; exit 2; }
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m tests.integ.deploy --region $(REGION) $(if $(PROFILE),--profile $(PROFILE)) $(foreach t,$(TESTS),--test $(t))

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

## make docs: the API reference, generated from the docstrings, into docs/
docs: $(VENV)/.installed node_modules/.installed
	rm -rf docs
	PDOC_ALLOW_EXEC=1 $(PY) -m pdoc constructs_lib constructs_lib.testing -o docs

## make dist: the sdist and the wheel users install, into dist/, checked by twine
dist: $(VENV)/.installed
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/*

## make bench: synth, footprint, handler and validation costs -> benchmarks/results.json
bench: $(VENV)/.installed node_modules/.installed
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) $(TOOLS) $(SDK) $(SDK2) $(LAMBDA) node_modules cdk.out docs dist build .pytest_cache .mypy_cache .ruff_cache
