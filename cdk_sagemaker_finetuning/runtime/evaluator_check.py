"""Existing evaluators: read one back from SageMaker Hub and check it can serve a job (stdlib + boto3 only).

Two users:

* the training workflow's preflight (:func:`check`), before ``CreateTrainingJob``: the evaluator exists, is
  ``Available``, has the technique's evaluator type, is in the job's region, and (reward functions) its Lambda
  exists and is the one the training role may invoke. Each problem is a named ``PreflightError``.
* the ``EvaluatorLookup`` custom resource (:func:`on_event`), at deploy time: resolves an evaluator ARN to
  its Lambda ARN (attribute ``LambdaArn``) so the stack can grant ``lambda:InvokeFunction`` on exactly it.

An evaluator document is written as ``runtime/hub_evaluator.py`` writes it: ``HubContentDocument`` is JSON
whose ``JsonContent`` member is itself a JSON string holding ``EvaluatorType`` and ``Reference``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from . import errors

#: The evaluator type each technique's job calls (a custom RLAIF prompt is a ``RewardPrompt``).
EXPECTED_TYPES = {"RLVR": "RewardFunction", "RLAIF": "RewardPrompt"}
EVALUATOR_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z\-]*):sagemaker:(?P<region>[^:]+):(?P<account>\d{12}):"
    r"hub-content/(?P<hub>[^/]+)/(?P<kind>JsonDoc)/(?P<name>[^/]+)/(?P<version>\d{1,4}\.\d{1,4}\.\d{1,4})$"
)
LAMBDA_ARN = re.compile(
    r"^(?P<function>arn:aws[a-z\-]*:lambda:(?P<region>[^:]+):\d{12}:function:[A-Za-z0-9_\-]+)(:[^:]+)?$"
)
NOT_FOUND = ("ResourceNotFound", "ResourceNotFoundException")


def function_arn(reference: str) -> str | None:
    """The unqualified function ARN of a Lambda ARN (alias or version dropped), or None for anything else."""
    match = LAMBDA_ARN.match(reference)
    return match["function"] if match else None


def evaluator_content(described: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(EvaluatorType, Reference)`` of a ``DescribeHubContent`` answer; ``(None, None)`` when unreadable."""
    try:
        document = json.loads(described.get("HubContentDocument") or "")
        content = document.get("JsonContent")
        content = json.loads(content) if isinstance(content, str) else content
    except (ValueError, AttributeError):
        return None, None
    if not isinstance(content, dict):
        return None, None
    kind, reference = content.get("EvaluatorType"), content.get("Reference")
    return (kind if isinstance(kind, str) else None), (reference if isinstance(reference, str) else None)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _describe(sagemaker: Any, match: re.Match) -> dict[str, Any]:
    return sagemaker.describe_hub_content(
        HubName=match["hub"],
        HubContentType=match["kind"],
        HubContentName=match["name"],
        HubContentVersion=match["version"],
    )


def check(
    sagemaker: Any,
    lambda_client: Callable[[], Any],
    arn: str,
    *,
    technique: str,
    region: str,
    field: str,
    granted_lambda: str | None = None,
) -> str | None:
    """Check the evaluator a job will call; return its reference (Lambda ARN or ``s3://`` prompt).

    ``granted_lambda`` is the function the training role may invoke (config ``rewardLambdaArn``); when given,
    a reward evaluator calling another function is rejected. ``lambda_client`` is called only when needed.
    """
    match = EVALUATOR_ARN.match(arn or "")
    if not match:
        raise errors.InvalidInput(f"{arn!r} is not a versioned evaluator ARN", field=field)
    if match["region"] != region:
        raise errors.EvaluatorWrongRegion(
            f"evaluator {arn} is in {match['region']}, the training job runs in {region}: register the "
            f"evaluator in {region}",
            field=field,
        )
    try:
        described = _describe(sagemaker, match)
    except ClientError as exc:
        if _code(exc) in NOT_FOUND or "not found" in str(exc).lower():
            raise errors.EvaluatorNotFound(
                f"evaluator {arn} does not exist (no such hub content)", field=field
            ) from None
        raise errors.from_aws(exc, f"DescribeHubContent of evaluator {arn}") from None
    status = described.get("HubContentStatus")
    if status != "Available":
        raise errors.EvaluatorNotAvailable(f"evaluator {arn} is {status}, not Available", field=field)
    kind, reference = evaluator_content(described)
    expected = EXPECTED_TYPES.get(technique.upper())
    if kind is None or reference is None:
        raise errors.EvaluatorWrongType(
            f"evaluator {arn} is not an evaluator: its document has no EvaluatorType and Reference",
            field=field,
        )
    if expected and kind != expected:
        raise errors.EvaluatorWrongType(
            f"evaluator {arn} is a {kind}; {technique.upper()} needs a {expected}", field=field
        )
    if kind == "RewardFunction":
        _check_lambda(lambda_client, arn, reference, region, field, granted_lambda)
    return reference


