"""TrainingExecutionRole: trust, least-privilege statements and the grants other constructs use."""

from __future__ import annotations

import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from constructs import Construct

from cdk_sagemaker_finetuning.constructs import ModelPackageGroup, TrainingExecutionRole
from cdk_sagemaker_finetuning.constructs.errors import ConstructValidationError
from tests.conftest import REPO
from tests.constructs.helpers import (
    actions_of,
    flat,
    iam_statements,
    nag_errors,
    resources_of,
    statements_with,
)

MODEL = "meta-textgeneration-llama-3-2-1b-instruct"
MLFLOW = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-ABC"


def make_role(stack: cdk.Stack, **kwargs) -> TrainingExecutionRole:
    group = ModelPackageGroup(stack, "Group", model_package_group_name="my-group")
    kwargs.setdefault("output_uri", "s3://out-bucket/runs/")
    return TrainingExecutionRole(
        stack, "SageMakerRole", model_package_group=group, base_model=MODEL, **kwargs
    )


@pytest.fixture
def stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Stack")


def test_trust_is_sagemaker_with_source_account(stack):
    make_role(stack)
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "sagemaker.amazonaws.com"},
                        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                    }
                ]
            }
        },
    )


def test_optional_source_arn_condition(stack):
    make_role(stack, source_arn_condition=True)
    [role] = Template.from_stack(stack).find_resources("AWS::IAM::Role").values()
    condition = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert ":training-job/*" in flat(condition["ArnLike"]["aws:SourceArn"])


def test_wildcard_resources_only_where_the_api_forces_them(stack):
    make_role(stack, data_uris=["s3://data-bucket/train/"], mlflow_resource_arn=MLFLOW)
    template = Template.from_stack(stack)
    star_actions = sorted(
        a for s in iam_statements(template) if "*" in resources_of(s) for a in actions_of(s)
    )
    assert star_actions == ["cloudwatch:PutMetricData", "ecr:GetAuthorizationToken"]


def test_logs_scoped_to_training_job_log_group(stack):
    make_role(stack)
    [statement] = statements_with(Template.from_stack(stack), "logs:PutLogEvents")
    assert ":log-group:/aws/sagemaker/TrainingJobs*" in flat(statement["Resource"])


def test_hub_read_scoped_to_the_base_model(stack):
    make_role(stack)
    [statement] = statements_with(Template.from_stack(stack), "sagemaker:DescribeHubContent")
    resources = flat(statement["Resource"])
    assert f":aws:hub-content/SageMakerPublicHub/Model/{MODEL}/*" in resources
    assert ":aws:hub/SageMakerPublicHub" in resources


def test_private_hub_uses_own_account(stack):
    make_role(stack, hub_name="MyHub")
    [statement] = statements_with(Template.from_stack(stack), "sagemaker:DescribeHubContent")
    assert '{"Ref": "AWS::AccountId"}, ":hub-content/MyHub/Model/' in flat(statement["Resource"])


def test_wildcard_hub_read_is_opt_in(stack):
    make_role(stack, wildcard_hub_read=True)
    [statement] = statements_with(Template.from_stack(stack), "sagemaker:DescribeHubContent")
    assert ":hub-content/*" in flat(statement["Resource"])


def test_model_registration_scoped_to_its_group(stack):
    make_role(stack)
    [statement] = statements_with(Template.from_stack(stack), "sagemaker:CreateModelPackage")
    assert "model-package/my-group/*" in flat(statement["Resource"])


def test_s3_scoped_to_data_and_output_prefixes(stack):
    make_role(stack, data_uris=["s3://data-bucket/train/"])
    template = Template.from_stack(stack)
    reads = flat([s["Resource"] for s in statements_with(template, "s3:GetObject")])
    writes = flat([s["Resource"] for s in statements_with(template, "s3:PutObject")])
    assert "data-bucket/train/*" in reads and "out-bucket/runs/*" in reads
    assert "out-bucket/runs/*" in writes and "data-bucket" not in writes


def test_stack_owned_buckets_are_granted(stack):
    data, out = s3.Bucket(stack, "Data"), s3.Bucket(stack, "Out")
    make_role(stack, data_bucket=data, output_bucket=out, output_uri=None)
    [put] = statements_with(Template.from_stack(stack), "s3:PutObject")
    assert stack.get_logical_id(out.node.default_child) in flat(put["Resource"])


