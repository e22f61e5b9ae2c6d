"""The retraining path executed for real: synthesized rules and workflow, moto's ASL interpreter, real preflight.

An S3 "Object Created" event goes through the synthesized rule's pattern and input transformer (moto's
EventBridge matcher and template parser), starts the synthesized state machine on moto's interpreter, whose
preflight Lambda is the real handler (moto S3 for data and recipe specs, a scripted SageMaker for the rest).
Every test runs with both ways of creating the job (``create_job_with``: aws-sdk task or boto3 Lambda).
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk.assertions import Template
from moto import mock_aws
from moto.events.models import EventPattern
from moto.events.utils import EventTemplateParser

from cdk_sagemaker_finetuning.constructs.create_job import CreateJobWith
from cdk_sagemaker_finetuning.constructs.project import FineTuningProject
from cdk_sagemaker_finetuning.runtime import preflight
from tests import workflow_data as wd
from tests.constructs import sfn_harness as h

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
GROUP_ARN = wd.GROUP_ARN
ROLE_ARN = wd.ROLE_ARN
SPEC = {
    "name": "demo",
    "technique": "sft",
    "base_model": wd.LLAMA,
    "accept_eula": True,
    "data": {"train": "s3://demo-data/train/train.jsonl"},
    "output": {"s3_uri": "s3://demo-out/output/"},
    "retraining": {
        "on_new_data": {"prefix": "incoming/"},
        "schedule": "rate(1 day)",
        "continue_from_latest": True,
        "approved_only": True,
    },
}


def package(version: int, status: str, day: int) -> dict[str, Any]:
    return {
        "arn": f"{GROUP_ARN.replace('model-package-group', 'model-package')}/{version}",
        "status": status,
        "day": day,
    }


class RegistrySageMaker(h.FakeSageMaker):
    """The scripted SageMaker plus the registry and hub calls the real preflight makes."""

    def __init__(self, statuses, packages=()) -> None:
        super().__init__(statuses)
        self.packages = list(packages)

    def DescribeModelPackageGroup(self, params: dict) -> dict:
        return {
            "ModelPackageGroupName": params["ModelPackageGroupName"],
            "ModelPackageGroupArn": GROUP_ARN,
            "CreationTime": "2026-01-01T00:00:00Z",
            "ModelPackageGroupStatus": "Completed",
        }

    def DescribeHubContent(self, params: dict) -> dict:
        return wd.hub_content(params["HubContentName"])

    def ListTrainingJobs(self, params: dict) -> dict:
        running = self.statuses[0] == "InProgress"
        names = [n for n in self.jobs if params.get("NameContains", "") in n] if running else []
        return {
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": name,
                    "TrainingJobArn": self.arn(name),
                    "CreationTime": "2026-01-01T00:00:00Z",
                    "TrainingJobStatus": "InProgress",
                }
                for name in names
            ]
        }

    def ListModelPackages(self, params: dict) -> dict:
        wanted = params.get("ModelApprovalStatus")
        found = sorted(
            (p for p in self.packages if wanted in (None, p["status"])), key=lambda p: p["day"], reverse=True
        )
        summaries = [
            {
                "ModelPackageArn": p["arn"],
                "CreationTime": f"2026-01-{p['day']:02d}T00:00:00Z",
                "ModelPackageStatus": "Completed",
                "ModelApprovalStatus": p["status"],
            }
            for p in found[: params.get("MaxResults", 100)]
        ]
        return {"ModelPackageSummaryList": summaries}

    def DescribeModelPackage(self, params: dict) -> dict:
        return {
            "ModelPackageName": "demo",
            "ModelPackageArn": params["ModelPackageName"],
            "CreationTime": "2026-01-01T00:00:00Z",
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": []},
            "InferenceSpecification": {
                "Containers": [
                    {"Image": "x", "BaseModel": {"HubContentName": wd.LLAMA, "HubContentVersion": "0.9.0"}}
                ]
            },
        }


def resolve(value: Any) -> Any:
    """Resolve synthesized intrinsics to concrete test values (functions, role, group, pseudo parameters)."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(resolve(part) for part in parts)
    if "Ref" in value:
        return {"AWS::Partition": "aws", "AWS::Region": wd.REGION, "AWS::AccountId": wd.ACCOUNT}.get(
            value["Ref"], value["Ref"]
        )
    logical_id, attribute = value["Fn::GetAtt"]
    if attribute == "ModelPackageGroupArn":
        return GROUP_ARN
    if "Role" in logical_id:
        return ROLE_ARN
    return f"arn:aws:lambda:{wd.REGION}:{wd.ACCOUNT}:function:{logical_id}"


