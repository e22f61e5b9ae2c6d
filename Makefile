# Two commands set everything up on a fresh machine (Python 3.11+, Node and npm):
#   make synth  - venv + package with what synthesis needs + pinned CDK CLI, then an offline `cdk synth` of the
#                 example app into cdk.out/ and each example's notebook
#   make test   - the same plus the test extras, then mypy and the whole pytest suite
# Afterwards `source .venv/bin/activate` puts `cdk-finetune` and the app's Python on PATH (see README).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
SYNTH_INSTALLED := $(VENV)/.installed-synth
TEST_INSTALLED := $(VENV)/.installed-test
NPM_INSTALLED := node_modules/.installed

# Offline and quiet: no telemetry, no notices, no instance metadata lookups (cdk.json turns off telemetry and
# notices for `npx cdk` too; app.py and cdk-finetune set jsii's Node themselves, see jsii_env.py).
export CDK_DISABLE_CLI_TELEMETRY := true
export AWS_EC2_METADATA_DISABLED := true
# Bytecode caches on even where the shell sets PYTHONDONTWRITEBYTECODE: otherwise every Python process (app.py
# under `cdk synth`, the CLI, each test worker) compiles the package again and pytest rewrites every test module
# again (~4 s a process). The caches go to the git-ignored __pycache__/ folders.
export PYTHONDONTWRITEBYTECODE :=

.PHONY: install install-test synth test typecheck lint clean

install: $(SYNTH_INSTALLED) $(NPM_INSTALLED)

install-test: $(TEST_INSTALLED) $(NPM_INSTALLED)

$(PY):
	python3 -m venv $(VENV)
	$(PIP) --upgrade pip

# Synthesis needs the library, cdk-nag (app.py's checks) and a supported Node for jsii: the `synth` extra.
$(SYNTH_INSTALLED): pyproject.toml | $(PY)
	$(PIP) -e '.[synth]'
	touch $@

# The test extras (pytest, moto, cfn-lint, the SageMaker SDK, MLflow, ...) come only with `make test`.
$(TEST_INSTALLED): pyproject.toml $(SYNTH_INSTALLED)
	$(PIP) -e '.[test]'
	touch $@

$(NPM_INSTALLED): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The example specs of the default app (cdk.json); `make synth` also writes each one's SDK notebook.
SPECS = $(shell $(PY) -c "import json; print(' '.join(json.load(open('cdk.json'))['context']['cdk-sagemaker-finetuning:specs']))")

# The venv first on PATH runs app.py. With several stacks the CLI always ends with "Supply a stack id (...) to
# display its template", a hint for interactive use (the templates are in cdk.out/): that one line is dropped.
synth: install
	set -o pipefail; PATH="$(abspath $(VENV))/bin:$$PATH" node_modules/.bin/cdk synth --quiet --no-notices \
	  --output cdk.out 2>&1 | { grep -v '^Supply a stack id' || true; }
	for spec in $(SPECS); do \
	  $(VENV)/bin/cdk-finetune notebook "$$spec" --force -o "cdk.out/notebooks/$$(basename "$${spec%.*}").ipynb" || exit $$?; \
	done

# Two pytest-xdist workers, a module at a time (the example-app modules together: see tests/conftest.py), so
# each module's fixtures and the session's example apps are built once.
test: typecheck
	$(PY) -m pytest -n 2 --dist loadscope

# mypy on the package ([tool.mypy] in pyproject.toml; its cache in .mypy_cache/).
typecheck: install-test
	$(PY) -m mypy

lint: install-test
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
