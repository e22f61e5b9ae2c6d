"""Imported retraining buckets get a deploy-time check (read-only, exact IAM); stack-created ones do not."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from cdk_sagemaker_finetuning.constructs.project import FineTuningProject
from tests.constructs.helpers import nag_errors, statements_with

MODEL = "meta-textgeneration-llama-3-2-1b-instruct"


def project(stack, retraining: dict, create_bucket: bool = False) -> FineTuningProject:
    data = {"create_bucket": True, "train": "train/train.jsonl"} if create_bucket else {
        "train": "s3://their-data/train/train.jsonl"}
    return FineTuningProject(stack, "Demo", name="demo", technique="sft", base_model=MODEL, accept_eula=True,
                             data=data, retraining=retraining)


def checks(template: Template) -> list[dict]:
    return list(template.find_resources("Custom::S3BucketEventCheck").values())


def test_new_data_trigger_on_an_imported_bucket_checks_eventbridge_only():
    stack = cdk.Stack(cdk.App(), "S")
    project(stack, {"on_new_data": {"prefix": "incoming/"}})
    template = Template.from_stack(stack)
    [check] = checks(template)
    assert check["Properties"]["BucketName"] == "their-data"
    assert check["Properties"]["RequireVersioning"] == "false"
    assert "'incoming/'" in check["Properties"]["UsedBy"]
    [statement] = statements_with(template, "s3:GetBucketNotification")
    assert statement["Action"] == "s3:GetBucketNotification"
    assert statement["Resource"] == {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::their-data"]]}
    assert not statements_with(template, "s3:PutBucketNotification")
    [rule_id] = [k for k, r in template.find_resources("AWS::Events::Rule").items()
                 if "Object Created" in str(r["Properties"].get("EventPattern"))]
    check_id = next(iter(template.find_resources("Custom::S3BucketEventCheck")))
    assert check_id in template.to_json()["Resources"][rule_id]["DependsOn"]


def test_pipeline_on_an_imported_bucket_also_checks_versioning():
    stack = cdk.Stack(cdk.App(), "S")
    project(stack, {"pipeline": {}})
    template = Template.from_stack(stack)
    [check] = checks(template)
    assert check["Properties"]["RequireVersioning"] == "true"
    assert "train/train.jsonl" in check["Properties"]["UsedBy"]
    [statement] = [s for s in statements_with(template, "s3:GetBucketVersioning")
                   if "s3:GetBucketNotification" in s["Action"]]
    assert sorted(statement["Action"]) == ["s3:GetBucketNotification", "s3:GetBucketVersioning"]


def test_trigger_and_pipeline_share_one_provider():
    stack = cdk.Stack(cdk.App(), "S")
    project(stack, {"on_new_data": {}, "pipeline": {}})
    template = Template.from_stack(stack)
    assert len(checks(template)) == 2
    assert stack.node.try_find_child("BucketEventCheckProvider") is not None
    handlers = [f for f in template.find_resources("AWS::Lambda::Function").values()
                if f["Properties"].get("Handler") == "bucket_event_check.on_event"]
    assert len(handlers) == 1


def test_stack_created_bucket_needs_no_check():
    stack = cdk.Stack(cdk.App(), "S")
    project(stack, {"on_new_data": {}, "pipeline": {}}, create_bucket=True)
    assert checks(Template.from_stack(stack)) == []


@pytest.mark.parametrize("retraining", [{"on_new_data": {}}, {"pipeline": {}}], ids=["trigger", "pipeline"])
def test_checked_stacks_are_nag_clean(retraining):
    app = cdk.App()
    project(cdk.Stack(app, "S"), retraining)
    assert nag_errors(app) == []


def test_check_asset_holds_only_its_module_and_imports_like_lambda(tmp_path):
    import os
    import subprocess
    import sys

    app = cdk.App(outdir=str(tmp_path))
    project(cdk.Stack(app, "S"), {"on_new_data": {}})
    app.synth()
    [folder] = [p.parent for p in tmp_path.glob("asset.*/bucket_event_check.py") if not (p.parent / "preflight.py").exists()]
    assert [p.name for p in folder.iterdir()] == ["bucket_event_check.py"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = "import bucket_event_check as c; print(c.on_event({'RequestType': 'Delete', 'PhysicalResourceId': 'x'}, None))"
    answer = subprocess.run([sys.executable, "-s", "-c", code], cwd=folder, env=env, capture_output=True,
                            text=True, check=True)
    assert answer.stdout.strip() == "{'PhysicalResourceId': 'x'}"
