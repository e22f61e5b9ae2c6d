"""Deploy-time check of an imported retraining bucket (Stubber): EventBridge notifications and versioning."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from cdk_sagemaker_finetuning.runtime import bucket_event_check as check

BUCKET = "their-data"
NOTIFICATIONS_ON = {"EventBridgeConfiguration": {}}


@pytest.fixture
def s3():
    client = boto3.client("s3", region_name="us-east-1")
    stub = Stubber(client)
    stub.activate()
    yield client, stub
    stub.assert_no_pending_responses()


def event(versioning: bool, request: str = "Create") -> dict:
    return {
        "RequestType": request,
        "ResourceProperties": {
            "BucketName": BUCKET,
            "RequireVersioning": "true" if versioning else "false",
            "UsedBy": "the retraining pipeline (source object train/train.jsonl)",
        },
    }


def expect(stub, notifications: dict, versioning: dict | None = None) -> None:
    stub.add_response("get_bucket_notification_configuration", notifications, {"Bucket": BUCKET})
    if versioning is not None:
        stub.add_response("get_bucket_versioning", versioning, {"Bucket": BUCKET})


def test_both_on_passes(s3):
    client, stub = s3
    expect(stub, {**NOTIFICATIONS_ON, "QueueConfigurations": []}, {"Status": "Enabled"})
    assert check.on_event(event(versioning=True), None, s3=client) == {
        "PhysicalResourceId": f"{BUCKET}-retraining-check",
        "Data": {"BucketName": BUCKET},
    }


def test_notifications_off_fails_with_one_paragraph_naming_bucket_and_setting(s3):
    client, stub = s3
    expect(stub, {"LambdaFunctionConfigurations": []})
    with pytest.raises(RuntimeError) as info:
        check.on_event(event(versioning=False), None, s3=client)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"Bucket {BUCKET} is watched by the retraining pipeline")
    assert "does not have sending events to Amazon EventBridge" in text
    assert "This stack does not change buckets it does not own" in text
    assert check.EVENTBRIDGE_DOCS in text and "versioning" not in text


@pytest.mark.parametrize(("answer", "state"), [({"Status": "Suspended"}, "suspended"), ({}, "never enabled")])
def test_versioning_off_fails_for_the_pipeline(s3, answer, state):
    client, stub = s3
    expect(stub, NOTIFICATIONS_ON, answer)
    with pytest.raises(RuntimeError) as info:
        check.on_event(event(versioning=True), None, s3=client)
    assert f"does not have versioning (now {state}; Properties > Bucket Versioning;" in str(info.value)
    assert "EventBridge (" not in str(info.value)


def test_both_off_names_both_settings(s3):
    client, stub = s3
    expect(stub, {}, {"Status": "Suspended"})
    with pytest.raises(RuntimeError, match="EventBridge .* and versioning .* turn the settings on for their-data"):
        check.on_event(event(versioning=True), None, s3=client)


def test_trigger_does_not_read_versioning(s3):
    client, stub = s3
    expect(stub, NOTIFICATIONS_ON)  # no GetBucketVersioning queued: the stub fails on an extra call
    assert check.on_event(event(versioning=False, request="Update"), None, s3=client)["Data"]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("NoSuchBucket", f"Bucket {BUCKET} does not exist"),
        ("AccessDenied", "(s3:GetBucketNotification denied)"),
    ],
)
def test_unreadable_bucket_fails_with_a_clear_message(s3, code, words):
    client, stub = s3
    stub.add_client_error("get_bucket_notification_configuration", code, "nope", expected_params={"Bucket": BUCKET})
    with pytest.raises(RuntimeError) as info:
        check.on_event(event(versioning=False), None, s3=client)
    assert words in str(info.value)


def test_delete_reads_nothing(s3):
    client, _ = s3
    done = check.on_event({**event(True, "Delete"), "PhysicalResourceId": "x"}, None, s3=client)
    assert done == {"PhysicalResourceId": "x"}