def _check_lambda(
    lambda_client: Callable[[], Any],
    arn: str,
    reference: str,
    region: str,
    field: str,
    granted: str | None,
) -> None:
    function, match = function_arn(reference), LAMBDA_ARN.match(reference)
    if function is None or match is None:
        raise errors.EvaluatorWrongType(
            f"evaluator {arn} references {reference!r}, not a Lambda function ARN", field=field
        )
    function_region = match["region"]
    if function_region != region:
        raise errors.EvaluatorWrongRegion(
            f"evaluator {arn} calls Lambda {reference} in {function_region}; the training job runs in {region}",
            field=field,
        )
    if granted and function_arn(granted) != function:
        raise errors.EvaluatorLambdaNotGranted(
            f"evaluator {arn} calls Lambda {reference}, but the training role may invoke only {granted}: "
            "deploy the stack with this evaluator (or set reward.lambda_arn to its function)",
            field=field,
        )
    try:
        lambda_client().get_function(FunctionName=reference)
    except ClientError as exc:
        if _code(exc) in NOT_FOUND:
            raise errors.EvaluatorLambdaNotFound(
                f"evaluator {arn} calls Lambda {reference}, which does not exist", field=field
            ) from None
        raise errors.from_aws(exc, f"GetFunction {reference} (evaluator {arn})") from None
    except BotoCoreError as exc:
        raise errors.from_aws(exc, f"GetFunction {reference} (evaluator {arn})") from None


# -- custom resource (Provider framework onEvent) -----------------------------------------------------------


def lookup(properties: Mapping[str, Any], sagemaker: Any, region: str) -> dict[str, Any]:
    """Resolve ``EvaluatorArn`` to ``{"LambdaArn", "Reference", "EvaluatorType"}``; a problem raises."""
    arn = str(properties.get("EvaluatorArn") or "")
    expected = properties.get("EvaluatorType") or "RewardFunction"
    match = EVALUATOR_ARN.match(arn)
    field = properties.get("LambdaArnField") or "reward.lambda_arn"
    hint = f"; or set {field} to the evaluator's function if this deployment cannot read it"
    if not match:
        raise ValueError(
            f"EvaluatorArn {arn!r} is not a versioned evaluator ARN (.../JsonDoc/<name>/<x.y.z>)"
        )
    if match["region"] != region:
        raise ValueError(f"evaluator {arn} is in {match['region']}, this stack deploys to {region}")
    try:
        described = _describe(sagemaker, match)
    except ClientError as exc:
        if _code(exc) in NOT_FOUND:
            raise ValueError(f"evaluator {arn} does not exist (DescribeHubContent){hint}") from None
        raise ValueError(f"cannot read evaluator {arn}: {_code(exc)}{hint}") from None
    kind, reference = evaluator_content(described)
    if kind != expected or reference is None:
        raise ValueError(f"evaluator {arn} is a {kind or 'document without EvaluatorType'}, not a {expected}")
    function = function_arn(reference) if kind == "RewardFunction" else None
    if kind == "RewardFunction" and function is None:
        raise ValueError(f"evaluator {arn} references {reference!r}, not a Lambda function ARN")
    return {"LambdaArn": function or "", "Reference": reference, "EvaluatorType": kind}


def on_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Create/Update resolve the evaluator (physical id: its ARN); Delete does nothing (it is not ours)."""
    properties = event.get("ResourceProperties") or {}
    if event.get("RequestType") == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId") or "none"}
    data = lookup(properties, boto3.client("sagemaker"), os.environ.get("AWS_REGION", ""))
    return {"PhysicalResourceId": str(properties.get("EvaluatorArn")), "Data": data}
