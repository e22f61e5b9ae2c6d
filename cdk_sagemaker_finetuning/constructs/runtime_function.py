"""The workflow's Lambda functions (the runtime folder as code, a role writing only its own retained log group)
and the dead-letter queue their asynchronous invocations end in."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .arns import stack_of
from .asset_staging import runtime_asset, runtime_handler
from .nag import acknowledge, findings

DEAD_LETTER_RETENTION = Duration.days(14)  # the SQS maximum
# Read once, not per function (each is a jsii round trip).
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
TIMEOUT = Duration.seconds(60)
LAMBDA_PRINCIPAL = iam.ServicePrincipal("lambda.amazonaws.com")  # a value, shared by the functions' roles
#: The runtime package's code per stack: an asset binds to the first stack that uses it and is shared there.
_CODE: weakref.WeakKeyDictionary[Stack, lambda_.Code] = weakref.WeakKeyDictionary()


def runtime_function(
    scope: Construct,
    id: str,
    *,
    handler: str,
    description: str,
    environment: dict[str, str],
    retention: logs.RetentionDays,
) -> lambda_.Function:
    """A Python function (arm64) running ``handler`` (``<module>.<function>`` of the runtime package, staged
    as the package ``runtime``) with its own role and log group (retained)."""
    props = runtime_function_props(
        scope, id, handler=handler, description=description, environment=environment, retention=retention
    )
    function = lambda_.Function(scope, id, **props)
    finish_runtime_function(scope, function, props)
    return function


def runtime_function_props(
    scope: Construct,
    id: str,
    *,
    handler: str,
    description: str,
    environment: dict[str, str],
    retention: logs.RetentionDays,
) -> dict[str, Any]:
    """The ``lambda_.Function`` props of :func:`runtime_function`, creating its log group and role next to it
    (for a subclass of ``lambda_.Function``; call :func:`finish_runtime_function` on the function)."""
    log_group = logs.LogGroup(scope, f"{id}Logs", retention=retention, removal_policy=RemovalPolicy.RETAIN)
    role = iam.Role(
        scope,
        f"{id}Role",
        assumed_by=LAMBDA_PRINCIPAL,
        description=description[:1000],
    )
    log_group.grant_write(role)
    return dict(
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler=runtime_handler(handler),
        code=runtime_code(scope),
        description=description,
        environment=environment,
        timeout=TIMEOUT,
        memory_size=256,
        role=role,
        log_group=log_group,
    )


def runtime_code(scope: Construct) -> lambda_.Code:
    """The runtime package as Lambda code, one per stack (the functions of a stack share its asset)."""
    stack = stack_of(scope)
    code = _CODE.get(stack)
    if code is None:
        code = _CODE[stack] = lambda_.Code.from_asset(str(runtime_asset()))
    return code


def finish_runtime_function(
    scope: Construct,
    function: lambda_.Function,
    props: dict[str, Any],
    reasons: Mapping[str, str] | None = None,
) -> None:
    """The role before the function; the role's log-stream wildcard and ``reasons`` (cdk-nag finding id ->
    reason) acknowledged on it in one call (``props``: the function's :func:`runtime_function_props` in
    ``scope``)."""
    role, log_group = props["role"], props["log_group"]
    function.node.add_dependency(role)
    reason = "CloudWatch Logs names streams at run time; the grant covers this function's own log group only."
    acknowledge(role, {**findings(scope, [(f"{log_group.log_group_arn}:*", reason)]), **(reasons or {})})


def dead_letter_queue(scope: Construct, id: str) -> sqs.Queue:
    """An SQS queue for undeliverable events: SQS-managed encryption, TLS only, 14 days, retained."""
    queue = sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=DEAD_LETTER_RETENTION,
        removal_policy=RemovalPolicy.RETAIN,
    )
    acknowledge(queue, {"AwsSolutions-SQS3": "This queue is itself a dead-letter queue."})
    return queue
