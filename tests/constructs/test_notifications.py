"""TrainingNotifications: event rules scoped to the project, encrypted topic, failure alarm."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template

from cdk_sagemaker_finetuning.constructs.nag import acknowledge
from cdk_sagemaker_finetuning.constructs.notifications import TrainingNotifications
from tests.constructs.helpers import nag_errors, rule_target_input


def build(app: cdk.App | None = None, **kwargs) -> tuple[cdk.Stack, TrainingNotifications]:
    stack = cdk.Stack(app or cdk.App(), "Stack")
    machine = sfn.StateMachine(
        stack, "Workflow", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P"))
    )
    kwargs.setdefault("state_machine", machine)
    return stack, TrainingNotifications(
        stack, "Notify", job_name_prefix="demo", model_package_group_name="demo-group", **kwargs
    )


def test_training_job_rule_matches_this_projects_terminal_jobs():
    stack, _ = build()
    Template.from_stack(stack).has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Training Job State Change"],
                "detail": {
                    "TrainingJobName": [{"prefix": "demo-"}],
                    "TrainingJobStatus": ["Completed", "Failed", "Stopped"],
                },
            }
        },
    )


def test_model_package_rule_matches_the_group():
    stack, _ = build()
    Template.from_stack(stack).has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "detail-type": ["SageMaker Model Package State Change"],
                "detail": {"ModelPackageGroupName": ["demo-group"]},
            }
        },
    )


def test_topic_encrypted_and_email_subscriptions():
    stack, _ = build(emails=["ml@example.com"])
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ml@example.com"}
    )
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_failure_alarm_counts_failed_timed_out_and_aborted():
    stack, notify = build()
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Threshold": 1,
            "Metrics": Match.array_with(
                [Match.object_like({"Expression": "FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)"})]
            ),
            "AlarmActions": [{"Ref": stack.get_logical_id(notify.topic.node.default_child)}],
        },
    )


def test_no_alarm_without_state_machine():
    stack, notify = build(state_machine=None)
    Template.from_stack(stack).resource_count_is("AWS::CloudWatch::Alarm", 0)
    assert notify.failure_alarm is None


def test_cdk_nag_clean(tmp_path):
    app = cdk.App(outdir=str(tmp_path))
    stack, _ = build(app)
    acknowledge(
        stack.node.find_child("Workflow"),
        {r: "test rig state machine only" for r in ("AwsSolutions-SF1", "AwsSolutions-SF2")},
    )
    assert nag_errors(app) == []


def test_evaluated_runs_are_published_with_their_scores_side_by_side():
    _, plain = build()
    assert plain.evaluation_rule is None
    stack2 = cdk.Stack(cdk.App(), "Stack2")
    machine = sfn.StateMachine(
        stack2, "Workflow", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack2, "P"))
    )
    notify = TrainingNotifications(
        stack2,
        "Notify",
        job_name_prefix="demo",
        model_package_group_name="demo-group",
        evaluated_runs=machine,
    )
    template = Template.from_stack(stack2).to_json()
    rule = template["Resources"][stack2.get_logical_id(notify.evaluation_rule.node.default_child)]
    machine_id = stack2.get_logical_id(machine.node.default_child)
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["SUCCEEDED"], "stateMachineArn": [{"Ref": machine_id}]},
    }
    output = {
        "outputModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/demo/4",
        "evaluation": {
            "decision": "Approved",
            "scores": {"mmlu/accuracy": {"candidate": 0.61, "reference": 0.55, "delta": 0.06}},
        },
    }
    event = {"detail": {"name": "nightly-3", "status": "SUCCEEDED", "output": json.dumps(output)}}
    message = rule_target_input(rule, event, {})
    assert message["execution"] == "nightly-3" and "evaluation of the new model package" in message["message"]
    assert json.loads(message["output"]) == output  # the scores, side by side, intact
    assert rule["Properties"]["Targets"][0]["Arn"] == {
        "Ref": stack2.get_logical_id(notify.topic.node.default_child)
    }
