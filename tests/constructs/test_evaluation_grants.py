"""What the evaluation step needs beyond the training path: the custom scorer's existing evaluator (invoke and
read granted to the training role, as for ``reward.evaluator_arn``) and a registry dataset's describe grant."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from cdk_sagemaker_finetuning.spec import FineTuningSpec, SpecError
from cdk_sagemaker_finetuning.stack import FineTuningStack
from tests import workflow_data as wd
from tests.constructs.helpers import actions_of, flat, nag_errors, resources_of
from tests.iam_audit import audit, grants

SCORER = "arn:aws:sagemaker:us-east-1:210987654321:hub-content/central/JsonDoc/scorer/1.2.0"
SCORER_LAMBDA = "arn:aws:lambda:us-east-1:210987654321:function:central-scorer"
REWARD = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/team/JsonDoc/r/2.0.0"
DATASET = "arn:aws:sagemaker:us-east-1:210987654321:hub-content/AIRegistry/DataSet/evalset/1.0.0"


def spec(scorer: dict, dataset: str = "s3://demo-data/eval.jsonl", **changes) -> FineTuningSpec:
    return FineTuningSpec.from_dict(
        {
            "name": "demo",
            "technique": "sft",
            "base_model": wd.LLAMA,
            "accept_eula": True,
            "data": {"train": "s3://demo-data/train.jsonl"},
            "evaluation": {"dataset": dataset, "custom_scorer": scorer},
            **changes,
        }
    )


def synth(the_spec: FineTuningSpec) -> tuple[cdk.App, FineTuningStack, Template]:
    app = cdk.App()
    stack = FineTuningStack(app, "Scored", spec=the_spec)
    return app, stack, Template.from_stack(stack)


def role_statements(template: Template, stack: cdk.Stack, role) -> list[dict]:
    logical = stack.get_logical_id(role.node.default_child)
    return [
        s
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": logical} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def granted(statements: list[dict], action: str) -> list[str]:
    return [flat(r) for s in statements if action in actions_of(s) for r in resources_of(s)]


def test_an_existing_scorer_of_another_account_is_looked_up_and_its_lambda_granted_to_the_training_role():
    app, stack, template = synth(spec({"evaluator_arn": SCORER}))
    [lookup] = template.find_resources("Custom::SageMakerEvaluatorLookup").items()
    assert lookup[1]["Properties"]["EvaluatorArn"] == SCORER
    assert lookup[1]["Properties"]["LambdaArnField"] == "evaluation.custom_scorer.lambda_arn"
    training = role_statements(template, stack, stack.project.training_role.role)
    invoke = granted(training, "lambda:InvokeFunction")
    attribute = flat({"Fn::GetAtt": [lookup[0], "LambdaArn"]})
    assert invoke[0] == attribute and invoke[1].startswith('{"Fn::Join": ["", [' + attribute)
    assert len(invoke) == 2  # the function and its qualified versions/aliases, nothing else
    assert set(granted(training, "sagemaker:DescribeHubContent")) >= {
        '"arn:aws:sagemaker:us-east-1:210987654321:hub/central"',
        '"arn:aws:sagemaker:us-east-1:210987654321:hub-content/central/JsonDoc/scorer/*"',
    }
    evaluation = role_statements(template, stack, stack.project.workflow.evaluation_function.role)
    assert not granted(evaluation, "lambda:InvokeFunction")  # the job calls it, as the training role
    assert nag_errors(app) == []
    assert audit(list(grants("Scored", template.to_json()))) == []


def test_a_scorer_lambda_given_in_the_spec_is_granted_without_a_lookup():
    _, stack, template = synth(spec({"evaluator_arn": SCORER, "lambda_arn": SCORER_LAMBDA}))
    template.resource_count_is("Custom::SageMakerEvaluatorLookup", 0)
    training = role_statements(template, stack, stack.project.training_role.role)
    assert granted(training, "lambda:InvokeFunction") == [f'"{SCORER_LAMBDA}"', f'"{SCORER_LAMBDA}:*"']


def test_the_reward_evaluator_as_scorer_is_looked_up_once():
    the_spec = spec(
        {"evaluator_arn": REWARD},
        technique="rlvr",
        base_model="huggingface-reasoning-qwen3-1-7b",
        accept_eula=False,
        reward={"evaluator_arn": REWARD},
    )
    _, stack, template = synth(the_spec)
    template.resource_count_is("Custom::SageMakerEvaluatorLookup", 1)
    rewards = stack.project.rewards
    assert rewards.scorer_lambda_arn is rewards.reward_lambda_arn and rewards.scorer_lookup is None


@pytest.mark.parametrize(
    ("scorer", "message"),
    [
        (
            {"builtin": "prime_math", "lambda_arn": SCORER_LAMBDA},
            "is only allowed with evaluation.custom_scorer",
        ),
        ({"evaluator_arn": SCORER, "lambda_arn": f"{SCORER_LAMBDA}:live"}, "unqualified Lambda function ARN"),
    ],
)
def test_scorer_lambda_arn_rules(scorer, message):
    with pytest.raises(SpecError) as caught:
        spec(scorer)
    assert "evaluation.custom_scorer.lambda_arn" in str(caught.value) and message in str(caught.value)


def test_a_registry_dataset_is_described_by_the_evaluation_lambda_in_its_own_account():
    app, stack, template = synth(spec({"builtin": "prime_math"}, dataset=DATASET))
    evaluation = role_statements(template, stack, stack.project.workflow.evaluation_function.role)
    described = [
        s
        for s in evaluation
        if s["Resource"]
        == [DATASET.split(":hub-content/")[0] + ":hub/AIRegistry", DATASET.rsplit("/", 1)[0] + "/*"]
    ]
    assert [actions_of(s) for s in described] == [["sagemaker:DescribeHubContent"]]
    reads = granted(evaluation, "s3:GetObject")
    assert not [r for r in reads if "demo-data" in r]  # its S3 location is known at run time only
    assert nag_errors(app) == []
    assert audit(list(grants("Scored", template.to_json()))) == []
