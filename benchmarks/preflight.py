"""The training workflow's own cost: preflight CPU time per request and state transitions per job.

Run: ``.venv/bin/python benchmarks/preflight.py``. Prints

* the CPU time (``time.process_time``) of one full preflight (request building, recipe selection,
  hyperparameter merge and a 1 MiB data sample check), with in-memory AWS answers so only our code is timed,
  for a small and a full-size data sample, and of the request builder alone;
* the data check of a 10,000-object prefix (botocore Stubber pagination: 10 list pages, 8 ranged reads):
  wall and CPU time, requests and bytes read, against the budget in ``runtime/data_scan.py``;
* the Step Functions state transitions (standard workflows bill per transition) of a 10-hour job at the default
  60 s poll interval, counted from the synthesized state machine, and their price at $0.025 per 1,000.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import time
from typing import Any

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from cdk_sagemaker_finetuning.runtime import preflight, request  # noqa: E402
from cdk_sagemaker_finetuning.runtime.dataset_format import SAMPLE_BYTES  # noqa: E402

ACCOUNT, REGION = "123456789012", "us-east-1"
MODEL = "meta-textgeneration-llama-3-2-1b-instruct"
SPEC = {
    "learning_rate": {"default": 0.0001, "type": "float", "min": 1e-06, "max": 0.001},
    "global_batch_size": {"default": 64, "type": "integer", "min": 1, "max": 1024},
    "max_epochs": {"default": 2, "type": "integer", "min": 1, "max": 10},
    "lr_warmup_steps_ratio": {"default": 0.1, "type": "float", "min": 0.0, "max": 1.0},
    "dataset_max_len": {"default": 4096, "type": "integer", "min": 128, "max": 32768},
}
RECIPES = [
    {
        "CustomizationTechnique": t,
        "Peft": "LORA" if lora else None,
        "SequenceLength": "8K",
        "SmtjRecipeTemplateS3Uri": f"s3://recipes/{t}.yaml",
        "SmtjOverrideParamsS3Uri": f"s3://recipes/{t}-{lora}.json",
    }
    for t in ("SFT", "DPO", "RLVR", "RLAIF")
    for lora in (True, False)
]
HUB = {
    "HubContentName": MODEL,
    "HubContentArn": f"arn:aws:sagemaker:{REGION}:aws:hub-content/SageMakerPublicHub/Model/{MODEL}/1.2.3",
    "HubContentDocument": json.dumps({"RecipeCollection": RECIPES, "GatedBucket": True}),
}
CONFIG = {
    "version": 1,
    "projectName": "bench",
    "jobNamePrefix": "bench",
    "technique": "SFT",
    "trainingType": "LORA",
    "hubName": "SageMakerPublicHub",
    "baseModel": MODEL,
    "acceptEula": True,
    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/Exec",
    "modelPackageGroupName": "bench",
    "modelPackageGroupArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/bench",
    "trainUri": "s3://bench-data/train.jsonl",
    "outputUri": "s3://bench-out/",
    "hyperparameters": {"max_epochs": 3},
    "maxRuntimeSeconds": 36000,
    "tags": {"team": "ml"},
    "checkData": True,
    # the rest as workflow_config.runtime_config() sets them for this spec (workflow_contract.WorkflowConfig)
    "baseModelVersion": None,
    "validationUri": None,
    "kmsKeyId": None,
    "hyperparameterMode": "defaults",
    "sequenceLength": None,
    "mlflow": None,
    "evaluatorArn": None,
    "rewardLambdaArn": None,
    "judgeModelId": None,
    "judgePrompt": None,
    "judgePromptEvaluatorArn": None,
    "approvedOnly": False,
    "allowConcurrentRuns": False,
    "approvalStatus": "PendingManualApproval",
}
ROW = (
    json.dumps({"prompt": "What is the capital of France? " * 4, "completion": "Paris is the capital."})
    + "\n"
)


class _Client:
    """In-memory answers for the calls a preflight makes (no botocore, so only our code is timed)."""

    def __init__(self, sample: bytes, object_size: int) -> None:
        self.sample = sample
        self.object_size = object_size
        self.meta = type("Meta", (), {"region_name": REGION})()

    def describe_model_package_group(self, **_: Any) -> dict:
        return {"ModelPackageGroupArn": CONFIG["modelPackageGroupArn"]}

    def describe_hub_content(self, **_: Any) -> dict:
        return HUB

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict:  # noqa: N803 - boto3 argument names
        data = json.dumps(SPEC).encode() if Bucket == "recipes" else self.sample
        return {"Body": io.BytesIO(data)}

    def list_objects_v2(self, **_: Any) -> dict:
        return {"Contents": [{"Key": "train.jsonl", "Size": self.object_size}]}

    def list_training_jobs(self, **_: Any) -> dict:
        return {"TrainingJobSummaries": []}

    def get_caller_identity(self) -> dict:
        return {"Account": ACCOUNT}


def cpu_per_call(function: Any, runs: int) -> float:
    """Median CPU seconds of one call over ``runs`` batches."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return statistics.median(times)


