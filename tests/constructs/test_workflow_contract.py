"""The workflow's typed contract (``runtime/workflow_contract.py``): the Lambda's answers and the state paths agree,
and a configuration with an unknown, missing or mistyped key fails at synth (and in the Lambda), naming the key."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template
from moto import mock_aws

from cdk_sagemaker_finetuning.constructs.errors import ConstructValidationError
from cdk_sagemaker_finetuning.constructs.training_workflow import PreflightFunction, TrainingWorkflowFragment
from cdk_sagemaker_finetuning.runtime import errors, preflight, workflow_contract
from cdk_sagemaker_finetuning.runtime.workflow_contract import (
    OUTPUT_FIELDS,
    REQUIRED_REQUEST_KEYS,
    JobResult,
    PreflightResult,
    TrainingJobRequest,
    WorkflowConfig,
    WorkflowOutput,
)
from cdk_sagemaker_finetuning.spec import FineTuningSpec
from cdk_sagemaker_finetuning.workflow_config import runtime_config
from tests import workflow_data as wd
from tests.constructs import sfn_harness as h
from tests.constructs.test_training_workflow import MOTO_CONFIG, Lambda, build_stack, definition
from tests.runtime.test_preflight import Aws

JOB = {
    "TrainingJobName": "demo-abc",
    "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:{wd.ACCOUNT}:training-job/demo-abc",
    "ModelArtifacts": {"S3ModelArtifacts": "s3://x"},
    "AlgorithmSpecification": {"TrainingInputMode": "File"},
    "ResourceConfig": {"VolumeSizeInGB": 1},
    "StoppingCondition": {},
    "CreationTime": "2026-01-01T00:00:00Z",
    "TrainingJobStatus": "Completed",
    "SecondaryStatus": "Completed",
}


def test_the_preflight_answers_with_exactly_the_contract_fields(monkeypatch):
    monkeypatch.setenv("WORKFLOW_CONFIG", json.dumps(wd.config()))
    aws = Aws()
    aws.happy()
    out = preflight.handler({"executionName": "abc", "input": None}, None, aws.clients)
    # without lineage there is no ``dataset``: exactly the required fields
    assert set(out) == set(PreflightResult.__required_keys__)
    assert set(PreflightResult.__annotations__) - set(out) == {"dataset"}
    request = out["request"]
    assert set(REQUIRED_REQUEST_KEYS) <= set(request) <= set(TrainingJobRequest.__annotations__)
    out = preflight.handler({"action": "result", "trainingJobName": "demo-abc"}, None, _described(aws))
    assert set(out) == set(JobResult.__annotations__)
    assert set(OUTPUT_FIELDS) == set(WorkflowOutput.__annotations__) < set(out)


def _described(aws: Aws) -> preflight.Clients:
    aws.sm.add_response("describe_training_job", JOB)
    return aws.clients


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("mode", ["aws-sdk", "lambda"])
def test_every_state_path_names_a_field_of_the_contract(mode):
    asl = json.loads(definition(create_job_with=mode)[0])
    paths = [s for s in _strings(asl) if s.startswith(("$.preflight.", "$.watch.result."))]
    assert len(paths) >= 10, paths  # the preflight's request and job name, the job's result
    for path in paths:
        if path.startswith("$.preflight."):
            field, *member = path.removeprefix("$.preflight.").split(".")
            assert field in PreflightResult.__annotations__, path
            if member:
                assert field == "request" and member[0] in TrainingJobRequest.__annotations__, path
        else:
            assert path.removeprefix("$.watch.result.") in JobResult.__annotations__, path
    selector = asl["States"]["Preflight"]["ResultSelector"]
    assert all(v.removeprefix("$.Payload.") in PreflightResult.__annotations__ for v in selector.values())
    done = asl["States"]["Done"]["Parameters"]
    assert [k.removesuffix(".$") for k in done] == list(OUTPUT_FIELDS)


def test_a_field_renamed_in_the_contract_fails_when_the_definition_is_built(monkeypatch):
    monkeypatch.delitem(JobResult.__annotations__, "failureReason")
    with pytest.raises(KeyError, match="JobResult has no field 'failureReason'"):
        build_stack()


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({**wd.config(), "bogus": 1}, "config has an unknown key bogus"),
        ({k: v for k, v in wd.config().items() if k != "approvalStatus"}, "config lacks approvalStatus"),
        (wd.config(maxRuntimeSeconds="1 day"), "config maxRuntimeSeconds is '1 day'; it must be an integer"),
        (wd.config(checkData="yes"), "config checkData is 'yes'; it must be true or false"),
        (wd.config(mlflow={"resourceArn": "arn:x"}), "config lacks mlflow.experimentName, mlflow.runName"),
    ],
)
def test_a_bad_config_fails_at_synth_naming_the_key(config, words):
    with pytest.raises(ConstructValidationError, match=words) as raised:
        build_stack(config=config)
    assert str(raised.value).startswith("Workflow/Training: ")  # the construct path


def test_deploy_time_values_are_accepted_without_a_type_check():
    role = cdk.Fn.import_value("TrainingRoleArn")
    _, _, workflow = build_stack(config=wd.config(roleArn=role, evaluatorArn=role, maxRuntimeSeconds=3600))
    assert workflow.settings.config["roleArn"] == role and workflow.settings.max_runtime_seconds == 3600


def test_the_lambda_rejects_a_config_with_an_unknown_key():
    with pytest.raises(errors.InvalidInput, match="WORKFLOW_CONFIG has an unknown key bogus") as raised:
        preflight.load_config(json.dumps({**wd.config(), "bogus": 1}))
    assert raised.value.field == "config.bogus"
    assert preflight.load_config(json.dumps(wd.config())) == wd.config()


def test_the_lambda_reads_the_config_as_cdk_writes_it_without_its_nulls():
    """CDK drops ``null`` values when it serializes the environment; the Lambda reads them as null again."""
    config = wd.config(
        mlflow={"resourceArn": "arn:aws:sagemaker:us-east-1:1:mlflow-app/a", "experimentName": "e"}
    )
    written = {k: v for k, v in config.items() if v is not None}
    assert "validationUri" not in written and "runName" not in written["mlflow"]
    loaded = preflight.load_config(json.dumps(written))
    assert loaded == {**config, "mlflow": {**config["mlflow"], "runName": None}}
    with pytest.raises(errors.InvalidInput, match="WORKFLOW_CONFIG lacks approvalStatus") as raised:
        preflight.load_config(json.dumps({k: v for k, v in written.items() if k != "approvalStatus"}))
    assert raised.value.field == "config.approvalStatus"


def test_the_synthesized_environment_holds_a_config_the_lambda_reads():
    _, stack, workflow = build_stack()
    [function] = [
        r
        for r in Template.from_stack(stack).to_json()["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "WORKFLOW_CONFIG" in json.dumps(r)
    ]
    text = h.resolve(function["Properties"]["Environment"]["Variables"]["WORKFLOW_CONFIG"], {})
    assert preflight.load_config(text)["jobNamePrefix"] == workflow.settings.job_name_prefix


def test_runtime_config_makes_a_config_of_the_type():
    spec = FineTuningSpec.from_dict(
        {
            "name": "demo",
            "technique": "sft",
            "base_model": wd.LLAMA,
            "accept_eula": True,
            "data": {"train": "s3://demo-data/train.jsonl"},
        }
    )
    config = runtime_config(
        spec, role_arn=wd.ROLE_ARN, model_package_group_arn=wd.GROUP_ARN, output_uri="s3://o/"
    )
    assert workflow_contract.check_config(config) == config
    assert set(config) == WorkflowConfig.__required_keys__


def test_a_composed_fragment_puts_the_output_at_result_path(monkeypatch):
    _, stack, workflow = build_stack(poll_interval=cdk.Duration.seconds(0))
    before = sfn.Pass(
        stack, "Before", parameters={"hyperparameters": {"max_epochs": 3}}
    )  # the workflow's input
    fragment = TrainingWorkflowFragment(
        stack,
        "Composed",
        config=workflow.settings,
        preflight_function=workflow.preflight_function,
        training_role=workflow._fragment_props["training_role"],
        model_package_group=workflow._fragment_props["model_package_group"],
        poll_interval=cdk.Duration.seconds(0),
        result_path="$.training",
    )
    assert isinstance(workflow.preflight_function, PreflightFunction)
    machine = sfn.StateMachine(
        stack, "Mine", definition_body=sfn.DefinitionBody.from_chainable(before.next(fragment))
    )
    resources = Template.from_stack(stack).to_json()["Resources"]
    asl = h.resolve(
        resources[stack.get_logical_id(machine.node.default_child)]["Properties"]["DefinitionString"], {}
    )
    sagemaker = h.FakeSageMaker(["InProgress", "Completed"])
    with mock_aws(config=MOTO_CONFIG):
        h.patch_aws(monkeypatch, sagemaker, Lambda())
        client = boto3.client("stepfunctions", region_name=wd.REGION)
        arn = client.create_state_machine(
            name="mine", definition=asl, roleArn=f"arn:aws:iam::{wd.ACCOUNT}:role/sfn"
        )["stateMachineArn"]
        execution = client.start_execution(stateMachineArn=arn, name="run-1", input="{}")["executionArn"]
        result = h.wait_for(client, execution)
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["hyperparameters"] == {"max_epochs": 3} and set(output) == {"hyperparameters", "training"}
    assert set(output["training"]) == set(OUTPUT_FIELDS) and output["training"]["status"] == "Completed"


def test_result_path_must_be_a_path():
    _, stack, workflow = build_stack()
    with pytest.raises(ConstructValidationError, match="result_path 'training' must be a JSONPath"):
        TrainingWorkflowFragment(stack, "Bad", **workflow._fragment_props, result_path="training")
