"""The deploy-risk switch ``create_job_with``: the Lambda step's definition, IAM, nag, and how it is chosen.

Both ways run the whole workflow fault suite on moto (``test_training_workflow.py`` and
``test_retraining_flow.py`` are parametrized over :class:`CreateJobWith`).
"""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from cdk_sagemaker_finetuning.constructs import CreateJobWith, ModelPackageGroup, TrainingWorkflow
from cdk_sagemaker_finetuning.constructs.asl import TRANSIENT_ERRORS
from cdk_sagemaker_finetuning.constructs.create_job import CONTEXT_KEY
from tests import workflow_data as wd
from tests.constructs.helpers import actions_of, iam_statements, nag_errors, resources_of
from tests.constructs.test_training_workflow import build_stack, definition


def test_lambda_step_has_the_same_retry_and_catch_as_the_aws_sdk_task():
    sdk = json.loads(definition(create_job_with="aws-sdk")[0])["States"]
    lam = json.loads(definition(create_job_with="lambda")[0])["States"]
    create = lam["CreateTrainingJob"]
    assert create["Resource"].startswith(f"arn:aws:lambda:{wd.REGION}:{wd.ACCOUNT}:function:")
    assert create["Parameters"] == {"request.$": "$.preflight.request"}  # the request whole
    assert create["ResultPath"] is None
    assert (
        create["Catch"]
        == sdk["CreateTrainingJob"]["Catch"]
        == sdk["CreateTrainingJobWithoutHyperParameters"]["Catch"]
    )
    [sagemaker_retry] = [r for r in create["Retry"] if r["ErrorEquals"] == TRANSIENT_ERRORS]
    assert sagemaker_retry == sdk["CreateTrainingJob"]["Retry"][0]
    assert "HasHyperParameters" not in lam and "CreateTrainingJobWithoutHyperParameters" not in lam
    assert (
        sdk["Preflight"]["Next"] == "HasHyperParameters" and lam["Preflight"]["Next"] == "CreateTrainingJob"
    )


@pytest.fixture(scope="module")
def lambda_stack():
    app, stack, workflow = build_stack(create_job_with=CreateJobWith.LAMBDA)
    return app, Template.from_stack(stack), workflow


def role_statements(template: Template, role) -> list[dict]:
    logical = cdk.Stack.of(role).resolve(role.node.default_child.logical_id)
    return [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": logical} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_create_function_role_gets_the_job_creation_permissions(lambda_stack):
    _, template, workflow = lambda_stack
    by_action = {
        a: s for s in role_statements(template, workflow.create_function.role) for a in actions_of(s)
    }
    assert "training-job/demo*" in json.dumps(resources_of(by_action["sagemaker:CreateTrainingJob"]))
    assert "training-job/demo*" in json.dumps(resources_of(by_action["sagemaker:AddTags"]))
    assert by_action["iam:PassRole"]["Resource"] == wd.ROLE_ARN
    assert by_action["iam:PassRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    assert "sagemaker:DescribeHubContent" in by_action
    machine = {a for s in role_statements(template, workflow.state_machine.role) for a in actions_of(s)}
    assert "iam:PassRole" not in machine and "sagemaker:createTrainingJob" not in machine
    assert "lambda:InvokeFunction" in machine
    template.has_resource_properties(
        "AWS::Lambda::Function", {"Handler": "runtime.create_training_job.handler"}
    )


def test_lambda_way_is_cdk_nag_clean(lambda_stack):
    app, template, _ = lambda_stack
    assert nag_errors(app) == []
    stars = [s for s in iam_statements(template) if "*" in resources_of(s)]
    assert not any("sagemaker:CreateTrainingJob" in actions_of(s) for s in stars)


def test_default_is_aws_sdk_without_a_create_function():
    _, stack, workflow = build_stack()
    assert workflow.create_job_with is CreateJobWith.AWS_SDK and workflow.create_function is None
    handlers = Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    assert "runtime.create_training_job.handler" not in json.dumps(handlers)


def test_app_context_switches_every_workflow():
    app = cdk.App(context={CONTEXT_KEY: "lambda"})
    stack = cdk.Stack(app, "Workflow")
    group = ModelPackageGroup(stack, "Group", model_package_group_name=wd.GROUP_NAME)
    workflow = TrainingWorkflow(
        stack,
        "Training",
        config=wd.config(),
        training_role=iam.Role.from_role_arn(stack, "TrainingRole", wd.ROLE_ARN),
        model_package_group=group,
    )
    assert workflow.create_job_with is CreateJobWith.LAMBDA and workflow.create_function is not None


@pytest.mark.parametrize("value", ["boto3", "", 3])
def test_unknown_choice_names_the_choices(value):
    with pytest.raises(ValueError, match=r"create_job_with .* must be one of aws-sdk, lambda"):
        build_stack(create_job_with=value)
