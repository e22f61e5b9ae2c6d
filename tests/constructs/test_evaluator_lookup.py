"""Existing evaluators (``reward.evaluator_arn``): deploy-time lookup, exact invoke grant, preflight grant, nag."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from cdk_sagemaker_finetuning.spec import FineTuningSpec, SpecError
from cdk_sagemaker_finetuning.stack import FineTuningStack
from tests.constructs.helpers import flat, nag_errors, statements_with

MODEL = "meta-textgeneration-llama-3-2-1b-instruct"
ARN = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/team-hub/JsonDoc/mine/2.0.0"
LAMBDA = "arn:aws:lambda:us-east-1:210987654321:function:SageMaker-team-reward"


def spec(tmp_path: Path, **reward) -> FineTuningSpec:
    data = {"name": "demo", "technique": "rlvr", "base_model": MODEL, "accept_eula": True,
            "data": {"train": "s3://demo-data/train.jsonl"}, "reward": reward}
    return FineTuningSpec.from_dict(data, base_dir=tmp_path)


def role_statements(template: Template, stack: cdk.Stack, role, action: str) -> list[dict]:
    role_ref = {"Ref": stack.get_logical_id(role.node.default_child)}
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if role_ref in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    ]


def test_existing_evaluator_is_resolved_and_its_lambda_granted_exactly(tmp_path):
    stack = FineTuningStack(cdk.App(), "Existing", spec=spec(tmp_path, evaluator_arn=ARN))
    template = Template.from_stack(stack)
    [(lookup_id, lookup)] = template.find_resources("Custom::SageMakerEvaluatorLookup").items()
    assert lookup["Properties"]["EvaluatorArn"] == ARN
    assert lookup["Properties"]["EvaluatorType"] == "RewardFunction"
    resolved = {"Fn::GetAtt": [lookup_id, "LambdaArn"]}
    exact = [resolved, {"Fn::Join": ["", [resolved, ":*"]]}]
    [invoke] = role_statements(template, stack, stack.training_role.role, "lambda:InvokeFunction")
    assert invoke["Action"] == "lambda:InvokeFunction" and invoke["Resource"] == exact
    assert [s for s in statements_with(template, "lambda:InvokeFunction") if lookup_id in flat(s)] == [invoke]
    [check] = role_statements(template, stack, stack.workflow.preflight_function.role, "lambda:GetFunction")
    assert check["Action"] == "lambda:GetFunction" and check["Resource"] == exact
    assert [s for s in statements_with(template, "lambda:GetFunction") if lookup_id in flat(s)] == [check]
    # the lookup may only describe that evaluator's versions (the action also needs their hub)
    provider = stack.node.find_child("EvaluatorLookupProvider")
    [describe] = role_statements(template, stack, provider.role, "sagemaker:DescribeHubContent")
    assert describe["Resource"] == [
        "arn:aws:sagemaker:us-east-1:123456789012:hub/team-hub",
        ARN.rsplit("/", 1)[0] + "/*",
    ]
    # the preflight learns which Lambda the role may invoke
    [preflight] = [f for f in template.find_resources("AWS::Lambda::Function").values()
                   if "WORKFLOW_CONFIG" in flat(f["Properties"].get("Environment", {}))]
    config = flat(preflight["Properties"]["Environment"]["Variables"]["WORKFLOW_CONFIG"])
    assert "rewardLambdaArn" in config and f'["{lookup_id}", "LambdaArn"]' in config

def test_lambda_arn_skips_the_lookup_and_grants_that_function(tmp_path):
    stack = FineTuningStack(cdk.App(), "Given", spec=spec(tmp_path, evaluator_arn=ARN, lambda_arn=LAMBDA))
    template = Template.from_stack(stack)
    template.resource_count_is("Custom::SageMakerEvaluatorLookup", 0)
    [invoke] = role_statements(template, stack, stack.training_role.role, "lambda:InvokeFunction")
    assert invoke["Resource"] == [LAMBDA, f"{LAMBDA}:*"]
    [check] = role_statements(template, stack, stack.workflow.preflight_function.role, "lambda:GetFunction")
    assert check["Resource"] == [LAMBDA, f"{LAMBDA}:*"]


def test_two_projects_share_one_lookup_provider(tmp_path):
    from cdk_sagemaker_finetuning.constructs.project import FineTuningProject

    stack = cdk.Stack(cdk.App(), "Platform")
    other = ARN.replace("/mine/", "/theirs/")
    FineTuningProject(stack, "A", spec=spec(tmp_path, evaluator_arn=ARN).model_copy(update={"name": "a"}))
    FineTuningProject(stack, "B", spec=spec(tmp_path, evaluator_arn=other).model_copy(update={"name": "b"}))
    template = Template.from_stack(stack)
    template.resource_count_is("Custom::SageMakerEvaluatorLookup", 2)
    provider = stack.node.find_child("EvaluatorLookupProvider")
    described = flat(role_statements(template, stack, provider.role, "sagemaker:DescribeHubContent"))
    assert "/mine/*" in described and "/theirs/*" in described


@pytest.mark.parametrize("reward", [{"evaluator_arn": ARN}, {"evaluator_arn": ARN, "lambda_arn": LAMBDA}],
                         ids=["lookup", "lambda-arn"])
def test_existing_evaluator_stacks_are_nag_clean(tmp_path, reward):
    app = cdk.App()
    FineTuningStack(app, "Nag", spec=spec(tmp_path, **reward))
    assert nag_errors(app) == []


@pytest.mark.parametrize(("reward", "field", "words"), [
    ({"builtin": "numeric_answer", "lambda_arn": LAMBDA}, "reward.lambda_arn", "only allowed with reward.evaluator_arn"),
    ({"evaluator_arn": ARN, "lambda_arn": f"{LAMBDA}:live"}, "reward.lambda_arn", "an unqualified Lambda function ARN"),
    ({"evaluator_arn": ARN, "lambda_arn": "SageMaker-team-reward"}, "reward.lambda_arn", "(no alias or version)"),
])
def test_lambda_arn_rules(tmp_path, reward, field, words):
    with pytest.raises(SpecError) as info:
        spec(tmp_path, **reward)
    assert any(f == field and words in message for f, message in info.value.problems), info.value.problems


def test_custom_resource_assets_import_like_lambda(tmp_path):
    import os
    import subprocess
    import sys

    app = cdk.App(outdir=str(tmp_path))
    FineTuningStack(app, "Assets", spec=spec(tmp_path, evaluator_arn=ARN))
    app.synth()
    [folder] = [p.parent for p in tmp_path.glob("asset.*/evaluator_check.py") if not (p.parent / "preflight.py").exists()]
    assert sorted(p.name for p in folder.iterdir()) == ["errors.py", "evaluator_check.py"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = "import evaluator_check; print(evaluator_check.on_event({'RequestType': 'Delete'}, None))"
    answer = subprocess.run([sys.executable, "-s", "-c", code], cwd=folder, env=env, capture_output=True,
                            text=True, check=True)
    assert answer.stdout.strip() == "{'PhysicalResourceId': 'none'}"


def test_another_accounts_evaluator_is_described_by_the_preflight_in_that_account(tmp_path):
    shared = "arn:aws:sagemaker:us-east-1:210987654321:hub-content/central/JsonDoc/scorer/3.1.0"
    app = cdk.App()
    stack = FineTuningStack(app, "Shared", spec=spec(tmp_path, evaluator_arn=shared, lambda_arn=LAMBDA))
    template = Template.from_stack(stack)
    [describe] = role_statements(
        template, stack, stack.workflow.preflight_function.role, "sagemaker:DescribeHubContent"
    )
    resources = flat(describe["Resource"])
    assert "arn:aws:sagemaker:us-east-1:210987654321:hub/central" in resources
    assert "arn:aws:sagemaker:us-east-1:210987654321:hub-content/central/JsonDoc/scorer/*" in resources
    assert nag_errors(app) == []
