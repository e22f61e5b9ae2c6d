"""examples/platform_stack.py: three FineTuningProjects in one stack coexist, cdk-nag and cfn-lint clean."""

from __future__ import annotations

import collections
import json

import pytest
from aws_cdk.assertions import Template

from cdk_sagemaker_finetuning.notebook import stack_outputs
from tests.cfn_lint import lint_errors
from tests.constructs.helpers import nag_errors


@pytest.fixture(scope="module")
def platform(platform_app):
    app, stack = platform_app
    return app, stack, Template.from_stack(stack).to_json()


def test_three_projects_without_name_collisions(platform):
    _, stack, template = platform
    resources = template["Resources"].values()
    names = collections.Counter()
    for resource in resources:
        props = resource.get("Properties", {})
        for key in ("ModelPackageGroupName", "FunctionName", "RoleName", "StateMachineName", "BucketName"):
            if isinstance(props.get(key), str):
                names[props[key]] += 1
    assert names and max(names.values()) == 1, names
    groups = [r for r in resources if r["Type"] == "AWS::SageMaker::ModelPackageGroup"]
    assert sorted(g["Properties"]["ModelPackageGroupName"] for g in groups) == [
        "helpful-rlaif",
        "math-rlvr",
        "support-sft",
    ]
    machines = [r for r in resources if r["Type"] == "AWS::StepFunctions::StateMachine"]
    assert len([m for m in machines if 'StartAt\\":\\"Preflight' in json.dumps(m)]) == 3


def test_shared_singletons_exist_once(platform):
    _, _, template = platform
    resources = template["Resources"]
    access_logs = [
        k
        for k in resources
        if k.startswith("FineTuningAccessLogs") and resources[k]["Type"] == "AWS::S3::Bucket"
    ]
    assert len(access_logs) == 1
    evaluators = [
        r for r in resources.values() if r["Type"].startswith("Custom::") and "Evaluator" in json.dumps(r)
    ]
    service_tokens = {json.dumps(r["Properties"]["ServiceToken"]) for r in evaluators}
    assert len(evaluators) == 2 and len(service_tokens) == 1  # one provider registers both evaluators


def test_outputs_per_project_and_the_notebook_finds_them(platform):
    _, stack, template = platform
    outputs = {key: f"value-of-{key}" for key in template["Outputs"]}
    for prefix in ("SupportSft", "MathRlvr", "HelpfulRlaif"):
        assert f"{prefix}StateMachineArn" in outputs
    project = stack.projects[1]
    found = stack_outputs({"FineTuningPlatform": outputs}, project.spec)
    assert found["StateMachineArn"] == "value-of-MathRlvrStateMachineArn"
    assert found["EvaluatorArn"] == "value-of-MathRlvrEvaluatorArn"


def test_cdk_nag_and_cfn_lint_clean(platform):
    app, _, _ = platform
    assert nag_errors(app) == []
    [template] = list(__import__("pathlib").Path(app.outdir).glob("*.template.json"))
    assert lint_errors([template]) == {}


def test_ci_role_may_start_every_project(platform):
    _, stack, template = platform
    role_id = stack.get_logical_id(stack.ci_role.node.default_child)
    statements = [
        s
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    started = [  # cdk.json's @aws-cdk/aws-iam:minimizePolicies may merge the three statements into one
        resource
        for s in statements
        if "states:StartExecution" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    machines = [  # the projects' workflows (not the evaluator provider's waiter)
        logical
        for logical, resource in template["Resources"].items()
        if resource["Type"] == "AWS::StepFunctions::StateMachine" and "TrainingWorkflow" in logical
    ]
    assert len(machines) == 3
    assert sorted(started, key=str) == sorted(({"Ref": m} for m in machines), key=str)
