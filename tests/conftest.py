"""Shared test set-up: offline AWS settings and jsii's Node, before anything imports aws_cdk or boto3."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from cdk_sagemaker_finetuning import jsii_env

os.environ.update(
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_EC2_METADATA_DISABLED="true",
    SAGEMAKER_VALIDATE_ROLE="false",
    CDK_DISABLE_CLI_TELEMETRY="true",
    # CDK's built-in CloudFormation validation (a WASM rule engine jsii's Node loads at the first synth, ~1.3 s a
    # process, then a pass over every template) is off for the in-process syntheses: cfn-lint checks the
    # templates, and tests/test_app.py runs `cdk synth` of every example stack with it on (no finding allowed).
    CDK_VALIDATION="false",
)
os.environ.pop("AWS_PROFILE", None)
jsii_env.configure()

REPO = Path(__file__).resolve().parent.parent


def _parse_service_models_once() -> None:
    """botocore re-reads and re-parses each JSON model (SageMaker's is several MB) for every new session, and
    moto's Step Functions interpreter and the runtime code under test create hundreds: parse each file once
    per test run. botocore treats loaded models as read-only (one session's loader already shares them)."""
    from botocore import loaders

    original = loaders.JSONFileLoader.load_file
    parsed: dict[str, object] = {}

    def load_file(self, file_path):
        if file_path not in parsed:
            parsed[file_path] = original(self, file_path)
        return parsed[file_path]

    loaders.JSONFileLoader.load_file = load_file

    # Each new session's loader also lists the data folders anew (~400 service folders, ~20 ms) to know the
    # services: once per search path and kind.
    listing = loaders.Loader.list_available_services
    listed: dict[tuple, list[str]] = {}

    def list_available_services(self, type_name):
        key = (tuple(self.search_paths), type_name)
        if key not in listed:
            listed[key] = listing(self, type_name)
        return list(listed[key])

    loaders.Loader.list_available_services = list_available_services


def _build_client_classes_once() -> None:
    """Each new botocore client builds its class anew: one method per operation (SageMaker has ~400), ~10 ms a
    client, and the fuzz tests create thousands of Stubber-wrapped clients. Build each class once per test run:
    it holds only the operation methods (from the model, parsed once above) and what the session's
    ``creating-client-class`` handlers add (asked each time: a class is reused only for the same additions);
    the client's model, events, config and endpoint stay per instance."""
    from botocore import client

    original = client.ClientCreator._create_client_class
    built: dict[tuple, type] = {}

    def create_client_class(self, service_name, service_model):
        added: dict[str, object] = {}
        bases = [client.BaseClient]
        self._event_emitter.emit(
            f"creating-client-class.{service_model.service_id.hyphenize()}",
            class_attributes=added,
            base_classes=bases,
        )
        key = (
            service_name,
            id(service_model._service_description),
            tuple(bases),
            tuple(sorted((name, id(value)) for name, value in added.items())),
        )
        if key not in built:
            built[key] = original(self, service_name, service_model)
        return built[key]

    client.ClientCreator._create_client_class = create_client_class


_parse_service_models_once()
_build_client_classes_once()
EXAMPLES = REPO / "examples"


@pytest.fixture
def sft_spec_dict() -> dict:
    """A minimal valid SFT spec as a plain mapping (tests copy and modify it)."""
    return {
        "name": "demo",
        "technique": "sft",
        "base_model": "meta-textgeneration-llama-3-2-1b-instruct",
        "accept_eula": True,
        "data": {"train": "s3://demo-data/train.jsonl"},
    }


def cdk_json_context(**overrides) -> dict:
    """cdk.json's context (feature flags and the example specs), as the CDK CLI passes it to an app."""
    import json

    return {**json.loads((REPO / "cdk.json").read_text())["context"], **overrides}


def _synthesized(app) -> dict[str, dict]:
    """Stack name -> template of every stack of ``app`` (synthesized once; cdk-nag runs if the app has it)."""
    return {stack.stack_name: stack.template for stack in app.synth().stacks}


@pytest.fixture(scope="session")
def example_app(tmp_path_factory):
    """The default app (``app.py``) over every example spec, with cdk.json's feature flags (as the CDK CLI passes
    them) and the AwsSolutions checks; built once."""
    import aws_cdk as cdk

    from app import SPECS_CONTEXT_KEY, build_app

    specs = sorted(str(p.relative_to(REPO)) for p in EXAMPLES.glob("*.yaml"))
    app = cdk.App(
        outdir=str(tmp_path_factory.mktemp("cdk.out")), context=cdk_json_context(**{SPECS_CONTEXT_KEY: specs})
    )
    cwd = Path.cwd()
    os.chdir(REPO)  # spec paths in cdk.json are relative to the project
    try:
        build_app(app)
    finally:
        os.chdir(cwd)
    return app


@pytest.fixture(scope="session")
def platform_app(tmp_path_factory):
    """``(app, stack)`` of ``examples/platform_stack.py`` (three projects in one stack), built once."""
    import importlib.util

    import aws_cdk as cdk

    module_spec = importlib.util.spec_from_file_location("platform_stack", EXAMPLES / "platform_stack.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("platform")), context=cdk_json_context())
    return app, module.build(app)


@pytest.fixture(scope="session")
def example_templates(example_app, platform_app) -> dict[str, dict]:
    """Stack name -> synthesized template of every example stack: the default app's and the platform's."""
    templates = {**_synthesized(example_app), **_synthesized(platform_app[0])}
    assert len(templates) == len(list(EXAMPLES.glob("*.yaml"))) + 1
    return templates


#: The session fixtures that synthesize the example apps: one pytest-xdist worker runs every module that uses
#: them (a test or fixture of the module takes one), so the apps are synthesized once.
EXAMPLE_APP_FIXTURES = {"example_app", "platform_app", "example_templates"}


def example_app_modules() -> set[str]:
    """The test modules (paths from the project root) with a function taking one of EXAMPLE_APP_FIXTURES."""
    import ast

    found = set()
    for path in (REPO / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and EXAMPLE_APP_FIXTURES & {a.arg for a in node.args.args}:
                found.add(path.relative_to(REPO).as_posix())
                break
    return found


#: The groups that take longest (CPU seconds measured on 2 cores): handed out first, so that no worker starts
#: one of them while the other has nothing left to run.
SLOWEST_FIRST = ("tests/constructs/test_platform.py", "example-apps", "tests/test_readme.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``make test`` runs ``-n 2 --dist loadscope``: each module is one unit of work (its module fixtures, e.g.
    the 100-project platform or the MLflow server, are built once), the example-app modules one together."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    shared = example_app_modules()

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "example-apps" if module in shared else module

        def _assign_work_unit(self, node) -> None:
            for scope in reversed(SLOWEST_FIRST):
                if scope in self.workqueue:
                    self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return ModuleScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """A pytest-xdist worker has sent every result (its ``workerfinished`` event at session finish) when this
    runs: it ends here rather than tearing its interpreter down (gc passes and freeing the session's jsii
    proxies, moto backends and caches take ~7 s, during which the controller waits for it)."""
    if hasattr(config, "workerinput"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
