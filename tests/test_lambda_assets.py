"""Every Lambda of the example stacks: arm64, and its handler imports from its staged asset with nothing but the
standard library and boto3 on the path (the runtime is the package ``runtime``; no import fallbacks)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from cdk_sagemaker_finetuning.constructs import (
    BucketEventCheck,
    EvaluatorLookup,
    HubEvaluator,
    ModelPackageGroup,
    TrainingWorkflow,
)
from tests import workflow_data as wd
from tests.conftest import REPO

RUNTIME = REPO / "cdk_sagemaker_finetuning" / "runtime"
#: What the Lambda's Python runtime provides besides the standard library.
BOTO = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
IMPORT_ALL = """
import importlib, json, sys
found = {}
for handler in json.loads(sys.argv[1]):
    module, _, function = handler.rpartition(".")
    found[handler] = callable(getattr(importlib.import_module(module), function, None))
print(json.dumps({"found": found, "modules": sorted(sys.modules)}))
"""


def boto_only_path(tmp_path: Path) -> Path:
    """A folder holding links to boto3 and its dependencies only (what the Lambda runtime adds to the stdlib)."""
    folder = tmp_path / "boto"
    folder.mkdir()
    for name in BOTO:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin, name
        source = Path(spec.origin)
        source = source.parent if source.name == "__init__.py" else source
        (folder / source.name).symlink_to(source)
    return folder


def the_other_lambdas(outdir: Path) -> cdk.App:
    """The Lambdas no example stack has: the deploy-time lookups and the Lambda way of creating the job."""
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Others")
    evaluator = HubEvaluator.from_evaluator_arn(
        stack, "Team", "arn:aws:sagemaker:us-east-1:123456789012:hub-content/h/JsonDoc/r/1.0.0"
    )
    EvaluatorLookup(stack, "Lookup", evaluator=evaluator)
    BucketEventCheck(stack, "Check", bucket=s3.Bucket.from_bucket_name(stack, "Data", "their-data"))
    group = ModelPackageGroup(stack, "Group", model_package_group_name=wd.GROUP_NAME)
    TrainingWorkflow(
        stack,
        "Training",
        config=wd.config(),
        training_role=iam.Role.from_role_arn(stack, "TrainingRole", wd.ROLE_ARN),
        model_package_group=group,
        create_job_with="lambda",
    )
    return app


def our_functions(*apps: cdk.App) -> dict[str, list[tuple[str, Path]]]:
    """Handler -> [(stack, asset folder)] of the library's own Lambdas (not CDK's provider framework)."""
    found: dict[str, list[tuple[str, Path]]] = {}
    for stack, assembly in [(s, a) for a in (app.synth() for app in apps) for s in a.stacks]:
        for resource in stack.template["Resources"].values():
            props = resource.get("Properties", {})
            handler = props.get("Handler", "")
            if resource["Type"] != "AWS::Lambda::Function" or not handler.startswith(("runtime.", "lambda_")):
                continue
            assert props["Architectures"] == ["arm64"], (stack.stack_name, handler)
            key = props["Code"]["S3Key"]
            found.setdefault(handler, []).append(
                (stack.stack_name, Path(assembly.directory) / f"asset.{key[:-4]}")
            )
    return found


def test_every_handler_imports_from_its_asset_with_only_stdlib_and_boto3(example_app, tmp_path):
    functions = our_functions(example_app, the_other_lambdas(tmp_path / "others"))
    assert {
        "runtime.evaluator_check.on_event",
        "runtime.create_training_job.handler",
        "runtime.preflight.handler",
        "runtime.stop_orphaned_job.handler",
        "runtime.hub_evaluator.on_event",
        "runtime.hub_evaluator.is_complete",
        "runtime.pipeline_report.handler",
        "runtime.bucket_event_check.on_event",
        "lambda_function.lambda_handler",
    } <= set(functions)
    by_folder: dict[Path, set[str]] = {}
    for handler, places in functions.items():
        for _, folder in places:
            by_folder.setdefault(folder, set()).add(handler)
    boto = boto_only_path(tmp_path)
    for folder, handlers in by_folder.items():
        code = f"import sys; sys.path[:0] = [{str(folder)!r}, {str(boto)!r}]\n" + IMPORT_ALL
        answer = subprocess.run(
            [sys.executable, "-S", "-I", "-c", code, json.dumps(sorted(handlers))],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert answer.returncode == 0, (folder.name, answer.stderr)
        result = json.loads(answer.stdout)
        assert result["found"] == dict.fromkeys(handlers, True), folder.name
        loaded = {m.split(".")[0] for m in result["modules"]}
        assert not loaded & {"aws_cdk", "pydantic", "cdk_sagemaker_finetuning", "jsii"}, folder.name


#: Modules of the workflow branch that still carry the flat-asset fallback (removed by the same recipe when
#: that branch is merged); they import correctly either way because the relative import is tried first.
def test_runtime_modules_use_relative_imports_without_fallbacks():
    fallback = re.compile(r"^except ImportError:.*\n(    import .*\n)+", re.MULTILINE)
    with_fallback = {p.name for p in RUNTIME.rglob("*.py") if fallback.search(p.read_text())}
    assert with_fallback == set(), f"runtime modules with a flat-import fallback: {sorted(with_fallback)}"
