"""Lineage (``data.register_dataset``) in the workflow: moto's ASL interpreter runs the synthesized state machine
with the real result code; the preflight's grants, cdk-nag, and the definition of workflows without lineage."""

from __future__ import annotations

import json
from functools import cache

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from moto import mock_aws

from cdk_sagemaker_finetuning.constructs.workflow_definition import DATASET_IMPORTING_RETRY
from cdk_sagemaker_finetuning.runtime import errors, preflight
from cdk_sagemaker_finetuning.runtime.hub_evaluator import ai_registry_hub_name
from tests import workflow_data as wd
from tests.constructs import sfn_harness as h
from tests.constructs.helpers import actions_of, nag_errors, resources_of
from tests.constructs.test_training_workflow import MOTO_CONFIG, build_stack, planned

LINEAGE = {"registerDataset": {"name": "demo-train", "hubName": None}}
DATASET_ARN = f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:hub-content/AIR/DataSet/demo-train/3.0.0"
PACKAGE_ARN = f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:model-package/demo/1"


@cache
def definition(lineage: bool = True) -> str:
    config = wd.config(**(LINEAGE if lineage else {}))
    _, stack, _ = build_stack(
        config=config, poll_interval=cdk.Duration.seconds(0), retry_interval=cdk.Duration.seconds(1)
    )
    machine = next(
        r
        for r in Template.from_stack(stack).to_json()["Resources"].values()
        if r["Type"] == "AWS::StepFunctions::StateMachine"
    )
    return h.resolve(machine["Properties"]["DefinitionString"], {})


class SageMaker(h.FakeSageMaker):
    """A finished job describes what it was created with (channels, base model, group), as SageMaker does."""

    def DescribeTrainingJob(self, params: dict) -> dict:
        answer = super().DescribeTrainingJob(params)
        created = self.jobs[params["TrainingJobName"]]
        keys = ("InputDataConfig", "ServerlessJobConfig", "ModelPackageConfig")
        return {**answer, **{k: created[k] for k in keys}}


class Lambda:
    """The preflight function: ``importing`` answers raise DatasetImporting first, then the planned request
    trains from the dataset ARN; results run the real ``job_result`` with the lineage configuration."""

    def __init__(self, importing: int = 0, error: Exception | None = None) -> None:
        self.importing, self.error, self.preflights = importing, error, 0

    def __call__(self, event: dict):
        if event.get("action") == "result":
            clients = preflight.Clients(sagemaker=boto3.client("sagemaker", region_name=wd.REGION))
            return preflight.job_result(clients, event["trainingJobName"], wd.config(**LINEAGE))
        self.preflights += 1
        if self.error:
            raise self.error
        if self.preflights <= self.importing:
            raise errors.DatasetImporting("dataset 'demo-train' version 3.0.0 is still Importing after 15 s")
        out = planned(event)
        out["request"]["InputDataConfig"][0]["DataSource"] = {"DatasetSource": {"DatasetArn": DATASET_ARN}}
        return out


def run(monkeypatch, sagemaker, lam, lineage: bool = True) -> dict:
    h.patch_aws(monkeypatch, sagemaker, lam)
    sfn = boto3.client("stepfunctions", region_name=wd.REGION)
    arn = sfn.create_state_machine(
        name="training", definition=definition(lineage), roleArn=f"arn:aws:iam::{wd.ACCOUNT}:role/sfn"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="run-1", input="{}")["executionArn"]
    return h.wait_for(sfn, execution)


@pytest.fixture
def moto():
    with mock_aws(config=MOTO_CONFIG):
        yield


def test_a_dataset_still_importing_is_retried_then_trained_from_and_recorded(moto, monkeypatch):
    sagemaker, lam = SageMaker(["InProgress", "Completed"]), Lambda(importing=2)
    result = run(monkeypatch, sagemaker, lam)
    assert result["status"] == "SUCCEEDED", result
    assert lam.preflights == 3
    sent = sagemaker.jobs["demo-run-1"]
    assert sent["InputDataConfig"][0] == {
        "ChannelName": "train",
        "DataSource": {"DatasetSource": {"DatasetArn": DATASET_ARN}},
    }
    updates = [p for op, p in sagemaker.calls if op == "UpdateModelPackage"]
    assert updates == [  # lineage first (the result), then the approval status
        {
            "ModelPackageArn": PACKAGE_ARN,
            "CustomerMetadataProperties": {
                "lineage:train-data": DATASET_ARN,
                "lineage:base-model": sent["ServerlessJobConfig"]["BaseModelArn"],
                "lineage:training-job": h.FakeSageMaker.arn("demo-run-1"),
            },
        },
        {"ModelPackageArn": PACKAGE_ARN, "ModelApprovalStatus": "PendingManualApproval"},
    ]


