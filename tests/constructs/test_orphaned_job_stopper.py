"""The orphaned-job stopper never drops a job: rule retry policy, encrypted dead-letter queue, alarm, and the
EventBridge -> Lambda (asynchronous) retry contract replayed on moto with the synthesized settings."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Annotations, Match, Template
from moto import mock_aws

from cdk_sagemaker_finetuning.constructs.orphaned_job_stopper import WORKFLOWS_PER_RULE, OrphanedJobStopper
from cdk_sagemaker_finetuning.constructs.project import FineTuningProject
from cdk_sagemaker_finetuning.runtime import retry, stop_orphaned_job
from tests import workflow_data as wd
from tests.constructs import sfn_harness as h
from tests.constructs.helpers import rule_target_input
from tests.constructs.test_training_workflow import build_stack

EXECUTION = f"arn:aws:states:{wd.REGION}:{wd.ACCOUNT}:execution:training:run-1"
MACHINE = f"arn:aws:states:{wd.REGION}:{wd.ACCOUNT}:stateMachine:training"


@pytest.fixture(scope="module")
def synthesized() -> tuple[dict, Any]:
    _, stack, workflow = build_stack()
    return Template.from_stack(stack).to_json(), workflow


def of_type(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def queue_id(template: dict) -> str:
    [logical] = of_type(template, "AWS::SQS::Queue")
    return logical


def test_rule_target_retries_then_dead_letters(synthesized):
    template, _ = synthesized
    [rule] = of_type(template, "AWS::Events::Rule").values()
    [target] = rule["Properties"]["Targets"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id(template), "Arn"]}}
    assert rule["Properties"]["EventPattern"]["detail"]["status"] == ["ABORTED", "TIMED_OUT", "FAILED"]


def test_dead_letter_queue_is_encrypted_tls_only_retained_14_days(synthesized):
    template, _ = synthesized
    queue = of_type(template, "AWS::SQS::Queue")[queue_id(template)]
    assert queue["Properties"] == {"MessageRetentionPeriod": 14 * 24 * 3600, "SqsManagedSseEnabled": True}
    assert queue["DeletionPolicy"] == "Retain" and queue["UpdateReplacePolicy"] == "Retain"
    [policy] = of_type(template, "AWS::SQS::QueuePolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    deny = next(s for s in statements if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and deny["Principal"] == {
        "AWS": "*"
    }
    send = next(s for s in statements if s["Effect"] == "Allow")
    assert send["Principal"] == {"Service": "events.amazonaws.com"} and send["Action"] == "sqs:SendMessage"
    assert "aws:SourceArn" in send["Condition"]["ArnEquals"]  # only this rule may dead-letter into it


def test_failed_function_invocations_go_to_the_same_queue(synthesized):
    template, workflow = synthesized
    [config] = of_type(template, "AWS::Lambda::EventInvokeConfig").values()
    stopper = cdk.Stack.of(workflow).get_logical_id(workflow.stop_function.node.default_child)
    assert config["Properties"]["FunctionName"] == {"Ref": stopper}
    assert config["Properties"]["MaximumRetryAttempts"] == 2
    assert config["Properties"]["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [queue_id(template), "Arn"]}}
    }
    sends = [
        s
        for p in of_type(template, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "sqs:SendMessage" in json.dumps(s["Action"])
    ]
    assert [s["Resource"] for s in sends] == [{"Fn::GetAtt": [queue_id(template), "Arn"]}]


def test_alarm_fires_on_a_visible_dead_letter(synthesized):
    template, _ = synthesized
    [alarm] = of_type(template, "AWS::CloudWatch::Alarm").values()
    properties = alarm["Properties"]
    assert properties["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert properties["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id(template), "QueueName"]}}
    ]
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert "AlarmActions" not in properties  # a bare workflow has no topic


def test_project_notifications_receive_the_dead_letter_alarm():
    stack = cdk.Stack(cdk.App(), "Project")
    project = FineTuningProject(
        stack,
        "Demo",
        name="demo",
        technique="sft",
        base_model=wd.LLAMA,
        accept_eula=True,
        data={"train": "s3://demo-data/train.jsonl"},
        notifications={"emails": ["ml@example.com"]},
    )
    topic = {"Ref": stack.get_logical_id(project.notifications.topic.node.default_child)}
    Template.from_stack(stack).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "ApproximateNumberOfMessagesVisible", "AlarmActions": [topic]},
    )
    assert project.workflow.dead_letter_alarm.alarm_arn


# -- the retry contract on moto ---------------------------------------------------------------------------


class StopFaults(h.FakeSageMaker):
    """A running job whose StopTrainingJob answers the scripted errors first."""

    def __init__(self, stop_errors: list[str] | str) -> None:
        super().__init__(["InProgress"])
        self.jobs["demo-run-1"] = {}
        self.stop_errors = stop_errors

    def StopTrainingJob(self, params: dict) -> dict:
        if self.stop_errors == "always" or self.stop_errors:
            code = "ThrottlingException" if self.stop_errors == "always" else self.stop_errors.pop(0)
            raise h.client_error(code)
        return super().StopTrainingJob(params)


def status_change(status: str = "FAILED") -> dict:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "account": wd.ACCOUNT,
        "region": wd.REGION,
        "time": "2026-11-22T00:00:00Z",
        "resources": [EXECUTION],
        "detail": {"executionArn": EXECUTION, "stateMachineArn": MACHINE, "name": "run-1", "status": status},
    }


def deliver_async(template: dict, event: dict, queue_url: str) -> dict | None:
    """Lambda's asynchronous invocation as synthesized: 1 + MaximumRetryAttempts tries, then OnFailure.

    The on-failure record has the documented shape (requestContext, requestPayload, responsePayload):
    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
    """
    [config] = of_type(template, "AWS::Lambda::EventInvokeConfig").values()
    attempts = 1 + config["Properties"]["MaximumRetryAttempts"]
    assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0] == queue_id(
        template
    )
    sagemaker = boto3.client("sagemaker", region_name=wd.REGION)
    [rule] = of_type(template, "AWS::Events::Rule").values()
    [machine] = of_type(template, "AWS::StepFunctions::StateMachine")
    if "detail" in event and isinstance(event["detail"], dict):  # the rule target's input transformer
        event = rule_target_input(rule, event, {machine: MACHINE})
    for _ in range(attempts):
        try:
            return stop_orphaned_job.handler(event, None, sagemaker)
        except Exception as exc:  # the runtime's error answer; Lambda retries the event
            error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
    record = {
        "version": "1.0",
        "timestamp": "2026-11-22T00:10:00.000Z",
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:{wd.REGION}:{wd.ACCOUNT}:function:stopper:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": error,
    }
    boto3.client("sqs", region_name=wd.REGION).send_message(
        QueueUrl=queue_url, MessageBody=json.dumps(record)
    )
    return None


@pytest.fixture
def world(monkeypatch, synthesized):
    delays: list[float] = []
    monkeypatch.setattr(retry, "_sleep", delays.append)
    with mock_aws():
        sqs = boto3.client("sqs", region_name=wd.REGION)
        queue_url = sqs.create_queue(QueueName=queue_id(synthesized[0]))["QueueUrl"]

        def run(sagemaker: StopFaults, event: dict) -> tuple[dict | None, list[dict]]:
            h.patch_aws(monkeypatch, sagemaker, lambda event: None)
            outcome = deliver_async(synthesized[0], event, queue_url)
            answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
            return outcome, [json.loads(m["Body"]) for m in answer.get("Messages", [])]

        yield run, delays


def test_stop_throttled_twice_then_succeeds_stops_the_job(world):
    run, delays = world
    sagemaker = StopFaults(["ThrottlingException", "ThrottlingException"])
    outcome, dead_letters = run(sagemaker, status_change("ABORTED"))
    assert outcome == {"trainingJobName": "demo-run-1", "action": "stopped", "status": "InProgress"}
    assert sagemaker.count("StopTrainingJob") == 3 and sagemaker.statuses == ["Stopped"]
    assert len(delays) == 2 and all(0 <= d <= retry.MAX_DELAY for d in delays)
    assert dead_letters == []


def test_stop_always_failing_lands_the_event_in_the_dead_letter_queue(world):
    run, delays = world
    sagemaker = StopFaults("always")
    event = status_change("TIMED_OUT")
    outcome, dead_letters = run(sagemaker, event)
    assert outcome is None
    assert sagemaker.count("StopTrainingJob") == 3 * retry.ATTEMPTS  # bounded: 3 invocations x 5 calls
    assert sagemaker.statuses == ["InProgress"]
    [record] = dead_letters
    assert record["requestPayload"]["detail"] == event["detail"]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["responsePayload"]["errorType"] == "ClientError"
    assert "ThrottlingException" in record["responsePayload"]["errorMessage"]


def test_access_denied_is_not_retried_in_the_function_and_is_dead_lettered(world):
    run, _ = world
    sagemaker = StopFaults(["AccessDeniedException"] * 3)
    outcome, dead_letters = run(sagemaker, status_change())
    assert outcome is None and sagemaker.count("StopTrainingJob") == 3
    assert "AccessDeniedException" in dead_letters[0]["responsePayload"]["errorMessage"]


def test_malformed_event_is_dead_lettered_not_dropped(world):
    run, _ = world
    outcome, dead_letters = run(StopFaults([]), {"detail": "nope"})
    assert outcome is None
    assert dead_letters[0]["responsePayload"]["errorType"] == "PreflightError.InvalidInput"


# -- one stopper per stack ----------------------------------------------------------------------------------


def test_projects_of_a_stack_share_one_stopper_scoped_to_their_prefixes():
    stack = cdk.Stack(cdk.App(), "Two")
    projects = [
        FineTuningProject(
            stack,
            name.title(),
            name=name,
            technique="sft",
            base_model=wd.LLAMA,
            accept_eula=True,
            data={"train": "s3://demo-data/train.jsonl"},
        )
        for name in ("alpha", "beta")
    ]
    template = Template.from_stack(stack).to_json()
    assert len(of_type(template, "AWS::Lambda::Function")) == 3  # two preflights, one stopper
    [rule] = of_type(template, "AWS::Events::Rule").values()
    machines = [{"Ref": stack.get_logical_id(p.state_machine.node.default_child)} for p in projects]
    assert rule["Properties"]["EventPattern"]["detail"]["stateMachineArn"] == machines
    arns = {m["Ref"]: f"arn:aws:states:{wd.REGION}:{wd.ACCOUNT}:stateMachine:{m['Ref']}" for m in machines}
    delivered = rule_target_input(rule, status_change(), arns)
    assert delivered["workflows"] == [
        [arns[m["Ref"]], name] for m, name in zip(machines, ("alpha", "beta"), strict=True)
    ]
    stopper = projects[0].workflow.stopper
    assert stopper is projects[1].workflow.stopper
    role = stack.get_logical_id(stopper.function.role.node.default_child)
    [statement] = [
        s
        for p in of_type(template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role}]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "sagemaker:StopTrainingJob" in s["Action"]
    ]
    assert [r["Fn::Join"][1][-1] for r in statement["Resource"]] == [
        ":training-job/alpha*",
        ":training-job/beta*",
    ]


def test_rules_match_at_most_ten_state_machines_each():
    stack = cdk.Stack(cdk.App(), "Many")
    stopper = OrphanedJobStopper.of(stack)
    name = "x" * 80  # the longest state machine name
    for index in range(23):
        machine = sfn.StateMachine.from_state_machine_arn(
            stack,
            f"M{index}",
            f"arn:aws-us-gov:states:us-gov-west-1:{wd.ACCOUNT}:stateMachine:{name[:-2]}{index:02}",
        )
        stopper.add(
            machine, job_arn=f"arn:aws:sagemaker:::training-job/p{index}*", job_name_prefix=f"p{index}"
        )
    assert OrphanedJobStopper.of(stack) is stopper
    rules = list(of_type(Template.from_stack(stack).to_json(), "AWS::Events::Rule").values())
    assert [len(r["Properties"]["EventPattern"]["detail"]["stateMachineArn"]) for r in rules] == [10, 10, 3]
    assert WORKFLOWS_PER_RULE == 10
    for rule in rules:  # EventBridge's default event pattern quota: 2,048 characters
        assert len(json.dumps(rule["Properties"]["EventPattern"], separators=(",", ":"))) < 2048


def test_alarm_notifies_five_topics_and_warns_about_more():
    stack = cdk.Stack(cdk.App(), "Topics")
    stopper = OrphanedJobStopper.of(stack)
    topics = [
        sns.Topic.from_topic_arn(stack, f"T{i}", f"arn:aws:sns:{wd.REGION}:{wd.ACCOUNT}:t{i}")
        for i in range(6)
    ]
    for topic in topics + topics[:2]:  # a topic given twice is notified once
        stopper.notify(topic)
    [alarm] = of_type(Template.from_stack(stack).to_json(), "AWS::CloudWatch::Alarm").values()
    assert alarm["Properties"]["AlarmActions"] == [
        f"arn:aws:sns:{wd.REGION}:{wd.ACCOUNT}:t{i}" for i in range(5)
    ]
    Annotations.from_stack(stack).has_warning(
        "*", Match.string_like_regexp("already notifies 5 topics .* Topics/T5 is not notified")
    )


def test_a_project_with_evaluations_shares_the_rule_and_its_evaluation_jobs_are_derived():
    stack = cdk.Stack(cdk.App(), "Two")
    common = dict(
        technique="sft", base_model=wd.LLAMA, accept_eula=True, data={"train": "s3://demo-data/train.jsonl"}
    )
    plain = FineTuningProject(stack, "Plain", name="plain", **common)
    gated = FineTuningProject(
        stack,
        "Gated",
        name="gated",
        evaluation={"benchmarks": ["mmlu"], "gate": {"metric": "mmlu/accuracy"}},
        **common,
    )
    template = Template.from_stack(stack).to_json()
    [rule] = of_type(template, "AWS::Events::Rule").values()  # no rule of its own
    machines = [stack.get_logical_id(p.state_machine.node.default_child) for p in (plain, gated)]
    arns = {m: f"arn:aws:states:{wd.REGION}:{wd.ACCOUNT}:stateMachine:{m}" for m in machines}
    delivered = rule_target_input(rule, status_change(), arns)
    assert delivered["workflows"] == [[arns[machines[0]], "plain"], [arns[machines[1]], "gated", ["mmlu"]]]
    role = stack.get_logical_id(plain.workflow.stopper.function.role.node.default_child)
    [statement] = [
        s
        for p in of_type(template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role}]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "sagemaker:StopTrainingJob" in s["Action"]
    ]
    # gated-<execution>-eval-[base-]mmlu lies inside the project's job ARN pattern
    assert [r["Fn::Join"][1][-1] for r in statement["Resource"]] == [
        ":training-job/plain*",
        ":training-job/gated*",
    ]
