"""The evaluation step's synthesized pieces: the state machine without an evaluation block unchanged, the
timeout and poll interval, the evaluation Lambda's least-privilege role, cdk-nag (also in a platform)."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk.assertions import Template

from cdk_sagemaker_finetuning.constructs.asl import LAMBDA_RETRY, transient_retry
from cdk_sagemaker_finetuning.constructs.evaluation_function import evaluation_seconds
from cdk_sagemaker_finetuning.constructs.workflow_definition import workflow_states
from tests import workflow_data as wd
from tests.constructs import sfn_harness as h
from tests.constructs import test_training_workflow as tw
from tests.constructs.evaluation_harness import evaluation_config
from tests.constructs.helpers import actions_of, flat, nag_errors, resources_of
from tests.runtime import evaluation_aws as ea


def test_without_an_evaluation_block_the_state_machine_is_unchanged():
    args = dict(
        partition="aws",
        preflight_arn="arn:p",
        poll_seconds=60,
        retry_seconds=5,
        create_job_with=tw.CreateJobWith.AWS_SDK,
        create_arn=None,
        end={"End": True},
    )
    plain = workflow_states(config=wd.config(), **args)
    assert workflow_states(config={**wd.config(), "evaluation": None}, **args) == plain
    assert "Evaluate" not in plain["States"] and plain["States"]["SetApprovalStatus"]["Next"] == "Done"
    evaluated = workflow_states(config=evaluation_config(), evaluation_arn="arn:e", **args)
    assert evaluated["States"]["SetApprovalStatus"]["Next"] == "Evaluate"
    assert {
        k: v for k, v in evaluated["States"].items() if k in plain["States"] and k != "SetApprovalStatus"
    } == {k: v for k, v in plain["States"].items() if k != "SetApprovalStatus"}
    _, template = tw.definition(0)
    assert not [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "evaluation_step" in r["Properties"]["Handler"]
    ]


def test_timeout_and_poll_interval_cover_the_evaluation_within_the_history_limit():
    config = evaluation_config()
    assert evaluation_seconds(config) == 2 * 86400  # one benchmark round, plus the base model's with a gate
    assert (
        evaluation_seconds({**config, "evaluation": {**config["evaluation"], "judge": {"modelId": "x"}}})
        == 4 * 86400
    )
    _, stack, workflow = tw.build_stack(config=config)
    machine = Template.from_stack(stack).find_resources("AWS::StepFunctions::StateMachine")
    body = next(iter(machine.values()))["Properties"]["DefinitionString"]
    asl = json.loads(h.resolve(body, {}))
    assert asl["TimeoutSeconds"] == 86400 + 2 * 86400 + 7200
    wait = asl["States"]["Evaluate"]["Branches"][0]["States"]["WaitForEvaluation"]["Seconds"]
    assert wait == asl["States"]["Watch"]["Branches"][0]["States"]["Wait"]["Seconds"] == 97
    assert asl["TimeoutSeconds"] / wait * 9 < 25_000 - 100


def role_statements(template: Template, role: str) -> list[dict]:
    """The statements of the policies attached to the role with logical id ``role``."""
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_evaluation_role_is_least_privilege_and_nag_clean():
    app, stack, workflow = tw.build_stack(config=evaluation_config())
    template = Template.from_stack(stack)
    statements = role_statements(
        template, stack.get_logical_id(workflow.evaluation_function.role.node.default_child)
    )
    actions = {a for s in statements for a in actions_of(s)}
    assert {
        "sagemaker:CreateTrainingJob",
        "sagemaker:AddTags",
        "iam:PassRole",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopTrainingJob",
        "sagemaker:ListTrainingJobs",
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
        "sagemaker:UpdateModelPackage",
        "sagemaker:DescribeHubContent",
        "s3:GetObject",
        "s3:ListBucket",
    } <= actions
    assert not [a for a in actions if a.startswith("bedrock:")]
    for statement in statements:
        if "iam:PassRole" in actions_of(statement):
            assert statement["Condition"] == {
                "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
            }
            assert statement["Resource"] == wd.ROLE_ARN
        if "*" in resources_of(statement):
            assert actions_of(statement) == ["sagemaker:ListTrainingJobs"]
        if "sagemaker:CreateTrainingJob" in actions_of(statement):
            assert flat(statement["Resource"]).endswith(':training-job/demo*"]]}')
    assert {"arn:aws:s3:::demo-output/out/*", "arn:aws:s3:::demo-output"} <= {
        flat(r)
        .replace('{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::', "arn:aws:s3:::")
        .strip('"]}')
        for s in statements
        for r in resources_of(s)
    }
    machine = stack.get_logical_id(workflow.state_machine.role.node.default_child)
    invoked = [s for s in role_statements(template, machine) if "lambda:InvokeFunction" in actions_of(s)]
    function = stack.get_logical_id(workflow.evaluation_function.node.default_child)
    assert any(function in flat(s["Resource"]) for s in invoked)
    assert nag_errors(app) == []


def test_a_platform_project_with_an_evaluation_gate_is_nag_clean():
    from cdk_sagemaker_finetuning.constructs.platform import FineTuningPlatform

    app = cdk.App()
    platform = FineTuningPlatform(cdk.Stack(app, "P"), "Platform", notification_emails=["ml@example.com"])
    gated = platform.add_project(
        name="gated",
        technique="sft",
        base_model=wd.LLAMA,
        accept_eula=True,
        data={"train": "s3://demo-data/train.jsonl"},
        evaluation={
            "dataset": "s3://demo-data/eval.jsonl",
            "benchmarks": ["mmlu"],
            "judge": {"model_id": ea.JUDGE_ID, "metrics": ["Correctness"]},
            "gate": {"metric": "mmlu/accuracy"},
        },
        notifications={"emails": ["ml@example.com"]},
    )
    assert gated.workflow.evaluation_function is not None and gated.notifications.evaluation_rule is not None
    assert nag_errors(app) == []


def test_every_evaluation_task_retries_like_the_training_tasks():
    states = workflow_states(
        config=evaluation_config(),
        partition="aws",
        preflight_arn="arn:p",
        poll_seconds=60,
        retry_seconds=5,
        create_job_with=tw.CreateJobWith.AWS_SDK,
        create_arn=None,
        end={"End": True},
        evaluation_arn="arn:e",
    )["States"]
    branch = states["Evaluate"]["Branches"][0]["States"]
    tasks = {
        n: s for n, s in {**branch, **states}.items() if s["Type"] == "Task" and s["Resource"] == "arn:e"
    }
    assert sorted(tasks) == [
        "EvaluateReference",
        "Gate",
        "PollEvaluation",
        "StartEvaluation",
        "StopEvaluation",
    ]
    for task in tasks.values():
        assert task["Retry"] == [LAMBDA_RETRY, transient_retry(5)]
    assert states["SetApprovalStatus"]["Retry"] == [transient_retry(5)]
