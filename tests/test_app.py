"""The default app: a stack per example spec, cdk-nag clean, cfn-lint clean, synthesizable by the CDK CLI."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import aws_cdk as cdk
from aws_cdk.assertions import Template

from app import SPECS_CONTEXT_KEY
from cdk_sagemaker_finetuning.spec import load_spec
from cdk_sagemaker_finetuning.stack import FineTuningStack
from tests.cfn_lint import lint_errors
from tests.conftest import EXAMPLES, REPO
from tests.constructs.helpers import acknowledgments, flat, nag_errors, statements_with

EXAMPLE_SPECS = sorted(str(p.relative_to(REPO)) for p in EXAMPLES.glob("*.yaml"))


def test_one_stack_per_example_spec(example_app):
    names = sorted(stack.stack_name for stack in example_app.node.children if isinstance(stack, cdk.Stack))
    assert names == sorted(f"FineTuning-{load_spec(REPO / p).name}" for p in EXAMPLE_SPECS)


def test_example_app_has_no_unacknowledged_cdk_nag_errors(example_app):
    assert nag_errors(example_app) == []


def test_every_acknowledgment_has_a_reason(example_app):
    found = acknowledgments(example_app)
    assert found
    for entry in found:
        for rule, reason in entry.items():
            assert isinstance(reason, str) and len(reason.strip()) >= 20, rule


def test_cfn_lint_finds_no_errors(example_app):
    example_app.synth()  # once per session: cached after the first call
    templates = sorted(Path(example_app.outdir).glob("*.template.json"))
    assert len(templates) == len(EXAMPLE_SPECS)
    assert lint_errors(templates, regions=["us-east-1", "us-west-2"]) == {}


def test_cdk_cli_synthesizes_offline(tmp_path):
    cdk_bin = REPO / "node_modules" / ".bin" / "cdk"
    assert cdk_bin.exists(), "run `make test` (it installs the pinned CDK CLI)"
    # CDK's built-in CloudFormation validation on, as in a user's shell (the suite turns it off in-process)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "CDK_VALIDATION"}
    env.update(CDK_DISABLE_CLI_TELEMETRY="true", PATH=f"{Path(os.sys.executable).parent}:{env['PATH']}")
    result = subprocess.run(
        [str(cdk_bin), "synth", "--quiet", "--no-notices", "--output", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    configured = json.loads((REPO / "cdk.json").read_text())["context"][SPECS_CONTEXT_KEY]
    assert len(list(tmp_path.glob("*.template.json"))) == len(configured)
    # CDK's validation report: a finding would be a violation here (and a warning printed by `cdk synth`)
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []
    assert "Template validation found issues" not in result.stderr + result.stdout
    # cdk.json configures every recommended feature flag; app.py keeps jsii's Node quiet
    assert "feature flags" not in result.stderr
    assert "!!" not in result.stderr and "Node" not in result.stderr, result.stderr


def stack_for(data: dict, **kwargs) -> tuple[FineTuningStack, Template]:
    from cdk_sagemaker_finetuning.spec import FineTuningSpec

    stack = FineTuningStack(cdk.App(), "Project", spec=FineTuningSpec.from_dict(data, **kwargs))
    return stack, Template.from_stack(stack)


def test_stack_outputs_the_values_the_notebook_reads(sft_spec_dict):
    _, template = stack_for(sft_spec_dict)
    assert set(template.to_json()["Outputs"]) == {
        "ExecutionRoleArn",
        "ModelPackageGroupName",
        "ModelPackageGroupArn",
        "TrainUri",
        "OutputUri",
        "StateMachineArn",
    }


def test_created_buckets_are_secure_and_retained(sft_spec_dict):
    _, template = stack_for({**sft_spec_dict, "data": {"create_bucket": True, "train": "train/"}})
    buckets = template.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 3  # data, output and their access-log bucket
    for bucket in buckets.values():
        assert bucket["DeletionPolicy"] == "Retain"
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    policies = flat(template.find_resources("AWS::S3::BucketPolicy"))
    assert '"aws:SecureTransport": "false"' in policies


def test_existing_group_and_external_locations_create_nothing_stateful(sft_spec_dict):
    data = {
        **sft_spec_dict,
        "model_package_group": {"name": "shared-group", "existing": True},
        "output": {"s3_uri": "s3://their-out/prefix/"},
    }
    stack, template = stack_for(data)
    template.resource_count_is("AWS::S3::Bucket", 0)
    template.resource_count_is("AWS::SageMaker::ModelPackageGroup", 0)
    assert "model-package-group/shared-group" in flat(
        stack.resolve(stack.model_package_group.model_package_group_arn)
    )
    reads = flat([s["Resource"] for s in statements_with(template, "s3:GetObject")])
    assert "demo-data/train.jsonl*" in reads and "their-out/prefix/*" in reads


def test_spec_tags_are_applied(sft_spec_dict):
    stack, template = stack_for({**sft_spec_dict, "tags": {"team": "ml"}})
    assert stack.tags.tag_values() == {"team": "ml"}  # stack tags, explicit (@aws-cdk/core:explicitStackTags)
    for role in template.find_resources("AWS::IAM::Role").values():
        assert {"Key": "team", "Value": "ml"} in role["Properties"]["Tags"]
