"""``BucketEventCheck``: fail the deployment when an imported bucket cannot start retraining.

Retraining triggers and the retraining pipeline start on S3 "Object Created" events that the bucket sends to
Amazon EventBridge; the pipeline's S3 source also needs versioning. Stack-created buckets get both; a bucket
the stack does not own is only read (``runtime/bucket_event_check.py``), never changed.
"""

from __future__ import annotations

from aws_cdk import CustomResource
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .runtime_provider import RuntimeProvider

PROVIDER_ID = "BucketEventCheckProvider"


class BucketEventCheck(Construct):
    """A deploy-time read of ``bucket``'s EventBridge notifications (and versioning).

    :param bucket: the imported bucket a retraining trigger or pipeline watches.
    :param versioning: also require versioning (the pipeline's S3 source). Default: False.
    :param used_by: what watches the bucket, for the failure message. Default: "a retraining trigger".

    The handler may only ``s3:GetBucketNotification`` and ``s3:GetBucketVersioning`` on that bucket.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: s3.IBucket,
        versioning: bool = False,
        used_by: str = "a retraining trigger",
    ) -> None:
        super().__init__(scope, id)
        provider = RuntimeProvider.of(
            self,
            PROVIDER_ID,
            modules=("bucket_event_check",),
            handler="bucket_event_check.on_event",
            description="Checks that imported buckets send events to EventBridge (and are versioned)",
        )
        actions = ["s3:GetBucketNotification"] + (["s3:GetBucketVersioning"] if versioning else [])
        provider.allow(actions, [bucket.bucket_arn])
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::S3BucketEventCheck",
            properties={
                "BucketName": bucket.bucket_name,
                "RequireVersioning": "true" if versioning else "false",
                "UsedBy": used_by,
            },
        )


def needs_check(bucket: s3.IBucket) -> bool:
    """True for a bucket this app does not create (imported by name or ARN)."""
    return not isinstance(bucket, s3.Bucket)
