"""Existing evaluators: every problem is its named PreflightError before CreateTrainingJob; the deploy lookup."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from cdk_sagemaker_finetuning.runtime import errors, evaluator_check, preflight
from cdk_sagemaker_finetuning.runtime.hub_evaluator import hub_content_document
from tests import workflow_data as wd
from tests.constructs import sfn_harness as h
from tests.constructs.test_training_workflow import MOTO_CONFIG, definition
from tests.runtime.test_preflight import Aws, _hub_content_response, run

OTHER_LAMBDA = f"arn:aws:lambda:{wd.REGION}:{wd.ACCOUNT}:function:SageMaker-other"


def document(kind: str, reference: str) -> dict:
    return json.loads(hub_content_document(kind, reference))


def start(aws: Aws, technique: str = "RLVR") -> None:
    aws.identity()
    aws.group()
    aws.hub()
    aws.spec(technique=technique)


def rlvr(aws: Aws, **changes):
    return run(aws, config=wd.config("RLVR", **changes))


@pytest.fixture
def aws():
    return Aws()


def test_available_reward_evaluator_with_its_granted_lambda_passes(aws):
    start(aws)
    aws.evaluator()
    aws.data(wd.jsonl(wd.VERL_ROW))
    out = rlvr(aws, rewardLambdaArn=wd.REWARD_LAMBDA_ARN)
    aws.done()
    assert out["request"]["ServerlessJobConfig"]["EvaluatorArn"] == wd.EVALUATOR_ARN


def test_qualified_reference_of_the_granted_function_passes(aws):
    start(aws)
    aws.evaluator(document=document("RewardFunction", f"{wd.REWARD_LAMBDA_ARN}:live"))
    aws.data(wd.jsonl(wd.VERL_ROW))
    rlvr(aws, rewardLambdaArn=wd.REWARD_LAMBDA_ARN)
    aws.done()


def test_missing_evaluator(aws):
    start(aws)
    aws.sm.add_client_error("describe_hub_content", "ResourceNotFound", "Hub content not found")
    with pytest.raises(
        errors.EvaluatorNotFound, match=f"evaluator {wd.EVALUATOR_ARN} does not exist"
    ) as info:
        rlvr(aws)
    assert info.value.error_name == "PreflightError.EvaluatorNotFound"
    assert info.value.field == "reward.evaluator_arn"


@pytest.mark.parametrize("status", ["Importing", "ImportFailed", "PendingDelete"])
def test_evaluator_not_available(aws, status):
    start(aws)
    aws.evaluator(status=status)
    with pytest.raises(errors.EvaluatorNotAvailable, match=f"{wd.EVALUATOR_ARN} is {status}, not Available"):
        rlvr(aws)


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        (document("RewardPrompt", "s3://b/judge.jinja"), "is a RewardPrompt; RLVR needs a RewardFunction"),
        ({"SubType": "AWS/Evaluator", "JsonContent": "not json"}, "has no EvaluatorType and Reference"),
        ({"DatasetType": "CUSTOMER_PROVIDED"}, "has no EvaluatorType and Reference"),
        (document("RewardFunction", "s3://b/reward.py"), "not a Lambda function ARN"),
    ],
    ids=["prompt-for-rlvr", "bad-json-content", "not-an-evaluator", "not-a-lambda"],
)
def test_evaluator_of_the_wrong_type(aws, doc, words):
    start(aws)
    aws.evaluator(document=doc)
    with pytest.raises(errors.EvaluatorWrongType, match=words) as info:
        rlvr(aws)
    assert wd.EVALUATOR_ARN in info.value.message


def test_custom_rlaif_prompt_must_be_a_reward_prompt(aws):
    start(aws, "RLAIF")
    aws.evaluator(arn=wd.PROMPT_EVALUATOR_ARN, document=document("RewardFunction", wd.REWARD_LAMBDA_ARN))
    cfg = wd.config("RLAIF", judgePrompt=None, judgePromptEvaluatorArn=wd.PROMPT_EVALUATOR_ARN)
    with pytest.raises(
        errors.EvaluatorWrongType, match="is a RewardFunction; RLAIF needs a RewardPrompt"
    ) as info:
        run(aws, config=cfg)
    assert info.value.field == "rlaif.prompt" and wd.PROMPT_EVALUATOR_ARN in info.value.message


def test_evaluator_in_another_region_is_rejected_without_a_lookup(aws):
    start(aws)
    arn = wd.EVALUATOR_ARN.replace(":us-east-1:", ":eu-west-1:")
    with pytest.raises(
        errors.EvaluatorWrongRegion, match="is in eu-west-1, the training job runs in us-east-1"
    ):
        rlvr(aws, evaluatorArn=arn)
    aws.done()


def test_evaluator_lambda_in_another_region(aws):
    start(aws)
    aws.evaluator(document=document("RewardFunction", wd.REWARD_LAMBDA_ARN.replace("us-east-1", "us-west-2")))
    with pytest.raises(
        errors.EvaluatorWrongRegion, match=f"evaluator {wd.EVALUATOR_ARN} calls Lambda .* us-west-2"
    ):
        rlvr(aws)


def test_evaluator_lambda_missing(aws):
    start(aws)
    aws.evaluator(lambda_error="ResourceNotFoundException")
    with pytest.raises(errors.EvaluatorLambdaNotFound, match=f"{wd.REWARD_LAMBDA_ARN}, which does not exist"):
        rlvr(aws)
    aws.done()


def test_evaluator_calling_a_lambda_the_role_may_not_invoke(aws):
    start(aws)
    aws.evaluator(document=document("RewardFunction", OTHER_LAMBDA))
    with pytest.raises(errors.EvaluatorLambdaNotGranted, match=f"may invoke only {wd.REWARD_LAMBDA_ARN}"):
        rlvr(aws, rewardLambdaArn=wd.REWARD_LAMBDA_ARN)


def test_get_function_denied_is_an_aws_error_naming_the_call(aws):
    start(aws)
    aws.evaluator(lambda_error="AccessDeniedException")
    with pytest.raises(errors.AwsError, match=f"GetFunction {wd.REWARD_LAMBDA_ARN}"):
        rlvr(aws)


# -- through the synthesized state machine on moto's ASL interpreter ------------------------------------------


class _SageMaker:
    """Answers the preflight's SageMaker reads (the harness routes botocore SageMaker calls elsewhere)."""

    meta = type("Meta", (), {"region_name": wd.REGION})()

    def __init__(self, evaluator: dict | None) -> None:
        self.evaluator = evaluator

    def describe_model_package_group(self, **_):
        return {"ModelPackageGroupArn": wd.GROUP_ARN}

    def list_training_jobs(self, **_):
        return {"TrainingJobSummaries": []}

    def describe_hub_content(self, HubContentType, **_):  # noqa: N803 - boto3 argument names
        if HubContentType == "Model":
            return wd.hub_content()
        if self.evaluator is None:
            raise h.client_error("ResourceNotFound", "Hub content not found")
        return self.evaluator


