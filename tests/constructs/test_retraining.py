"""Retraining triggers and pipeline: rules, inputs, pipeline stages, least privilege, cdk-nag."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from cdk_sagemaker_finetuning.constructs.errors import ConstructValidationError
from cdk_sagemaker_finetuning.constructs.nag import acknowledge
from cdk_sagemaker_finetuning.constructs.retraining import (
    PipelineRepository,
    RetrainingPipeline,
    RetrainingTriggers,
    training_input,
)
from tests.constructs.helpers import flat, nag_errors

CONNECTION = "arn:aws:codeconnections:us-east-1:123456789012:connection/abc-123"


def rig(app: cdk.App | None = None) -> tuple[cdk.Stack, sfn.StateMachine, s3.Bucket, s3.Bucket]:
    stack = cdk.Stack(app or cdk.App(), "Stack")
    machine = sfn.StateMachine(
        stack, "Workflow", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Run"))
    )
    secure = dict(enforce_ssl=True, versioned=True, encryption=s3.BucketEncryption.S3_MANAGED)
    data = s3.Bucket(stack, "Data", event_bridge_enabled=True, **secure)
    artifacts = s3.Bucket(stack, "Artifacts", **secure)
    return stack, machine, data, artifacts


def rule_with(template: Template, detail_type: str) -> dict:
    [rule] = [
        r["Properties"]
        for r in template.find_resources("AWS::Events::Rule").values()
        if detail_type in json.dumps(r["Properties"].get("EventPattern", {}))
    ]
    return rule


def test_training_input_for_continuous_customization():
    assert training_input("s3://b/k", continue_from_latest=False, approved_only=True) == {
        "trainUri": "s3://b/k"
    }
    assert training_input(None, continue_from_latest=True, approved_only=False) == {
        "baseModel": "latest",
        "approvedOnly": False,
    }


def test_new_data_rule_starts_workflow_with_the_new_object():
    stack, machine, data, _ = rig()
    RetrainingTriggers(
        stack, "Triggers", state_machine=machine, data_bucket=data, new_data_prefix="incoming/"
    )
    rule = rule_with(Template.from_stack(stack), "Object Created")
    assert rule["EventPattern"]["detail"]["object"] == {"key": [{"prefix": "incoming/"}]}
    assert rule["EventPattern"]["detail"]["bucket"]["name"] == [
        {"Ref": stack.get_logical_id(data.node.default_child)}
    ]
    [target] = rule["Targets"]
    assert target["Arn"] == {"Ref": stack.get_logical_id(machine.node.default_child)}
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {
        "detail-bucket-name": "$.detail.bucket.name",
        "detail-object-key": "$.detail.object.key",
    }
    assert transformer["InputTemplate"] == '{"trainUri":"s3://<detail-bucket-name>/<detail-object-key>"}'
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 3


def test_schedule_rule_with_continuous_customization():
    stack, machine, data, _ = rig()
    RetrainingTriggers(
        stack,
        "Triggers",
        state_machine=machine,
        schedule=events.Schedule.expression("rate(7 days)"),
        continue_from_latest=True,
    )
    [rule] = Template.from_stack(stack).find_resources("AWS::Events::Rule").values()
    assert rule["Properties"]["ScheduleExpression"] == "rate(7 days)"
    assert json.loads(rule["Properties"]["Targets"][0]["Input"]) == {
        "baseModel": "latest",
        "approvedOnly": True,
    }


def test_trigger_role_may_only_start_this_workflow():
    stack, machine, data, _ = rig()
    RetrainingTriggers(stack, "Triggers", state_machine=machine, data_bucket=data, new_data_prefix="in/")
    statements = [
        s
        for p in Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "states:StartExecution"
    ]
    assert statements and all(
        s["Resource"] == {"Ref": stack.get_logical_id(machine.node.default_child)} for s in statements
    )


def test_new_data_needs_a_bucket():
    stack, machine, _, _ = rig()
    with pytest.raises(ConstructValidationError, match="^Stack/Triggers: new_data_prefix needs data_bucket"):
        RetrainingTriggers(stack, "Triggers", state_machine=machine, new_data_prefix="in/")


def pipeline_stack(**kwargs) -> tuple[cdk.Stack, RetrainingPipeline, Template]:
    stack, machine, data, artifacts = rig(kwargs.pop("app", None))
    pipeline = RetrainingPipeline(
        stack,
        "Retraining",
        state_machine=machine,
        data_bucket=data,
        source_key="train/train.jsonl",
        artifact_bucket=artifacts,
        **kwargs,
    )
    return stack, pipeline, Template.from_stack(stack)


def test_pipeline_is_v2_with_source_train_and_report_stages():
    _, _, template = pipeline_stack()
    [pipeline] = template.find_resources("AWS::CodePipeline::Pipeline").values()
    props = pipeline["Properties"]
    assert props["PipelineType"] == "V2"
    assert [stage["Name"] for stage in props["Stages"]] == ["Source", "Train", "Report"]
    source = props["Stages"][0]["Actions"][0]["Configuration"]
    assert source["S3ObjectKey"] == "train/train.jsonl" and source["PollForSourceChanges"] is False
    train = props["Stages"][1]["Actions"][0]
    assert train["ActionTypeId"]["Provider"] == "StepFunctions"
    assert '"trainUri":"s3://' in flat(train["Configuration"]["Input"]).replace("\\", "")
    report = props["Stages"][2]["Actions"][0]
    assert report["Configuration"]["UserParameters"] == '{"executionArn":"#{Train.ExecutionArn}"}'
    assert report["Namespace"] == "Report"


def test_pipeline_manual_approval_and_repository():
    _, _, template = pipeline_stack(
        manual_approval=True, repository=PipelineRepository(connection_arn=CONNECTION, owner="me", repo="specs")
    )
    [pipeline] = template.find_resources("AWS::CodePipeline::Pipeline").values()
    stages = pipeline["Properties"]["Stages"]
    assert [s["Name"] for s in stages] == ["Source", "Approve", "Train", "Report"]
    assert [a["Name"] for a in stages[0]["Actions"]] == ["Data", "Repository"]
    assert stages[0]["Actions"][1]["Configuration"]["ConnectionArn"] == CONNECTION
    assert stages[1]["Actions"][0]["ActionTypeId"]["Category"] == "Approval"


def test_pipeline_started_by_new_source_version():
    stack, pipeline, template = pipeline_stack()
    rule = rule_with(template, "Object Created")
    assert rule["EventPattern"]["detail"]["object"] == {"key": [{"prefix": "train/train.jsonl"}]}
    assert "codepipeline" in flat(rule["Targets"][0]["Arn"])


def test_report_function_reads_only_this_workflows_executions():
    stack, pipeline, template = pipeline_stack()
    statements = [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "states:DescribeExecution"
    ]
    report = [
        s for s in statements if ":execution:" in flat(s["Resource"]) and "Workflow" in flat(s["Resource"])
    ]
    assert report and all(s["Resource"] != "*" for s in statements)


def test_report_function_reads_the_executions_of_an_imported_workflow():
    # an imported IStateMachine has no state_machine_name: the name comes from its ARN
    stack = cdk.Stack(cdk.App(), "Stack", env=cdk.Environment(account="123456789012", region="us-east-1"))
    secure = dict(enforce_ssl=True, versioned=True, encryption=s3.BucketEncryption.S3_MANAGED)
    data = s3.Bucket(stack, "Data", event_bridge_enabled=True, **secure)
    artifacts = s3.Bucket(stack, "Artifacts", **secure)
    imported = sfn.StateMachine.from_state_machine_arn(
        stack, "Imported", "arn:aws:states:us-east-1:123456789012:stateMachine:central-training"
    )
    RetrainingPipeline(
        stack,
        "Retraining",
        state_machine=imported,
        data_bucket=data,
        source_key="train/train.jsonl",
        artifact_bucket=artifacts,
    )
    resources = [
        s["Resource"]
        for p in Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "states:DescribeExecution"
    ]
    assert "arn:aws:states:us-east-1:123456789012:execution:central-training:*" in resources


def test_report_events_it_cannot_answer_go_to_an_encrypted_dead_letter_queue():
    stack, pipeline, template = pipeline_stack()
    queue = stack.get_logical_id(pipeline.report_dead_letter_queue.node.default_child)
    function = stack.get_logical_id(pipeline.report_function.node.default_child)
    [config] = template.find_resources("AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"]["FunctionName"] == {"Ref": function}
    assert config["Properties"]["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [queue, "Arn"]}}
    }
    resource = template.find_resources("AWS::SQS::Queue")[queue]
    assert resource["Properties"] == {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True}
    assert resource["DeletionPolicy"] == "Retain"


def test_cdk_nag_clean(tmp_path):
    app = cdk.App(outdir=str(tmp_path))
    stack, machine, data, artifacts = rig(app)
    RetrainingPipeline(
        stack,
        "Retraining",
        state_machine=machine,
        data_bucket=data,
        source_key="train/train.jsonl",
        artifact_bucket=artifacts,
        manual_approval=True,
    )
    RetrainingTriggers(
        stack,
        "Triggers",
        state_machine=machine,
        data_bucket=data,
        new_data_prefix="in/",
        schedule=events.Schedule.rate(cdk.Duration.days(1)),
    )
    rig_only = {
        "AwsSolutions-S1": "test rig bucket without access logs",
        "AwsSolutions-SF1": "test rig state machine without logging",
        "AwsSolutions-SF2": "test rig state machine without tracing",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": "CDK's bucket notification handler",
    }
    for child in (
        "Data",
        "Artifacts",
        "Workflow",
        "BucketNotificationsHandler050a0587b7544547bf325f094a3db834",
    ):
        acknowledge(stack.node.find_child(child), rig_only)
    assert nag_errors(app) == []
