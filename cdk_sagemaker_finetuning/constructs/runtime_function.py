"""The workflow's Lambda functions: the runtime folder as code, a role writing only its own retained log group."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .asset_staging import RUNTIME_DIR
from .nag import acknowledge

ASSET_EXCLUDE = ["**/__pycache__", "**/*.pyc", "reward", "reward/**"]


def runtime_function(
    scope: Construct,
    id: str,
    *,
    handler: str,
    description: str,
    environment: dict[str, str],
    retention: logs.RetentionDays,
) -> lambda_.Function:
    """A Python function running ``runtime/<handler>`` with its own role and log group (retained)."""
    log_group = logs.LogGroup(scope, f"{id}Logs", retention=retention, removal_policy=RemovalPolicy.RETAIN)
    role = iam.Role(
        scope,
        f"{id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=description[:1000],
    )
    log_group.grant_write(role)
    function = lambda_.Function(
        scope,
        id,
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler=handler,
        code=lambda_.Code.from_asset(str(RUNTIME_DIR), exclude=ASSET_EXCLUDE),
        description=description,
        environment=environment,
        timeout=Duration.seconds(60),
        memory_size=256,
        role=role,
        log_group=log_group,
    )
    function.node.add_dependency(role)
    acknowledge(
        role,
        {
            f"AwsSolutions-IAM5[Resource::<{logical_id(log_group)}.Arn>:*]": "CloudWatch Logs names streams at run time; the grant covers this function's own log group only.",
        },
    )
    return function


def logical_id(resource: Construct) -> str:
    """The CloudFormation logical id of an L2 construct's resource."""
    return Stack.of(resource).get_logical_id(resource.node.default_child)
