"""The log destinations the projects of a stack (or platform) share: the access-log bucket and the workflows'
log group (see ``shared.py`` for where they live)."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .arns import find_child, stack_of
from .nag import acknowledge
from .shared import shared_stack

ACCESS_LOGS_ID = "FineTuningAccessLogs"
WORKFLOW_LOGS_ID = "FineTuningWorkflowLogs"
LOG_DELIVERY_ID = "PlatformLogDelivery"
SECURE_BUCKET: dict[str, Any] = dict(
    encryption=s3.BucketEncryption.S3_MANAGED,
    block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
    enforce_ssl=True,
    versioned=True,
    removal_policy=RemovalPolicy.RETAIN,
)


def access_logs_target(project: Construct, bucket: s3.IBucket | None) -> s3.IBucket:
    """The bucket ``project``'s buckets log to: ``bucket``, else the stack's (or platform's) shared one.

    In a platform every project's buckets log to one bucket, and CDK would add one bucket-policy statement per
    source bucket (a bucket policy holds 20 KB: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html).
    There one statement lets S3 log delivery of this account write, and the project gets an imported handle.
    """
    stack = shared_stack(project)
    if bucket is None:
        bucket = find_child(stack, ACCESS_LOGS_ID) or _access_logs_bucket(stack)
    if stack is stack_of(project) or not isinstance(bucket, s3.Bucket):
        return bucket
    if find_child(bucket, LOG_DELIVERY_ID) is None:
        Construct(bucket, LOG_DELIVERY_ID)  # marks the statement as added
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects("*")],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(bucket).account}},
            )
        )
    return s3.Bucket.from_bucket_name(project, "AccessLogsBucket", bucket.bucket_name)


def _access_logs_bucket(stack: Stack) -> s3.Bucket:
    bucket = s3.Bucket(
        stack, ACCESS_LOGS_ID, **SECURE_BUCKET, object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED
    )
    acknowledge(
        bucket, {"AwsSolutions-S1": "This is the server access log bucket; logging to itself would loop."}
    )
    return bucket


def workflow_log_group(scope: Construct) -> logs.ILogGroup:
    """One retained log group for every workflow of the stack (or platform): Step Functions adds each
    logging log group to the account's CloudWatch Logs resource policy, which holds 5,120 characters
    (https://docs.aws.amazon.com/step-functions/latest/dg/bp-cwl.html). Streams are named per state machine."""
    stack = shared_stack(scope)
    existing = find_child(stack, WORKFLOW_LOGS_ID)
    if isinstance(existing, logs.LogGroup):
        return existing
    return logs.LogGroup(
        stack, WORKFLOW_LOGS_ID, retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN
    )
