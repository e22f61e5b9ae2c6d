"""FineTuningPlatform: 100 mixed projects in one app, every template inside CloudFormation's quotas, shared
pieces once, cdk-nag and cfn-lint clean, least privilege across projects, and the CLI finds a project's outputs
in the nested stacks (CloudFormation stubbed)."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from botocore.stub import Stubber

from cdk_sagemaker_finetuning.commands import _aws, project_outputs
from cdk_sagemaker_finetuning.constructs import FineTuningPlatform
from cdk_sagemaker_finetuning.constructs.errors import ConstructValidationError
from cdk_sagemaker_finetuning.constructs.limits import TEMPLATE_BYTES
from cdk_sagemaker_finetuning.constructs.orphaned_job_stopper import WORKFLOWS_PER_RULE
from cdk_sagemaker_finetuning.notebook import stack_outputs
from cdk_sagemaker_finetuning.spec import FineTuningSpec
from tests import workflow_data as wd
from tests.cfn_lint import lint_errors
from tests.conftest import cdk_json_context
from tests.constructs.helpers import flat, nag_errors

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SFT = {
    "technique": "sft",
    "base_model": wd.LLAMA,
    "accept_eula": True,
    "data": {"train": "s3://demo-data/train.jsonl"},
}
OWN_DATA = {"data": {"create_bucket": True, "train": "train/train.jsonl"}}
QWEN = "huggingface-reasoning-qwen3-8b"
KINDS = {
    "sft": SFT,
    "dpo": {**SFT, "technique": "dpo", "base_model": QWEN, "accept_eula": False},
    "rlvr": {
        **SFT,
        **OWN_DATA,
        "technique": "rlvr",
        "base_model": QWEN,
        "accept_eula": False,
        "reward": {"builtin": "numeric_answer"},
    },
    "rlaif": {
        **SFT,
        "technique": "rlaif",
        "base_model": QWEN,
        "accept_eula": False,
        "rlaif": {"judge_model_id": "qwen.qwen3-32b-v1:0", "prompt": "Builtin.Summarize"},
    },
    "retrain": {
        **SFT,
        **OWN_DATA,
        "retraining": {"on_new_data": {"prefix": "incoming/"}, "schedule": "rate(7 days)"},
        "notifications": {"emails": ["ml@example.com"]},
    },
}
PROJECTS = 100


def kind_of(index: int) -> str:
    return list(KINDS)[index % len(KINDS)]


@pytest.fixture(scope="module")
def hundred(tmp_path_factory) -> dict[str, Any]:
    """100 mixed projects through one FineTuningPlatform, synthesized once with the AwsSolutions checks."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("hundred")), context=cdk_json_context())
    stack = cdk.Stack(app, "Platform")
    platform = FineTuningPlatform(stack, "FineTuning", notification_emails=["platform@example.com"])
    for index in range(PROJECTS):
        platform.add_project(name=f"{kind_of(index)}-{index}", **KINDS[kind_of(index)])
    findings = nag_errors(app)
    out = Path(app.outdir)
    templates = {path.name: json.loads(path.read_text()) for path in out.glob("*.template.json")}
    return {
        "app": app,
        "stack": stack,
        "platform": platform,
        "findings": findings,
        "out": out,
        "templates": templates,
        "parent": templates[stack.template_file],
    }


def nested_template(hundred: dict[str, Any], name: str) -> dict:
    return hundred["templates"][hundred["platform"].nested_stacks[name].template_file]


def of_type(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template.get("Resources", {}).items() if r["Type"] == kind}


def test_one_template_per_project_plus_the_platform(hundred):
    assert len(hundred["templates"]) == PROJECTS + 1
    assert len(of_type(hundred["parent"], "AWS::CloudFormation::Stack")) == PROJECTS


def test_every_template_is_inside_every_cloudformation_quota(hundred):
    for name, template in hundred["templates"].items():
        counts = {what: len(template.get(what, {})) for what in ("Resources", "Outputs", "Parameters")}
        assert counts["Resources"] <= 500 and counts["Outputs"] <= 200 and counts["Parameters"] <= 200, (
            name,
            counts,
        )
        assert (hundred["out"] / name).stat().st_size <= TEMPLATE_BYTES, name


def test_cdk_nag_clean_on_the_platform_and_every_nested_stack(hundred):
    assert hundred["findings"] == []


def test_cfn_lint_clean_on_the_platform_and_one_nested_stack_per_kind(hundred):
    names = [hundred["stack"].template_file] + [
        hundred["platform"].nested_stacks[f"{kind}-{index}"].template_file for index, kind in enumerate(KINDS)
    ]
    assert lint_errors(hundred["out"] / name for name in names) == {}


