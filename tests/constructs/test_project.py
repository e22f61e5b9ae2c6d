"""FineTuningProject: spec or keyword props, coexistence in one stack, retention, outputs and grants."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from cdk_sagemaker_finetuning.constructs.errors import ConstructValidationError
from cdk_sagemaker_finetuning.constructs.project import FineTuningProject
from cdk_sagemaker_finetuning.spec import FineTuningSpec, SpecError
from tests.constructs.helpers import flat, statements_with


@pytest.fixture
def stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Platform")


def test_keyword_props_build_the_same_project_as_a_spec(sft_spec_dict):
    from_spec = cdk.Stack(cdk.App(), "A")
    FineTuningProject(from_spec, "P", spec=FineTuningSpec.from_dict(sft_spec_dict))
    from_fields = cdk.Stack(cdk.App(), "A")
    FineTuningProject(from_fields, "P", **sft_spec_dict)
    assert Template.from_stack(from_spec).to_json() == Template.from_stack(from_fields).to_json()


def test_keyword_props_are_validated_like_a_spec(stack, sft_spec_dict):
    with pytest.raises(SpecError) as info:
        FineTuningProject(stack, "P", **{**sft_spec_dict, "technique": "ppo"})
    assert info.value.field == "technique"


def test_spec_and_fields_together_are_rejected(stack, sft_spec_dict):
    with pytest.raises(ConstructValidationError, match="either spec or the spec's fields"):
        FineTuningProject(stack, "P", spec=FineTuningSpec.from_dict(sft_spec_dict), name="other")


def test_two_projects_may_not_share_a_name_or_group(stack, sft_spec_dict):
    FineTuningProject(stack, "First", **sft_spec_dict)
    with pytest.raises(ConstructValidationError, match="project demo is already used by Platform/First"):
        FineTuningProject(stack, "Second", **sft_spec_dict)
    with pytest.raises(ConstructValidationError, match="model package group demo is already used"):
        FineTuningProject(
            stack, "Third", **{**sft_spec_dict, "name": "other", "model_package_group": {"name": "demo"}}
        )


def test_the_name_registry_is_a_construct_of_the_stack_not_module_state(sft_spec_dict):
    from cdk_sagemaker_finetuning.constructs.shared import NAMES_ID, ProjectNames

    first, second = cdk.Stack(cdk.App(), "A"), cdk.Stack(cdk.App(), "A")  # same path, different trees
    FineTuningProject(first, "Project", **sft_spec_dict)
    FineTuningProject(second, "Project", **sft_spec_dict)
    assert isinstance(first.node.find_child(NAMES_ID), ProjectNames)
    assert ProjectNames.of(first.node.find_child("Project")) is first.node.find_child(NAMES_ID)
    assert ProjectNames.of(second) is not ProjectNames.of(first)


def test_outputs_are_prefixed_with_the_project_name(stack, sft_spec_dict):
    FineTuningProject(stack, "P", **{**sft_spec_dict, "name": "support-sft"})
    outputs = Template.from_stack(stack).to_json()["Outputs"]
    assert {
        "SupportSftExecutionRoleArn",
        "SupportSftStateMachineArn",
        "SupportSftModelPackageGroupName",
    } <= set(outputs)


def test_output_prefix_is_checked(stack, sft_spec_dict):
    with pytest.raises(ConstructValidationError, match="output_prefix 'my-prefix'"):
        FineTuningProject(stack, "P", output_prefix="my-prefix", **sft_spec_dict)


def test_stateful_resources_are_retained(stack, sft_spec_dict):
    data = {
        **sft_spec_dict,
        "data": {"create_bucket": True, "train": "train/a.jsonl"},
        "retraining": {"pipeline": {}},
    }
    FineTuningProject(stack, "P", **data)
    template = Template.from_stack(stack).to_json()["Resources"]
    stateful = [
        r for r in template.values() if r["Type"] in ("AWS::S3::Bucket", "AWS::SageMaker::ModelPackageGroup")
    ]
    assert len(stateful) == 5  # access logs, data, output, pipeline artifacts, model package group
    assert all(r["DeletionPolicy"] == "Retain" and r["UpdateReplacePolicy"] == "Retain" for r in stateful)
    logs = [r for r in template.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert logs and all(r["DeletionPolicy"] == "Retain" for r in logs if "RetentionInDays" in r["Properties"])


def test_grant_start_training_is_scoped_to_this_workflow(stack, sft_spec_dict):
    project = FineTuningProject(stack, "P", **sft_spec_dict)
    launcher = iam.Role(stack, "Launcher", assumed_by=iam.AccountRootPrincipal())
    assert isinstance(project.grant_start_training(launcher), iam.Grant)
    template = Template.from_stack(stack)
    machine = stack.get_logical_id(project.state_machine.node.default_child)
    [start] = statements_with(template, "states:StartExecution")
    assert start["Resource"] == {"Ref": machine}
    [describe] = statements_with(template, "states:DescribeExecution")
    assert ":execution:" in flat(describe["Resource"]) and machine in flat(describe["Resource"])


def test_new_data_retraining_enables_bucket_events(stack, sft_spec_dict):
    data = {
        **sft_spec_dict,
        "data": {"create_bucket": True, "train": "train/a.jsonl"},
        "retraining": {"on_new_data": {}},
    }
    project = FineTuningProject(stack, "P", **data)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "Custom::S3BucketNotifications", {"NotificationConfiguration": {"EventBridgeConfiguration": {}}}
    )
    [rule] = [
        r["Properties"]
        for r in template.find_resources("AWS::Events::Rule").values()
        if "Object Created" in json.dumps(r["Properties"].get("EventPattern", {}))
    ]
    assert rule["EventPattern"]["detail"]["object"] == {"key": [{"prefix": "train/"}]}
    assert project.retraining_triggers is not None and project.retraining_pipeline is None


def test_retraining_on_an_external_bucket_grants_the_watched_prefix(stack, sft_spec_dict):
    data = {
        **sft_spec_dict,
        "data": {"train": "s3://their-data/train/a.jsonl"},
        "retraining": {"on_new_data": {"prefix": "incoming/"}},
    }
    project = FineTuningProject(stack, "P", **data)
    template = Template.from_stack(stack)
    role = stack.get_logical_id(project.training_role.role.node.default_child)
    reads = flat(
        [
            s["Resource"]
            for p in template.find_resources("AWS::IAM::Policy").values()
            if {"Ref": role} in p["Properties"]["Roles"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            if "s3:GetObject" in s["Action"]
        ]
    )
    assert "their-data/incoming/*" in reads and "their-data/train/a.jsonl*" in reads


def test_new_data_prefix_defaults_to_the_whole_bucket_for_a_top_level_key(stack, sft_spec_dict):
    data = {
        **sft_spec_dict,
        "data": {"create_bucket": True, "train": "a.jsonl"},
        "retraining": {"on_new_data": {}},
    }
    FineTuningProject(stack, "P", **data)
    [rule] = [
        r["Properties"]
        for r in Template.from_stack(stack).find_resources("AWS::Events::Rule").values()
        if "Object Created" in json.dumps(r["Properties"].get("EventPattern", {}))
    ]
    assert rule["EventPattern"]["detail"]["object"] == {"key": [{"prefix": ""}]}


def test_manual_approval_creates_the_notification_topic(stack, sft_spec_dict):
    data = {
        **sft_spec_dict,
        "data": {"create_bucket": True, "train": "t/a.jsonl"},
        "retraining": {"pipeline": {"manual_approval": True}},
    }
    project = FineTuningProject(stack, "P", **data)
    assert project.notifications is not None
    [pipeline] = Template.from_stack(stack).find_resources("AWS::CodePipeline::Pipeline").values()
    approve = pipeline["Properties"]["Stages"][1]["Actions"][0]
    assert approve["Configuration"]["NotificationArn"] == {
        "Ref": stack.get_logical_id(project.notifications.topic.node.default_child)
    }


def test_dataset_arn_data_grants_the_dataset_hub_content(stack, sft_spec_dict):
    arn = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/MYHUB/DataSet/my-ds/1.0.0"
    FineTuningProject(stack, "P", **{**sft_spec_dict, "data": {"train": arn}})
    reads = flat(
        [s["Resource"] for s in statements_with(Template.from_stack(stack), "sagemaker:DescribeHubContent")]
    )
    assert "hub-content/MYHUB/DataSet/my-ds/*" in reads


def test_concrete_stack_region_is_checked_against_the_allow_lists(sft_spec_dict):
    rlaif = {"judge_model_id": "qwen.qwen3-235b-a22b-2507-v1:0", "prompt": "Builtin.Summarize"}
    data = {**sft_spec_dict, "technique": "rlaif", "rlaif": rlaif}
    stack = cdk.Stack(cdk.App(), "Eu", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    with pytest.raises(SpecError) as info:
        FineTuningProject(stack, "P", **data)
    assert info.value.field == "rlaif.judge_model_id" and "not allowed in 'eu-west-1'" in str(info.value)
    west = cdk.Stack(cdk.App(), "West", env=cdk.Environment(account="123456789012", region="us-west-2"))
    assert FineTuningProject(west, "P", **data).spec.rlaif.judge_model_id == rlaif["judge_model_id"]
