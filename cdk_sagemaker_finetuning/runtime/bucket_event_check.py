"""Deploy-time check that an imported bucket can drive retraining (standard library + boto3 only).

Custom resource (Provider framework ``onEvent``). Retraining starts on S3 "Object Created" events delivered
through Amazon EventBridge, which the bucket owner must turn on; the retraining pipeline's S3 source also
needs a versioned bucket. A bucket this stack does not own is never changed: Create and Update read its
notification configuration (``EventBridgeConfiguration`` present) and, when asked, its versioning
(``Status: Enabled``) and fail the deployment with one paragraph naming the bucket and the setting to turn on.
Delete does nothing.

Resource properties: ``BucketName``; ``RequireVersioning`` (``"true"`` | ``"false"``); ``UsedBy`` (what
watches the bucket, for the message).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

EVENTBRIDGE_DOCS = (
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-event-notifications-eventbridge.html"
)
VERSIONING_DOCS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/manage-versioning-examples.html"


def _read(s3: Any, bucket: str, operation: str, action: str) -> dict[str, Any]:
    try:
        return getattr(s3, operation)(Bucket=bucket)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchBucket", "404"):
            raise RuntimeError(
                f"Bucket {bucket} does not exist; create it or fix the data location."
            ) from None
        if code in ("AccessDenied", "403", "AllAccessDisabled"):
            raise RuntimeError(
                f"Cannot read the settings of bucket {bucket} ({action} denied): a bucket in another account "
                f"must allow {action} to this stack's check, or retraining must use a bucket of this account."
            ) from None
        raise RuntimeError(f"Reading the settings of bucket {bucket} failed: {code}: {exc}") from None
    except BotoCoreError as exc:
        raise RuntimeError(f"Reading the settings of bucket {bucket} failed: {exc}") from None


def missing_settings(s3: Any, bucket: str, *, versioning: bool) -> list[str]:
    """The settings retraining needs that ``bucket`` lacks (empty when it is ready)."""
    missing = []
    notifications = _read(s3, bucket, "get_bucket_notification_configuration", "s3:GetBucketNotification")
    if "EventBridgeConfiguration" not in notifications:
        missing.append(
            f"sending events to Amazon EventBridge (Properties > Amazon EventBridge; {EVENTBRIDGE_DOCS})"
        )
    if versioning:
        status = _read(s3, bucket, "get_bucket_versioning", "s3:GetBucketVersioning").get("Status")
        if status != "Enabled":
            state = (status or "never enabled").lower()
            missing.append(f"versioning (now {state}; Properties > Bucket Versioning; {VERSIONING_DOCS})")
    return missing


def message(bucket: str, used_by: str, missing: list[str]) -> str:
    """One paragraph for the failed deployment."""
    settings = " and ".join(missing)
    return (
        f"Bucket {bucket} is watched by {used_by}, but it does not have {settings} turned on, so new data "
        "would never start a training run. This stack does not change buckets it does not own: turn the "
        f"setting{'s' if len(missing) > 1 else ''} on for {bucket} (console or aws s3api), then deploy again."
    )


def on_event(event: Mapping[str, Any], context: Any, s3: Any = None) -> dict[str, Any]:
    """Provider framework ``onEvent``: Create/Update check the bucket; Delete does nothing."""
    properties = event.get("ResourceProperties") or {}
    bucket = str(properties.get("BucketName") or "")
    physical_id = event.get("PhysicalResourceId") or f"{bucket}-retraining-check"
    if event.get("RequestType") == "Delete":
        return {"PhysicalResourceId": physical_id}
    if not bucket:
        raise RuntimeError("BucketName is required")
    versioning = str(properties.get("RequireVersioning", "false")).lower() == "true"
    missing = missing_settings(s3 or boto3.client("s3"), bucket, versioning=versioning)
    if missing:
        raise RuntimeError(message(bucket, str(properties.get("UsedBy") or "a retraining trigger"), missing))
    return {"PhysicalResourceId": physical_id, "Data": {"BucketName": bucket}}