def test_a_failed_import_fails_the_run_before_any_job(moto, monkeypatch):
    error = errors.DatasetImportFailed("importing dataset 'demo-train' failed: access denied")
    sagemaker, lam = SageMaker(), Lambda(error=error)
    result = run(monkeypatch, sagemaker, lam)
    assert (result["status"], result["error"]) == ("FAILED", "PreflightError.DatasetImportFailed")
    assert "access denied" in result["cause"]
    assert lam.preflights == 1 and sagemaker.calls == []


def test_importing_for_too_long_gives_up_after_the_retries(moto, monkeypatch):
    sagemaker, lam = SageMaker(), Lambda(importing=100)
    result = run(monkeypatch, sagemaker, lam)
    assert (result["status"], result["error"]) == ("FAILED", "PreflightError.DatasetImporting")
    assert lam.preflights == 1 + DATASET_IMPORTING_RETRY["MaxAttempts"]
    assert sagemaker.calls == []


def test_without_lineage_the_preflight_has_no_dataset_retry():
    retries = json.loads(definition(lineage=False))["States"]["Preflight"]["Retry"]
    assert all("PreflightError.DatasetImporting" not in r["ErrorEquals"] for r in retries)
    assert DATASET_IMPORTING_RETRY in json.loads(definition())["States"]["Preflight"]["Retry"]


def _preflight_statements(template: Template) -> list[dict]:
    """The statements of the preflight function's role."""
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if "Preflight" in json.dumps(policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_preflight_may_register_only_this_dataset_in_the_accounts_ai_registry_hub():
    from cdk_sagemaker_finetuning.constructs.model_package_group import ModelPackageGroup
    from cdk_sagemaker_finetuning.constructs.training_workflow import TrainingWorkflow

    app = cdk.App()
    stack = cdk.Stack(app, "Workflow", env=cdk.Environment(account=wd.ACCOUNT, region="us-west-2"))
    group = ModelPackageGroup(stack, "Group", model_package_group_name=wd.GROUP_NAME)
    TrainingWorkflow(
        stack,
        "Training",
        config=wd.config(modelPackageGroupArn=group.model_package_group_arn, **LINEAGE),
        training_role=iam.Role.from_role_arn(stack, "TrainingRole", wd.ROLE_ARN),
        model_package_group=group,
    )
    template = Template.from_stack(stack)
    statements = _preflight_statements(template)
    granted = {
        json.dumps(actions_of(s)): [h.resolve(r, {}) for r in resources_of(s)]
        for s in statements
        if s["Effect"] == "Allow"
    }
    hub = ai_registry_hub_name("us-west-2", wd.ACCOUNT)
    here = f"arn:aws:sagemaker:us-west-2:{wd.ACCOUNT}"
    assert granted['["sagemaker:ImportHubContent", "sagemaker:DescribeHubContent"]'] == [
        f"{here}:hub/{hub}",
        f"{here}:hub-content/{hub}/DataSet/demo-train",
        f"{here}:hub-content/{hub}/DataSet/demo-train/*",
    ]
    assert granted['["sagemaker:DescribeHub", "sagemaker:CreateHub"]'] == [f"{here}:hub/{hub}"]
    assert granted['["sagemaker:UpdateModelPackage"]'] == [f"{here}:model-package/demo/*"]
    [pass_role] = [s for s in statements if actions_of(s) == ["iam:PassRole"]]
    assert pass_role["Resource"] == wd.ROLE_ARN
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert nag_errors(app) == []


def test_without_lineage_the_preflight_gets_no_registry_grant():
    _, stack, _ = build_stack()
    actions = {a for s in _preflight_statements(Template.from_stack(stack)) for a in actions_of(s)}
    assert not actions & {"sagemaker:ImportHubContent", "sagemaker:CreateHub", "sagemaker:UpdateModelPackage"}
    assert "iam:PassRole" not in actions