def test_kms_keys_are_granted(stack):
    arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    make_role(stack, kms_keys=[kms.Key.from_key_arn(stack, "Key", arn)])
    [statement] = statements_with(Template.from_stack(stack), "kms:Decrypt")
    assert statement["Resource"] == arn


def test_mlflow_access_only_when_configured(stack):
    make_role(stack)
    assert statements_with(Template.from_stack(stack), "sagemaker-mlflow:LogMetric") == []
    other = cdk.Stack(cdk.App(), "Other")
    make_role(other, mlflow_resource_arn=MLFLOW)
    [statement] = statements_with(Template.from_stack(other), "sagemaker-mlflow:LogMetric")
    assert statement["Resource"] == MLFLOW
    assert "sagemaker:DescribeMlflowApp" in statement["Action"]
    assert "sagemaker:DescribeMlflowTrackingServer" not in statement["Action"]
    assert "sagemaker-mlflow:AccessUI" not in statement["Action"]  # the UI: no resource-level permissions


def test_mlflow_tracking_server_gets_its_own_describe(stack):
    server = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/team"
    make_role(stack, mlflow_resource_arn=server)
    [statement] = statements_with(Template.from_stack(stack), "sagemaker-mlflow:LogMetric")
    assert "sagemaker:DescribeMlflowTrackingServer" in statement["Action"]
    assert "sagemaker:DescribeMlflowApp" not in statement["Action"]


def test_mlflow_arn_must_be_an_app_or_tracking_server(stack):
    with pytest.raises(ConstructValidationError, match="must be an MLflow app .* or tracking server"):
        make_role(stack, mlflow_resource_arn="arn:aws:sagemaker:us-east-1:123456789012:model/x")


def test_reward_function_invoke_grant(stack):
    role = make_role(stack)
    fn = lambda_.Function.from_function_arn(
        stack, "Fn", "arn:aws:lambda:us-east-1:123456789012:function:SageMaker-r"
    )
    assert isinstance(role.grant_reward_function(fn), iam.Grant)
    [statement] = statements_with(Template.from_stack(stack), "lambda:InvokeFunction")
    assert statement["Resource"] == [fn.function_arn, f"{fn.function_arn}:*"]


def test_judge_model_grant_is_exactly_that_model(stack):
    make_role(stack).grant_judge_model("openai.gpt-oss-120b-1:0")
    [statement] = statements_with(Template.from_stack(stack), "bedrock:InvokeModel")
    assert flat(statement["Resource"]).endswith('"::foundation-model/openai.gpt-oss-120b-1:0"]]}')


def test_pass_role_grant_carries_passed_to_service(stack):
    role = make_role(stack)
    caller = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("states.amazonaws.com"))
    role.grant_pass_role(caller)
    [statement] = statements_with(Template.from_stack(stack), "iam:PassRole")
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert statement["Resource"] == stack.resolve(role.role_arn)


def test_requires_an_output_location(stack):
    with pytest.raises(ConstructValidationError, match="needs output_bucket or output_uri"):
        make_role(stack, output_uri=None)


def test_rejects_non_s3_data_uri(stack):
    with pytest.raises(ConstructValidationError, match="'https://x' is not an S3 URI"):
        make_role(stack, data_uris=["https://x"])


@pytest.mark.parametrize("uri", ["s3://", "s3:///train.jsonl"])
def test_rejects_an_s3_uri_without_a_bucket(stack, uri):
    with pytest.raises(ConstructValidationError, match=f"'{uri}' is not an S3 URI"):
        make_role(stack, data_uris=[uri])


