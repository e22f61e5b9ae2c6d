"""The workflow Lambdas' code asset: the right files, importable as Lambda imports them, named errors intact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from cdk_sagemaker_finetuning.constructs import ModelPackageGroup, TrainingWorkflow
from tests import workflow_data as wd

ALLOWED = {
    "__future__",
    "boto3",
    "botocore",
    "contextlib",
    "hashlib",
    "json",
    "os",
    "re",
    "random",
    "time",
    "functools",
    "logging",
    "retry",
    "collections",
    "typing",
    "errors",
    "models",
    "request",
    "dataset_format",
    "data_scan",
    "evaluator_check",
    "dataclasses",
    "urllib",
    "math",
    "create_training_job",
    "preflight",
    "evaluation_catalog",
    "evaluation_config",
    "evaluation_inputs",
    "evaluation_request",
    "evaluation_results",
    "evaluation_gate",
    "workflow_contract",
}
LAMBDA_LIKE = """
import json, sys, traceback
from botocore.exceptions import ClientError
from runtime import create_training_job, evaluation_step, pipeline_report, preflight, stop_orphaned_job

class Throttled:
    def create_training_job(self, **request):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "CreateTrainingJob")

for call in (
    lambda: preflight.handler(["not", "an", "object"], None, clients=object()),
    lambda: create_training_job.handler({"request": {"TrainingJobName": "j"}}, None, sagemaker=Throttled()),
    lambda: evaluation_step.handler({"action": "poll", "state": None}, None, clients=object()),
):
    try:
        call()
    except Exception as exc:  # what the Lambda runtime reports as errorType / errorMessage
        print(json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}))
"""


def test_asset_holds_the_runtime_and_imports_like_lambda(tmp_path):
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Asset")
    group = ModelPackageGroup(stack, "Group", model_package_group_name=wd.GROUP_NAME)
    TrainingWorkflow(
        stack,
        "Training",
        config=wd.config(),
        training_role=iam.Role.from_role_arn(stack, "TrainingRole", wd.ROLE_ARN),
        model_package_group=group,
        create_job_with="lambda",
    )
    assembly = app.synth()
    template = assembly.get_stack_by_name("Asset").template
    handlers = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            key = resource["Properties"]["Code"]["S3Key"]
            handlers[resource["Properties"]["Handler"]] = tmp_path / f"asset.{key.split('.')[0]}"
    assert set(handlers) == {
        "runtime.preflight.handler",
        "runtime.stop_orphaned_job.handler",
        "runtime.create_training_job.handler",
    }
    folder = handlers["runtime.preflight.handler"]
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {
        f"runtime/{name}.py"
        for name in (
            "__init__",
            "preflight",
            "request",
            "errors",
            "models",
            "dataset_format",
            "data_scan",
            "evaluator_check",
            "stop_orphaned_job",
            "create_training_job",
            "retry",
            "evaluation_step",
            "evaluation_gate",
            "evaluation_request",
            "evaluation_results",
        )
    } <= names
    assert all(n.startswith("runtime/") for n in names)  # one package, nothing flat at the code root
    assert not any("__pycache__" in n or n.endswith(".pyc") or n.startswith("runtime/reward/") for n in names)

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["WORKFLOW_CONFIG"] = json.dumps(wd.config())
    answer = subprocess.run(
        [sys.executable, "-s", "-c", LAMBDA_LIKE],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [json.loads(line) for line in answer.stdout.splitlines()]
    log, reported, create_log, create_reported, evaluation_log, evaluation_reported = lines
    assert reported == {
        "errorType": "PreflightError.InvalidInput",
        "errorMessage": "the event must be a JSON object, got list",
    }
    assert log["level"] == "ERROR" and log["error"] == "PreflightError.InvalidInput"
    # the Lambda way of creating the job fails with the aws-sdk integration's error name (same Retry/Catch)
    assert create_reported["errorType"] == "SageMaker.ThrottlingException"
    assert create_log == {"level": "ERROR", "trainingJobName": "j", "error": "SageMaker.ThrottlingException"}
    # the evaluation step's Lambda (not wired into the state machine yet) runs from the same asset
    assert evaluation_reported["errorType"] == "EvaluationError.InvalidState"
    assert evaluation_log["level"] == "ERROR" and evaluation_log["field"] == "state"


def test_runtime_modules_import_nothing_but_stdlib_and_boto3():
    runtime = Path(__file__).resolve().parents[2] / "cdk_sagemaker_finetuning" / "runtime"
    names = (
        "preflight.py",
        "request.py",
        "errors.py",
        "stop_orphaned_job.py",
        "data_scan.py",
        "evaluator_check.py",
        "bucket_event_check.py",
        "create_training_job.py",
        "retry.py",
        "evaluation_step.py",
        "evaluation_gate.py",
        "evaluation_catalog.py",
        "evaluation_config.py",
        "evaluation_inputs.py",
        "evaluation_request.py",
        "evaluation_results.py",
        "workflow_contract.py",
    )
    for name in (*names, "pipeline_report.py"):
        imports = [
            line.split()[1]
            for line in (runtime / name).read_text().splitlines()
            if line.strip().startswith(("import ", "from "))
        ]
        for module in imports:
            root = module.split(".")[0]
            assert root in ALLOWED or module.startswith("."), (name, module)