def test_shared_pieces_exist_once_in_the_platform_stack(hundred):
    parent, templates = hundred["parent"], hundred["templates"]
    nested = [t for name, t in templates.items() if name != hundred["stack"].template_file]
    handlers = [r["Properties"].get("Handler") for r in of_type(parent, "AWS::Lambda::Function").values()]
    assert handlers.count("runtime.stop_orphaned_job.handler") == 1
    assert len(of_type(parent, "AWS::SNS::Topic")) == 1 and len(of_type(parent, "AWS::Logs::LogGroup")) >= 1
    assert len([k for k in of_type(parent, "AWS::S3::Bucket") if k.startswith("FineTuningAccessLogs")]) == 1
    [logs_policy] = of_type(parent, "AWS::S3::BucketPolicy").values()  # not one statement per project bucket
    statements = logs_policy["Properties"]["PolicyDocument"]["Statement"]
    delivery = [s for s in statements if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}]
    assert len(statements) == 2 and len(delivery) == 1
    assert delivery[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert (
        len(
            [
                k
                for k in of_type(parent, "AWS::Lambda::Function")
                if k.startswith("HubEvaluatorProviderOnEvent")
            ]
        )
        == 1
    )
    for template in nested:
        functions = of_type(template, "AWS::Lambda::Function").values()
        assert "runtime.stop_orphaned_job.handler" not in [f["Properties"].get("Handler") for f in functions]
        assert not [k for k in template["Resources"] if k.startswith("HubEvaluatorProvider")]
        assert not of_type(
            template, "AWS::SNS::Topic"
        )  # projects asking for notifications use the platform's
        assert not [
            r for r in of_type(template, "AWS::S3::Bucket").values() if "OwnershipControls" in r["Properties"]
        ]


def test_minimal_sft_project_has_twelve_resources_and_no_rule_of_its_own(hundred):
    template = nested_template(hundred, "sft-0")
    assert len(template["Resources"]) <= 12
    assert not of_type(template, "AWS::Events::Rule")


def test_the_stopper_serves_every_workflow_ten_per_rule(hundred):
    rules = of_type(hundred["parent"], "AWS::Events::Rule")
    matched = [
        m for r in rules.values() for m in r["Properties"]["EventPattern"]["detail"]["stateMachineArn"]
    ]
    assert len(rules) == PROJECTS // WORKFLOWS_PER_RULE and len(matched) == PROJECTS
    assert all("Fn::GetAtt" in m and m["Fn::GetAtt"][1].startswith("Outputs.") for m in matched)
    inputs = flat([r["Properties"]["Targets"][0]["InputTransformer"] for r in rules.values()])
    assert all(f'\\",\\"{kind_of(i)}-{i}\\"]' in inputs for i in range(PROJECTS))


def test_project_roles_stay_inside_their_own_project(tmp_path):
    """Two projects of one platform: no role of one names the other's bucket, group, jobs or workflow."""
    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    stack = cdk.Stack(app, "Two")
    platform = FineTuningPlatform(stack, "FineTuning")
    alpha = platform.add_project(name="alpha", **KINDS["rlvr"])
    platform.add_project(name="beta", **{**KINDS["rlvr"], "data": {"train": "s3://beta-data/train.jsonl"}})
    app.synth()
    for mine, other in (("alpha", "beta"), ("beta", "alpha")):
        template = json.loads((tmp_path / platform.nested_stacks[mine].template_file).read_text())
        policies = flat(
            {**of_type(template, "AWS::IAM::Policy"), **of_type(template, "AWS::IAM::ManagedPolicy")}
        ).lower()
        assert other not in policies, f"a role of {mine} names {other}"
        assert f"model-package/{mine}/*" in policies and f"training-job/{mine}*" in policies
        assert not [p for p in template.get("Parameters", {}) if other in p.lower()]
    assert alpha.data_bucket is not None and "beta-data" not in flat(
        stack.resolve(alpha.training_role.role_arn)
    )


def test_names_are_unique_across_the_platform():
    platform = FineTuningPlatform(cdk.Stack(cdk.App(), "Dup"), "FineTuning")
    platform.add_project(name="same", **SFT)
    with pytest.raises(ConstructValidationError, match="same"):
        platform.add_project(name="same", **SFT, id="Other")
    with pytest.raises(ConstructValidationError, match="either spec or the spec's fields"):
        platform.add_project(FineTuningSpec.from_dict({"name": "x", **SFT}), name="x")


# -- the CLI finds a project's outputs ----------------------------------------------------------------------


@pytest.fixture
def cfn(monkeypatch):
    """The Stubber of the CloudFormation client the CLI gets (request parameters checked by botocore)."""
    client = boto3.client("cloudformation", region_name=wd.REGION)
    monkeypatch.setattr(_aws, "client", lambda args, service: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


ARGS = argparse.Namespace(region=wd.REGION, profile=None)


def described(stack: str, outputs: dict[str, str]) -> dict:
    return {
        "Stacks": [
            {
                "StackName": stack,
                "CreationTime": "2026-12-01T00:00:00Z",
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


def deployed_outputs(template: dict, prefix: str) -> dict[str, str]:
    """A nested stack's project outputs as CloudFormation would report them (tokens replaced by stand-ins)."""
    return {k: f"value-of-{k}" for k in template["Outputs"] if k.startswith(prefix)}


def test_cli_reads_the_project_outputs_from_its_nested_stack(hundred, cfn):
    parent, stack = hundred["parent"], "Platform"
    name = "rlvr-2"
    template = nested_template(hundred, name)
    nested_ids = list(of_type(parent, "AWS::CloudFormation::Stack"))
    arn = f"arn:aws:cloudformation:{wd.REGION}:{wd.ACCOUNT}:stack/Platform-{{}}/1"
    cfn.add_response("describe_stacks", described(stack, {}), {"StackName": stack})  # export_outputs off
    cfn.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": logical,
                    "PhysicalResourceId": arn.format(logical),
                    "ResourceType": "AWS::CloudFormation::Stack",
                    "LastUpdatedTimestamp": "2026-12-01T00:00:00Z",
                    "ResourceStatus": "CREATE_COMPLETE",
                }
                for logical in nested_ids
            ]
        },
        {"StackName": stack},
    )
    [own] = [logical for logical in nested_ids if logical.startswith("FineTuningRlvr2NestedStack")]
    outputs = deployed_outputs(template, "Rlvr2")
    cfn.add_response("describe_stacks", described(own, outputs), {"StackName": arn.format(own)})
    found = project_outputs.find(ARGS, stack, name)  # one nested stack described: the project's own
    assert found["StateMachineArn"] == "value-of-Rlvr2StateMachineArn"
    assert set(found) == {"ExecutionRoleArn", "ModelPackageGroupName", "ModelPackageGroupArn", "TrainUri"} | {
        "OutputUri",
        "EvaluatorArn",
        "StateMachineArn",
    }


def test_outputs_file_of_a_platform_holds_each_project_as_json(hundred):
    parent = hundred["parent"]
    assert len(parent["Outputs"]) == PROJECTS  # one per project: the platform supports ~190 with them
    value = parent["Outputs"]["Dpo1Outputs"]["Value"]
    document = json.loads("".join(p if isinstance(p, str) else "x" for p in value["Fn::Join"][1]))
    assert set(document) == {"ExecutionRoleArn", "ModelPackageGroupName", "ModelPackageGroupArn"} | {
        "TrainUri",
        "OutputUri",
        "StateMachineArn",
    }
    outputs_file = {"Platform": {"Dpo1Outputs": json.dumps({**document, "StateMachineArn": "arn:sm"})}}
    spec = FineTuningSpec.from_dict({"name": "dpo-1", **KINDS["dpo"]})
    assert stack_outputs(outputs_file, spec)["StateMachineArn"] == "arn:sm"


def test_cli_reads_the_platform_json_output_with_one_call(cfn):
    document = {"ExecutionRoleArn": "arn:role", "StateMachineArn": "arn:sm", "TrainUri": "s3://d/t.jsonl"}
    cfn.add_response(
        "describe_stacks", described("P", {"SupportSftOutputs": json.dumps(document)}), {"StackName": "P"}
    )
    assert project_outputs.find(ARGS, "P", "support-sft") == document


def test_cli_names_the_missing_project(cfn):
    cfn.add_response(
        "describe_stacks", described("P", {"MathRlvrStateMachineArn": "arn:sm"}), {"StackName": "P"}
    )
    cfn.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": "P"})
    with pytest.raises(
        _aws.CommandError, match="no outputs of project 'support-sft'.*projects on the stack: MathRlvr"
    ):
        project_outputs.find(ARGS, "P", "support-sft")


def test_the_platform_example_synthesizes_clean(tmp_path):
    module_spec = importlib.util.spec_from_file_location(
        "finetuning_platform", EXAMPLES / "finetuning_platform.py"
    )
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    stack = module.build(app)
    assert nag_errors(app) == []
    assert len(list(tmp_path.glob("*.nested.template.json"))) == 3
    started = flat(json.loads((tmp_path / stack.template_file).read_text())["Resources"])
    assert started.count("states:StartExecution") >= 1
