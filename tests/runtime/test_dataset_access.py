"""Data a check may not read (AccessDenied): a named error with the grant to add, or for a registry
dataset's run-time location in the evaluation step, a skipped check with a note (botocore Stubber)."""

from __future__ import annotations

import json

import pytest

from cdk_sagemaker_finetuning.runtime import data_scan, errors
from cdk_sagemaker_finetuning.runtime import evaluation_step as es
from tests import workflow_data as wd
from tests.runtime import evaluation_aws as ea
from tests.runtime.test_preflight import Aws, _hub_content_response, run

LOCATION = {"DatasetS3Bucket": "reg-bucket", "DatasetS3Prefix": "ds/eval.jsonl"}
START = {"action": "start", "executionName": ea.EXECUTION, "modelPackageArn": ea.PACKAGE}


def registry_dataset(aws: Aws, document: dict = LOCATION) -> None:
    hub, kind, name, version = wd.DATASET_ARN.split(":hub-content/")[1].split("/")
    aws.sm.add_response(
        "describe_hub_content",
        _hub_content_response(wd.DATASET_ARN, kind, "Available", document),
        {"HubName": hub, "HubContentType": kind, "HubContentName": name, "HubContentVersion": version},
    )


def denied_listing(aws: Aws, bucket: str, prefix: str) -> None:
    aws.s3s.add_client_error(
        "list_objects_v2",
        "AccessDenied",
        "Access Denied",
        http_status_code=403,
        expected_params={"Bucket": bucket, "Prefix": prefix, "MaxKeys": 1000},
    )


def test_denied_listing_names_the_call_the_grant_and_the_preflight_fix():
    aws = Aws()
    denied_listing(aws, "data", "train/")
    with pytest.raises(errors.DatasetAccessDenied) as caught:
        data_scan.check_location(aws.s3, "s3://data/train/", "sft", False, field="data.train")
    message = caught.value.message
    assert caught.value.field == "data.train"
    assert type(caught.value).__name__ == "PreflightError.DatasetAccessDenied"
    assert "ListObjectsV2 was denied" in message
    assert "s3:ListBucket on bucket data and s3:GetObject on data/train/*" in message
    assert "bucket.grant_read(workflow.preflight_function)" in message


def test_denied_sample_read_is_the_same_named_error():
    aws = Aws()
    rows = wd.jsonl(wd.SFT_ROW)
    params = {"Bucket": "data", "Prefix": "t.jsonl", "MaxKeys": 1000}
    aws.s3s.add_response("list_objects_v2", {"Contents": [{"Key": "t.jsonl", "Size": len(rows)}]}, params)
    aws.s3s.add_client_error("get_object", "AccessDenied", "Access Denied", http_status_code=403)
    with pytest.raises(errors.DatasetAccessDenied, match="GetObject was denied"):
        data_scan.check_location(aws.s3, "s3://data/t.jsonl", "sft", False, field="data.train")


def test_training_preflight_on_a_registry_dataset_it_may_not_read():
    aws = Aws()
    aws.identity()
    aws.group()
    aws.hub()
    aws.spec()
    registry_dataset(aws)
    denied_listing(aws, "reg-bucket", "ds/eval.jsonl")
    with pytest.raises(errors.DatasetAccessDenied, match="preflight_function") as caught:
        run(aws, trainUri=wd.DATASET_ARN)
    assert caught.value.field == "data.train" and "s3://reg-bucket/ds/eval.jsonl" in caught.value.message


def test_evaluation_on_a_registry_dataset_it_may_not_read_starts_with_a_note(capsys):
    cfg = ea.config(ea.GATE, judge=True, dataset=wd.DATASET_ARN)
    aws = ea.EvalAws()
    aws.lookup(cfg)
    registry_dataset(aws)
    denied_listing(aws, "reg-bucket", "ds/eval.jsonl")
    for job in ea.planned(cfg):
        if not job["after"]:
            aws.create(job["request"])
    state = es.run(cfg, START, aws.clients)
    aws.done()
    check = state["datasetCheck"]
    assert check["checked"] is False and check["location"] == "s3://reg-bucket/ds/eval.jsonl"
    assert check["note"].startswith(f"evaluation.dataset {wd.DATASET_ARN}: format not checked.")
    assert "bucket.grant_read(workflow.evaluation_function)" in check["note"]
    assert [j["status"] for j in state["jobs"]] == ["InProgress", "InProgress", "Pending"]
    [warning] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "WARNING" in line]
    assert warning == {"level": "WARNING", "field": "evaluation.dataset", "message": check["note"]}


def test_evaluation_on_an_s3_dataset_it_may_not_read_fails_named_before_any_job(monkeypatch):
    cfg = ea.config(ea.GATE, judge=True)
    aws = ea.EvalAws()
    aws.lookup(cfg)
    denied_listing(aws, "demo-data", "eval.jsonl")
    monkeypatch.setenv("WORKFLOW_CONFIG", json.dumps(cfg))
    with pytest.raises(errors.DatasetAccessDenied) as caught:  # no CreateTrainingJob stubbed: none sent
        es.handler(START, None, aws.clients)
    assert caught.value.field == "evaluation.dataset"
    assert "workflow.evaluation_function" in caught.value.message
    aws.done()


def test_evaluation_on_a_registry_dataset_without_a_location_notes_the_unchecked_format():
    cfg = ea.config(ea.GATE, judge=True, dataset=wd.DATASET_ARN)
    aws = ea.EvalAws()
    aws.lookup(cfg)
    registry_dataset(aws, {"DatasetRoleArn": wd.ROLE_ARN})
    for job in ea.planned(cfg):
        if not job["after"]:
            aws.create(job["request"])
    check = es.run(cfg, START, aws.clients)["datasetCheck"]
    aws.done()
    assert (
        check["checked"] is False
        and "names no S3 location (DatasetS3Bucket, DatasetS3Prefix)" in check["note"]
    )