@pytest.mark.parametrize(
    ("evaluator", "error"),
    [
        (None, "PreflightError.EvaluatorNotFound"),
        (
            _hub_content_response(wd.EVALUATOR_ARN, "JsonDoc", "Importing"),
            "PreflightError.EvaluatorNotAvailable",
        ),
        (
            _hub_content_response(
                wd.EVALUATOR_ARN, "JsonDoc", "Available", document("RewardPrompt", "s3://b/p")
            ),
            "PreflightError.EvaluatorWrongType",
        ),
    ],
    ids=["missing", "importing", "wrong-type"],
)
def test_state_machine_fails_with_the_named_error_and_creates_no_job(monkeypatch, evaluator, error):
    config = wd.config("RLVR")
    monkeypatch.setenv("WORKFLOW_CONFIG", json.dumps(config))
    with mock_aws(config=MOTO_CONFIG):
        s3 = boto3.client("s3", region_name=wd.REGION)
        s3.create_bucket(Bucket=wd.RECIPE_BUCKET)
        s3.put_object(
            Bucket=wd.RECIPE_BUCKET,
            Key=wd.spec_key(wd.LLAMA, "RLVR"),
            Body=json.dumps(wd.override_spec(wd.LLAMA, "RLVR")),
        )
        clients = preflight.Clients(
            sagemaker=_SageMaker(evaluator), s3=s3, sts=boto3.client("sts", region_name=wd.REGION)
        )
        sagemaker = h.FakeSageMaker()
        h.patch_aws(monkeypatch, sagemaker, lambda event: preflight.handler(event, None, clients=clients))
        sfn = boto3.client("stepfunctions", region_name=wd.REGION)
        machine = sfn.create_state_machine(
            name="training", definition=definition()[0], roleArn=f"arn:aws:iam::{wd.ACCOUNT}:role/sfn"
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine, name="run-1", input="{}")["executionArn"]
        result = h.wait_for(sfn, execution)
    assert (result["status"], result["error"]) == ("FAILED", error)
    assert wd.EVALUATOR_ARN in result["cause"]
    assert sagemaker.calls == []  # no CreateTrainingJob (nor anything else) reached SageMaker