def preflight_cpu() -> None:
    print("Preflight CPU time per request (median of 20 runs, in-memory AWS answers)")
    for label, size in (("10 records", len(ROW) * 10), ("1 MiB sample", 50 * SAMPLE_BYTES)):
        data = (ROW * (min(size, SAMPLE_BYTES) // len(ROW) + 1)).encode()
        fake = _Client(data[: min(size, SAMPLE_BYTES)], size)  # a ranged read returns at most 1 MiB
        clients = preflight.Clients(sagemaker=fake, s3=fake, sts=fake)
        event = {"executionName": "run-1", "input": {"hyperparameters": {"learning_rate": 0.0002}}}
        seconds = cpu_per_call(lambda c=clients, e=event: preflight.plan(CONFIG, e, c), 20)
        print(f"  full preflight, {label:<12} {seconds * 1000:8.2f} ms")
    execution = {"name": "run-1", "input": None}
    seconds = cpu_per_call(
        lambda: request.build_create_training_job_request(
            CONFIG, HUB, SPEC, execution, account=ACCOUNT, region=REGION
        ),
        200,
    )
    print(f"  request builder only        {seconds * 1000:8.3f} ms")


def prefix_budget(keys: int = 10_000) -> None:
    import boto3
    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    from cdk_sagemaker_finetuning.runtime import data_scan

    names = [f"train/part-{i:05d}.jsonl" for i in range(keys)]
    size = 5 * SAMPLE_BYTES  # every object larger than its sample: each read is a full range
    data = (ROW * (SAMPLE_BYTES // len(ROW) + 1)).encode()
    s3 = boto3.client("s3", region_name=REGION)
    stub = Stubber(s3)
    pages = [names[i : i + 1000] for i in range(0, keys, 1000)]
    for number, page in enumerate(pages):
        answer = {
            "Contents": [{"Key": k, "Size": size} for k in page],
            "IsTruncated": number < len(pages) - 1,
        }
        if number < len(pages) - 1:
            answer["NextContinuationToken"] = f"t{number + 1}"
        stub.add_response("list_objects_v2", answer)
    for position in range(len(data_scan.sample_indexes(keys))):
        limit = data_scan.FIRST_SAMPLE_BYTES if position == 0 else data_scan.OTHER_SAMPLE_BYTES
        stub.add_response("get_object", {"Body": StreamingBody(io.BytesIO(data[:limit]), limit)})
    stub.activate()
    wall, cpu = time.perf_counter(), time.process_time()
    fmt, summary = data_scan.check_location(s3, "s3://bench-data/train/", "SFT", False, field="data.train")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stub.assert_no_pending_responses()
    print(f"\nData check of a {keys:,}-object prefix (Stubber: {len(pages)} list pages, in-process answers)")
    print(f"  format {fmt}; sampled {len(summary['sampled'])} objects, read {summary['bytesRead']:,} bytes")
    print(
        f"  wall {wall * 1000:.0f} ms, CPU {cpu * 1000:.0f} ms (budget: {data_scan.PREFLIGHT_SECONDS:g} s, "
        f"{data_scan.MAX_SAMPLE_BYTES:,} bytes, {data_scan.PREFLIGHT_MAX_KEYS:,} keys)"
    )
    assert wall < data_scan.PREFLIGHT_SECONDS and summary["bytesRead"] <= data_scan.MAX_SAMPLE_BYTES


def transitions(hours: float = 10.0, poll_seconds: int = 60) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam
    from aws_cdk.assertions import Template

    from cdk_sagemaker_finetuning.constructs.model_package_group import ModelPackageGroup
    from cdk_sagemaker_finetuning.constructs.training_workflow import TrainingWorkflow

    stack = cdk.Stack(cdk.App(), "Bench")
    group = ModelPackageGroup(stack, "Group", model_package_group_name="bench")
    TrainingWorkflow(
        stack,
        "Workflow",
        config=CONFIG,
        training_role=iam.Role.from_role_arn(stack, "TrainingRole", CONFIG["roleArn"]),
        model_package_group=group,
    )
    machine = next(
        iter(Template.from_stack(stack).find_resources("AWS::StepFunctions::StateMachine").values())
    )
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    asl = json.loads("".join(p if isinstance(p, str) else "X" for p in parts))
    loop = asl["States"]["Watch"]["Branches"][0]["States"]
    per_poll = len([s for s in ("Wait", "DescribeTrainingJob", "Finished?") if s in loop])
    wait = loop["Wait"]["Seconds"]
    assert wait == poll_seconds, wait
    polls = int(hours * 3600 / wait)
    # a successful run: Preflight, HasHyperParameters, CreateTrainingJob, Watch, JobResult (in the branch),
    # Completed?, Done, Succeeded - plus one Wait/Describe/Finished? round per poll
    fixed = 8
    total = fixed + polls * per_poll
    print(f"\nState transitions of a {hours:g}-hour job at the default {wait} s poll interval")
    print(f"  polls {polls}, transitions per poll {per_poll}, fixed {fixed}")
    print(
        f"  total {total} transitions = ${total * 0.025 / 1000:.4f} at $0.025 per 1,000 (standard workflows)"
    )
    print(f"  plus {polls} DescribeTrainingJob calls (no charge) and 2 Lambda invocations")


if __name__ == "__main__":
    preflight_cpu()
    prefix_budget()
    transitions()