def test_uri_grants_are_those_of_the_imported_buckets(stack):
    """ARNs built from the URIs are the ones ``s3.Bucket.from_bucket_name`` gives (partition token included)."""
    make_role(stack, data_uris=["s3://in-bucket/data/train.jsonl"])
    data = s3.Bucket.from_bucket_name(stack, "Data", "in-bucket")
    out = s3.Bucket.from_bucket_name(stack, "Out", "out-bucket")
    template = Template.from_stack(stack)
    reads = {flat(r) for s in statements_with(template, "s3:GetObject") for r in resources_of(s)}
    lists = {flat(r) for s in statements_with(template, "s3:ListBucket") for r in resources_of(s)}
    [put] = statements_with(template, "s3:PutObject")
    data_objects, out_objects = (
        stack.resolve(data.arn_for_objects("data/train.jsonl*")),
        stack.resolve(out.arn_for_objects("runs/*")),
    )
    assert reads == {flat(data_objects), flat(out_objects)}
    assert lists == {flat(stack.resolve(data.bucket_arn)), flat(stack.resolve(out.bucket_arn))}
    assert resources_of(put) == [out_objects]


def test_cdk_nag_clean_with_every_option(tmp_path):
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Stack")
    role = make_role(
        stack, data_uris=["s3://data-bucket/train/"], mlflow_resource_arn=MLFLOW, wildcard_hub_read=True
    )
    role.grant_judge_model("qwen.qwen3-32b-v1:0")
    assert nag_errors(app) == []


def test_readme_snippet_grant_register_training_role_works_as_written(stack):
    """The README's ``group.grant_register(training_role)``: the construct itself is an IGrantable."""
    training_role = make_role(stack)
    group = ModelPackageGroup(stack, "Other", model_package_group_name="support-sft")
    grant = group.grant_register(training_role)
    assert isinstance(grant, iam.Grant) and grant.success
    assert training_role.grant_principal is not None
    [statement] = [
        s
        for s in statements_with(Template.from_stack(stack), "sagemaker:CreateModelPackage")
        if "support-sft" in flat(s)
    ]
    assert ":model-package/support-sft/*" in flat(statement["Resource"])
    assert iam.Grant.add_to_principal(
        grantee=training_role, actions=["s3:GetObject"], resource_arns=["arn:aws:s3:::b/k"]
    ).success


def test_evaluator_read_grants_the_hub_with_its_content(stack):
    role = make_role(stack)
    role.grant_hub_content_read("team-hub", "JsonDoc", "reward")
    [statement] = [
        s
        for s in statements_with(Template.from_stack(stack), "sagemaker:DescribeHubContent")
        if "team-hub" in flat(s)
    ]
    text = flat(statement["Resource"])
    assert ":hub/team-hub" in text and ":hub-content/team-hub/JsonDoc/reward/*" in text


def test_readme_model_package_group_usage_runs_as_written(stack):
    """The README's ModelPackageGroup usage block, executed verbatim with a TrainingExecutionRole."""
    section = (REPO / "README.md").read_text().split("### ModelPackageGroup", 1)[1].split("\n### ", 1)[0]
    [code] = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert "group.grant_register(training_role)" in code
    namespace = {
        "self": stack,
        "reader_role": iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal()),
        "training_role": make_role(Construct(stack, "Training")),
    }
    exec(code, namespace)  # noqa: S102 - the documented snippet itself
    registers = [
        s
        for s in statements_with(Template.from_stack(stack), "sagemaker:CreateModelPackage")
        if "support-sft" in flat(s)
    ]
    assert len(registers) == 1


def test_every_grant_returns_the_grant(stack):
    role = make_role(stack)
    bucket = s3.Bucket.from_bucket_name(stack, "Extra", "extra-bucket")
    key = kms.Key.from_key_arn(stack, "ExtraKey", "arn:aws:kms:us-east-1:123456789012:key/abcd")
    grants = [
        role.grant_judge_model("qwen.qwen3-32b-v1:0"),
        role.grant_hub_content_read("team-hub", "DataSet", "rows"),
        role.grant_s3_read(bucket, "in/"),
        role.grant_s3_read_write(bucket, "out/"),
        role.grant_kms_key(key),
        role.grant_pass_role(iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())),
    ]
    assert all(isinstance(grant, iam.Grant) and grant.success for grant in grants)
    assert not [name for name in dir(role) if name.startswith("add_")]


def test_malformed_mlflow_arn_is_a_validation_error_with_the_path(stack):
    with pytest.raises(ConstructValidationError, match=r"^Stack/SageMakerRole: 'mlflow' is not mlflow_resource_arn"):
        make_role(stack, mlflow_resource_arn="mlflow")