# -- deploy-time lookup (custom resource) ----------------------------------------------------------------------


def stubbed_sagemaker(answer: dict | None = None, error: str | None = None):
    client = boto3.client("sagemaker", region_name=wd.REGION)
    stub = Stubber(client)
    params = {
        "HubName": "MYHUB",
        "HubContentType": "JsonDoc",
        "HubContentName": "my-reward",
        "HubContentVersion": "1.0.0",
    }
    if error:
        stub.add_client_error("describe_hub_content", error, "nope", expected_params=params)
    else:
        stub.add_response("describe_hub_content", answer, params)
    stub.activate()
    return client, stub


def test_lookup_resolves_the_unqualified_lambda():
    answer = _hub_content_response(
        wd.EVALUATOR_ARN, "JsonDoc", "Available", document("RewardFunction", f"{wd.REWARD_LAMBDA_ARN}:live")
    )
    client, stub = stubbed_sagemaker(answer)
    data = evaluator_check.lookup({"EvaluatorArn": wd.EVALUATOR_ARN}, client, wd.REGION)
    stub.assert_no_pending_responses()
    assert data == {
        "LambdaArn": wd.REWARD_LAMBDA_ARN,
        "Reference": f"{wd.REWARD_LAMBDA_ARN}:live",
        "EvaluatorType": "RewardFunction",
    }


@pytest.mark.parametrize(
    ("error", "answer", "words"),
    [
        ("ResourceNotFound", None, r"does not exist \(DescribeHubContent\); or set reward.lambda_arn"),
        (
            "AccessDeniedException",
            None,
            "cannot read evaluator .*AccessDeniedException; or set reward.lambda_arn",
        ),
        (
            None,
            _hub_content_response(
                wd.EVALUATOR_ARN, "JsonDoc", "Available", document("RewardPrompt", "s3://b/p")
            ),
            "is a RewardPrompt, not a RewardFunction",
        ),
    ],
    ids=["missing", "denied", "wrong-type"],
)
def test_lookup_fails_the_deployment_with_a_message(error, answer, words):
    client, _ = stubbed_sagemaker(answer, error)
    with pytest.raises(ValueError, match=words):
        evaluator_check.lookup({"EvaluatorArn": wd.EVALUATOR_ARN}, client, wd.REGION)


def test_lookup_in_another_region_fails_before_any_call():
    with pytest.raises(ValueError, match="is in us-east-1, this stack deploys to eu-west-1"):
        evaluator_check.lookup({"EvaluatorArn": wd.EVALUATOR_ARN}, None, "eu-west-1")


def test_on_event_create_and_delete(monkeypatch):
    answer = _hub_content_response(
        wd.EVALUATOR_ARN, "JsonDoc", "Available", document("RewardFunction", wd.REWARD_LAMBDA_ARN)
    )
    client, stub = stubbed_sagemaker(answer)
    monkeypatch.setattr(evaluator_check.boto3, "client", lambda service: client)
    monkeypatch.setenv("AWS_REGION", wd.REGION)
    created = evaluator_check.on_event(
        {"RequestType": "Create", "ResourceProperties": {"EvaluatorArn": wd.EVALUATOR_ARN}}, None
    )
    assert created == {
        "PhysicalResourceId": wd.EVALUATOR_ARN,
        "Data": {
            "LambdaArn": wd.REWARD_LAMBDA_ARN,
            "Reference": wd.REWARD_LAMBDA_ARN,
            "EvaluatorType": "RewardFunction",
        },
    }
    deleted = evaluator_check.on_event(
        {"RequestType": "Delete", "PhysicalResourceId": wd.EVALUATOR_ARN}, None
    )
    assert deleted == {"PhysicalResourceId": wd.EVALUATOR_ARN}
    stub.assert_no_pending_responses()  # Delete made no call: the evaluator is not ours


def test_a_scorer_lookup_it_may_not_read_suggests_the_scorer_s_lambda_field():
    client, _ = stubbed_sagemaker(None, "AccessDeniedException")
    properties = {"EvaluatorArn": wd.EVALUATOR_ARN, "LambdaArnField": "evaluation.custom_scorer.lambda_arn"}
    with pytest.raises(
        ValueError, match="; or set evaluation.custom_scorer.lambda_arn to the evaluator's function"
    ):
        evaluator_check.lookup(properties, client, wd.REGION)
