"""ModelPackageGroup: properties, retention, importers and grants."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from cdk_sagemaker_finetuning.constructs import ModelPackageGroup
from cdk_sagemaker_finetuning.constructs.errors import ConstructValidationError
from cdk_sagemaker_finetuning.constructs.model_package_group import READ_ACTIONS, REGISTER_ACTIONS
from tests.constructs.helpers import flat, statements_with


@pytest.fixture
def stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Stack")


def test_creates_group_with_name_and_description(stack):
    ModelPackageGroup(stack, "Group", model_package_group_name="my-group", description="tuned models")
    Template.from_stack(stack).has_resource_properties(
        "AWS::SageMaker::ModelPackageGroup",
        {"ModelPackageGroupName": "my-group", "ModelPackageGroupDescription": "tuned models"},
    )


def test_group_is_retained_by_default(stack):
    ModelPackageGroup(stack, "Group", model_package_group_name="my-group")
    Template.from_stack(stack).has_resource(
        "AWS::SageMaker::ModelPackageGroup", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    )


def test_removal_policy_opt_out(stack):
    ModelPackageGroup(
        stack, "Group", model_package_group_name="my-group", removal_policy=cdk.RemovalPolicy.DESTROY
    )
    Template.from_stack(stack).has_resource("AWS::SageMaker::ModelPackageGroup", {"DeletionPolicy": "Delete"})


@pytest.mark.parametrize("name", ["my_group", "-lead", "trail-", "a" * 64, "with.dot"])
def test_invalid_names_fail_at_synth_with_the_rule(stack, name):
    with pytest.raises(ConstructValidationError, match=f"model_package_group_name '{name}' is invalid.*63"):
        ModelPackageGroup(stack, "Group", model_package_group_name=name)


def test_token_names_skip_the_check(stack):
    name = cdk.CfnParameter(stack, "Name").value_as_string
    group = ModelPackageGroup(stack, "Group", model_package_group_name=name)
    assert cdk.Token.is_unresolved(group.model_package_group_name)


def test_attributes_are_the_group_name_and_arn(stack):
    group = ModelPackageGroup(stack, "Group", model_package_group_name="my-group")
    assert group.model_package_group_name == "my-group"
    assert stack.resolve(group.model_package_group_arn) == {
        "Fn::GetAtt": [stack.get_logical_id(group.resource), "ModelPackageGroupArn"]
    }


def test_import_by_name_builds_the_arn(stack):
    group = ModelPackageGroup.from_model_package_group_name(stack, "Imported", "their-group")
    assert "model-package-group/their-group" in flat(stack.resolve(group.model_package_group_arn))
    assert Template.from_stack(stack).find_resources("AWS::SageMaker::ModelPackageGroup") == {}


def test_import_by_arn_reads_the_name(stack):
    arn = "arn:aws:sagemaker:us-west-2:123456789012:model-package-group/their-group"
    group = ModelPackageGroup.from_model_package_group_arn(stack, "Imported", arn)
    assert group.model_package_group_name == "their-group"
    assert group.model_package_group_arn == arn


def test_import_rejects_invalid_name(stack):
    with pytest.raises(ConstructValidationError, match="'bad_name'"):
        ModelPackageGroup.from_model_package_group_name(stack, "Imported", "bad_name")


@pytest.mark.parametrize(
    ("grant", "actions"), [("grant_read", READ_ACTIONS), ("grant_register", REGISTER_ACTIONS)]
)
def test_grants_scope_actions_to_the_group_and_its_packages(stack, grant, actions):
    group = ModelPackageGroup(stack, "Group", model_package_group_name="My-Group")
    role = iam.Role(stack, "Role", assumed_by=iam.AccountRootPrincipal())
    result = getattr(group, grant)(role)
    assert isinstance(result, iam.Grant)
    template = Template.from_stack(stack)
    [statement] = statements_with(template, actions[0])
    assert sorted(statement["Action"]) == sorted(actions)
    resources = flat(statement["Resource"])
    assert "ModelPackageGroupArn" in resources
    assert "model-package/my-group/*" in resources  # SageMaker lower-cases package ARNs
    assert '"*"' not in resources


def test_register_grant_does_not_allow_deleting(stack):
    group = ModelPackageGroup(stack, "Group", model_package_group_name="g")
    group.grant_register(iam.Role(stack, "Role", assumed_by=iam.AccountRootPrincipal()))
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Action": Match.not_(Match.array_with(["sagemaker:DeleteModelPackage"]))}
                        )
                    ]
                )
            }
        },
    )


CENTRAL_GROUP_ARN = "arn:aws:sagemaker:eu-west-1:210987654321:model-package-group/Central-Registry"


@pytest.mark.parametrize(
    ("grant", "actions"), [("grant_read", READ_ACTIONS), ("grant_register", REGISTER_ACTIONS)]
)
def test_cross_account_import_grants_the_groups_own_account_and_region(grant, actions):
    app = cdk.App()
    stack = cdk.Stack(app, "Training", env=cdk.Environment(account="123456789012", region="us-east-1"))
    group = ModelPackageGroup.from_model_package_group_arn(stack, "Central", CENTRAL_GROUP_ARN)
    role = iam.Role(stack, "Role", assumed_by=iam.AccountRootPrincipal())
    getattr(group, grant)(role)
    assert (group.env.account, group.env.region) == ("210987654321", "eu-west-1")
    [statement] = statements_with(Template.from_stack(stack), actions[0])
    assert sorted(statement["Action"]) == sorted(actions)
    assert statement["Resource"] == [
        CENTRAL_GROUP_ARN,
        "arn:aws:sagemaker:eu-west-1:210987654321:model-package/central-registry/*",
    ]


def test_cross_account_import_into_an_environment_agnostic_stack(stack):
    group = ModelPackageGroup.from_model_package_group_arn(stack, "Central", CENTRAL_GROUP_ARN)
    assert group.model_package_arn_pattern == (
        "arn:aws:sagemaker:eu-west-1:210987654321:model-package/central-registry/*"
    )


def test_import_of_a_token_arn_derives_the_packages_from_its_parts(stack):
    arn = cdk.CfnParameter(stack, "GroupArn").value_as_string
    group = ModelPackageGroup.from_model_package_group_arn(stack, "FromParameter", arn)
    resolved = json.dumps(stack.resolve(group.model_package_arn_pattern))
    assert '"Ref": "GroupArn"' in resolved
    assert "model-package" in resolved and "AWS::AccountId" not in resolved


def test_a_group_created_here_keeps_this_stacks_environment():
    app = cdk.App()
    stack = cdk.Stack(app, "Training", env=cdk.Environment(account="123456789012", region="us-east-1"))
    group = ModelPackageGroup(stack, "Group", model_package_group_name="Local")
    assert stack.resolve(group.model_package_arn_pattern) == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":sagemaker:us-east-1:123456789012:model-package/local/*"],
        ]
    }


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sagemaker:eu-west-1:210987654321:model-package/their-group/1",
        "arn:aws:s3:::model-package-group/their-group",
    ],
)
def test_import_by_arn_rejects_other_resources(stack, arn):
    with pytest.raises(ConstructValidationError, match="is not a model package group ARN: expected"):
        ModelPackageGroup.from_model_package_group_arn(stack, "Imported", arn)


@pytest.mark.parametrize(
    ("grant", "actions"), [("grant_read", READ_ACTIONS), ("grant_register", REGISTER_ACTIONS)]
)
def test_import_by_name_grants_this_stacks_account_and_region(grant, actions):
    app = cdk.App()
    stack = cdk.Stack(app, "Training", env=cdk.Environment(account="123456789012", region="us-east-1"))
    group = ModelPackageGroup.from_model_package_group_name(stack, "Local", "Team-Models")
    getattr(group, grant)(iam.Role(stack, "Role", assumed_by=iam.AccountRootPrincipal()))
    assert (group.env.account, group.env.region) == ("123456789012", "us-east-1")
    [statement] = statements_with(Template.from_stack(stack), actions[0])
    prefix = ["arn:", {"Ref": "AWS::Partition"}]
    assert statement["Resource"] == [
        {"Fn::Join": ["", [*prefix, ":sagemaker:us-east-1:123456789012:model-package-group/Team-Models"]]},
        {"Fn::Join": ["", [*prefix, ":sagemaker:us-east-1:123456789012:model-package/team-models/*"]]},
    ]


def test_created_and_imported_groups_implement_the_interface(stack):
    from cdk_sagemaker_finetuning.constructs import IModelPackageGroup

    created = ModelPackageGroup(stack, "Group", model_package_group_name="g")
    by_name = ModelPackageGroup.from_model_package_group_name(stack, "ByName", "n")
    by_arn = ModelPackageGroup.from_model_package_group_arn(stack, "ByArn", CENTRAL_GROUP_ARN)
    assert all(isinstance(group, IModelPackageGroup) for group in (created, by_name, by_arn))
    assert not isinstance(iam.Role(stack, "Role", assumed_by=iam.AccountRootPrincipal()), IModelPackageGroup)


def test_import_of_a_malformed_arn_names_the_expected_form(stack):
    with pytest.raises(ConstructValidationError, match=r"^Stack: 'not-an-arn' is not a model package group ARN"):
        ModelPackageGroup.from_model_package_group_arn(stack, "Imported", "not-an-arn")