@pytest.fixture(scope="module", params=[m.value for m in CreateJobWith])
def synthesized(request) -> dict[str, Any]:
    """The project synthesized with each way of creating the job (both run every test here)."""
    stack = cdk.Stack(cdk.App(), "Platform")
    FineTuningProject(
        stack, "Demo", spec=None, poll_interval=cdk.Duration.seconds(0), create_job_with=request.param, **SPEC
    )
    resources = Template.from_stack(stack).to_json()["Resources"]
    machine = next(r for r in resources.values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    preflight_fn = next(
        r
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Environment", {}).get("Variables", {}).get("WORKFLOW_CONFIG")
    )
    rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    return {
        "definition": resolve(machine["Properties"]["DefinitionString"]),
        "config": resolve(preflight_fn["Properties"]["Environment"]["Variables"]["WORKFLOW_CONFIG"]),
        "new_data": next(r for r in rules if "Object Created" in json.dumps(r.get("EventPattern", {}))),
        "schedule": next(r for r in rules if "ScheduleExpression" in r),
    }


def object_created(bucket: str, key: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "event-1",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": wd.ACCOUNT,
        "time": "2026-11-22T00:00:00Z",
        "ingestion-time": "2026-11-22T00:00:01Z",  # moto's template parser reads it
        "region": wd.REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 120},
            "reason": "PutObject",
        },
    }


def deliver(rule: dict[str, Any], event: dict[str, Any]) -> dict[str, Any] | None:
    """The execution input EventBridge would send for ``event``, or None when the rule does not match."""
    if not EventPattern.load(json.dumps(resolve_pattern(rule["EventPattern"]))).matches_event(event):
        return None
    [target] = rule["Targets"]
    transformer = target["InputTransformer"]
    return EventTemplateParser.parse(
        input_template=transformer["InputTemplate"], input_paths_map=transformer["InputPathsMap"], event=event
    )


def resolve_pattern(pattern: Any) -> Any:
    if isinstance(pattern, dict):
        return {key: resolve_pattern(value) for key, value in pattern.items()}
    if isinstance(pattern, list):
        return [resolve_pattern(value) for value in pattern]
    return pattern


class World:
    """moto S3 with data and recipe specs, the synthesized state machine, the real preflight as its Lambda."""

    def __init__(self, monkeypatch, synthesized, sagemaker: RegistrySageMaker) -> None:
        monkeypatch.setenv("WORKFLOW_CONFIG", synthesized["config"])
        self.sagemaker = sagemaker
        s3 = boto3.client("s3", region_name=wd.REGION)
        for bucket in ("demo-data", wd.RECIPE_BUCKET):
            s3.create_bucket(Bucket=bucket)
        for key in ("train/train.jsonl", "incoming/new.jsonl"):
            s3.put_object(Bucket="demo-data", Key=key, Body=wd.jsonl(wd.SFT_ROW))
        for lora in (True, False):
            body = json.dumps(wd.override_spec(wd.LLAMA, "SFT"))
            s3.put_object(Bucket=wd.RECIPE_BUCKET, Key=wd.spec_key(wd.LLAMA, "SFT", lora), Body=body)
        self.invocations = h.patch_aws(monkeypatch, sagemaker, lambda event: preflight.handler(event, None))
        self.sfn = boto3.client("stepfunctions", region_name=wd.REGION)
        self.machine = self.sfn.create_state_machine(
            name="demo-training",
            definition=synthesized["definition"],
            roleArn=f"arn:aws:iam::{wd.ACCOUNT}:role/sfn",
        )["stateMachineArn"]

    def start(self, execution_input: dict[str, Any], name: str) -> str:
        return self.sfn.start_execution(
            stateMachineArn=self.machine, name=name, input=json.dumps(execution_input)
        )["executionArn"]

    def finish(self, arn: str) -> dict[str, Any]:
        return h.wait_for(self.sfn, arn)

    def created(self) -> dict[str, dict]:
        return {
            name: request
            for op, request in self.sagemaker.calls
            if op == "CreateTrainingJob"
            for name in [request["TrainingJobName"]]
        }


@pytest.fixture
def aws():
    with mock_aws(config=MOTO_CONFIG):
        yield


def test_new_data_starts_the_workflow_with_that_data(aws, monkeypatch, synthesized):
    world = World(monkeypatch, synthesized, RegistrySageMaker(["InProgress", "Completed"]))
    assert deliver(synthesized["new_data"], object_created("demo-data", "elsewhere/x.jsonl")) is None
    assert deliver(synthesized["new_data"], object_created("other-bucket", "incoming/x.jsonl")) is None
    execution_input = deliver(synthesized["new_data"], object_created("demo-data", "incoming/new.jsonl"))
    assert execution_input == {
        "trainUri": "s3://demo-data/incoming/new.jsonl",
        "baseModel": "latest",
        "approvedOnly": True,
    }
    result = world.finish(world.start(execution_input, "new-data-1"))
    assert result["status"] == "SUCCEEDED", result
    [request] = world.created().values()
    assert request["TrainingJobName"] == "demo-new-data-1"
    assert (
        request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
        == "s3://demo-data/incoming/new.jsonl"
    )
    assert "SourceModelPackageArn" not in request["ModelPackageConfig"]  # first round: the hub base model
    assert json.loads(result["output"])["outputModelPackageArn"].endswith("model-package/demo/1")


def test_second_trigger_during_a_run_starts_no_second_job(aws, monkeypatch, synthesized):
    world = World(monkeypatch, synthesized, RegistrySageMaker(["InProgress"]))
    first = world.start(
        deliver(synthesized["new_data"], object_created("demo-data", "incoming/new.jsonl")), "run-1"
    )
    h.wait_for(world.sfn, first, until=lambda: world.sagemaker.count("DescribeTrainingJob") >= 2)
    scheduled = json.loads(synthesized["schedule"]["Targets"][0]["Input"])
    second = world.finish(world.start(scheduled, "run-2"))
    assert second["status"] == "SUCCEEDED", second
    output = json.loads(second["output"])
    assert output["skipped"] is True and "demo-run-1" in output["reason"]
    assert list(world.created()) == ["demo-run-1"]
    world.sagemaker.statuses = ["Completed"]
    assert world.finish(first)["status"] == "SUCCEEDED"


def test_continuous_customization_picks_the_newest_approved_package(aws, monkeypatch, synthesized):
    packages = [package(1, "Approved", 1), package(2, "Approved", 5), package(3, "PendingManualApproval", 9)]
    world = World(monkeypatch, synthesized, RegistrySageMaker(["InProgress", "Completed"], packages))
    scheduled = json.loads(synthesized["schedule"]["Targets"][0]["Input"])
    assert scheduled == {"baseModel": "latest", "approvedOnly": True}
    result = world.finish(world.start(scheduled, "weekly-1"))
    assert result["status"] == "SUCCEEDED", result
    [request] = world.created().values()
    assert request["ModelPackageConfig"]["SourceModelPackageArn"] == packages[1]["arn"]
    assert request["ServerlessJobConfig"]["BaseModelArn"].startswith(f"{wd.PUBLIC_MODEL_ARN}/{wd.LLAMA}/")
    assert (
        request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
        == "s3://demo-data/train/train.jsonl"
    )
