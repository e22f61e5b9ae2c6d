"""Custom resource (Provider framework) registering an evaluator as SageMaker Hub content (``JsonDoc``).

``on_event`` ensures the hub exists (the per-account AI Registry hub, created on demand under the SDK's
deterministic name, or a given hub), imports the next major version with the exact document and keywords
``Evaluator.create`` writes, and returns the versioned ARN as physical id. ``is_complete`` polls
``DescribeHubContent`` until ``Available`` (``ImportFailed`` fails the deployment with the service's reason).
Update imports a new version (unless only ``RetainOnDelete`` changed); Delete removes its own version only
when ``RetainOnDelete`` is ``false``.
Facts: `ImportHubContent <https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ImportHubContent.html>`_ and the AI Registry
assets (`model customization assets <https://docs.aws.amazon.com/sagemaker/latest/dg/model-customize-open-weight-create-assets-ui.html>`_).

Resource properties: ``EvaluatorName``, ``EvaluatorType`` (``RewardFunction`` | ``RewardPrompt``),
``Reference`` (Lambda ARN or ``s3://`` URI), optional ``HubName`` (default: AI Registry hub), ``DomainId``,
``RetainOnDelete`` (``true`` default).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

CONTENT_TYPE = "JsonDoc"
SUBTYPE = "AWS/Evaluator"
SCHEMA_VERSION = "2.0.0"
EVALUATOR_TYPES = ("RewardFunction", "RewardPrompt")
LAMBDA_ARN_RE = re.compile(r"^arn:aws[a-z\-]*:lambda:")
ARN_RE = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[^:]+:\d{12}:hub-content/([^/]+)/JsonDoc/([^/]+)/([\d.]+)$")
THROTTLING = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ThrottledException",
    "SlowDown",
}
ATTEMPTS = 6
HUB_READY_POLLS = 30

sleep: Callable[[float], None] = time.sleep
_client = None


def client() -> Any:
    global _client
    if _client is None:
        _client = boto3.client("sagemaker", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    return _client


def ai_registry_hub_name(region: str, account: str) -> str:
    """The SDK's AI Registry hub name: base32hex(sha256("AiRegistry-<region>-<account>")) without padding."""
    digest = hashlib.sha256(f"AiRegistry-{region}-{account}".encode()).digest()
    return base64.b32hexencode(digest).decode().rstrip("=")


def hub_content_document(evaluator_type: str, reference: str) -> str:
    """The ``HubContentDocument`` string, byte-for-byte as ``Evaluator.create`` builds it (JSON in JSON)."""
    json_content = {"Reference": reference, "EvaluatorType": evaluator_type}
    return json.dumps({"SubType": SUBTYPE, "JsonContent": json.dumps(json_content)})


def search_keywords(evaluator_type: str, reference: str, domain_id: str | None = None) -> list[str]:
    """``HubContentSearchKeywords`` in the SDK's order (``method:`` only for reward functions)."""
    is_lambda = bool(LAMBDA_ARN_RE.match(reference))
    keywords = [
        "@subtype:aws/evaluator",
        f"@evaluatortype:{evaluator_type.lower()}",
        f"@contenttype:{'byolambda' if is_lambda else 'byocode'}",
    ]
    if evaluator_type == "RewardFunction":
        keywords.insert(0, f"method:{'lambda' if is_lambda else 'byoc'}")
    if domain_id:
        keywords.append(f"@domain:{domain_id}")
    return keywords


def call(operation: str, **kwargs: Any) -> dict[str, Any]:
    """Call a SageMaker operation, retrying throttling with exponential backoff."""
    for attempt in range(ATTEMPTS):
        try:
            return getattr(client(), operation)(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in THROTTLING or attempt == ATTEMPTS - 1:
                raise
            sleep(min(2**attempt, 20))
    raise AssertionError("unreachable")


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _not_found(exc: ClientError) -> bool:
    return _code(exc) in ("ResourceNotFound", "ResourceNotFoundException")


# -- hub -----------------------------------------------------------------------------------------------------


def resolve_hub(props: Mapping[str, Any], context: Any) -> str:
    """The target hub name; the AI Registry hub is computed from the function's own region and account."""
    if props.get("HubName"):
        return str(props["HubName"])
    region = os.environ["AWS_REGION"]
    account = context.invoked_function_arn.split(":")[4]
    return ai_registry_hub_name(region, account)


class HubNotReady(RuntimeError):
    """The hub exists (or was just created) but is not in service within the checks allowed."""


def ensure_hub(
    hub_name: str,
    *,
    create: bool,
    display_name: str,
    invoke: Callable[..., dict[str, Any]] | None = None,
    polls: int = HUB_READY_POLLS,
) -> None:
    """Make sure the hub exists and is in service; create it (AI Registry only) when missing.

    ``invoke(operation, **params)`` makes the calls (default :func:`call`; the preflight passes its own
    clients); ``polls`` bounds the wait for a hub being created (2 s apart), then :class:`HubNotReady`.
    """
    invoke = invoke or call
    try:
        status = invoke("describe_hub", HubName=hub_name).get("HubStatus", "InService")
    except ClientError as exc:
        if not _not_found(exc):
            raise
        if not create:
            raise RuntimeError(
                f"hub {hub_name!r} does not exist; create it or omit HubName to use the AI Registry hub"
            ) from None
        try:
            invoke(
                "create_hub", HubName=hub_name, HubDescription="AI Registry Hub", HubDisplayName=display_name
            )
        except ClientError as create_exc:
            if _code(create_exc) != "ResourceInUse":  # created concurrently by another evaluator
                raise
        status = "Creating"
    for _ in range(polls):
        if status == "InService":
            return
        if status in ("CreateFailed", "DeleteFailed", "Deleting", "UpdateFailed"):
            raise RuntimeError(f"hub {hub_name!r} is {status}")
        sleep(2)
        status = invoke("describe_hub", HubName=hub_name).get("HubStatus", "InService")
    if status == "InService":
        return
    raise HubNotReady(f"hub {hub_name!r} is still {status} after {polls} checks")


def next_version(hub_name: str, name: str) -> str:
    """``<latest major + 1>.0.0``, or ``1.0.0`` for a new name (as the SDK does)."""
    try:
        latest = call(
            "describe_hub_content", HubName=hub_name, HubContentType=CONTENT_TYPE, HubContentName=name
        )
    except ClientError as exc:
        if _not_found(exc):
            return "1.0.0"
        raise
    return f"{int(latest['HubContentVersion'].split('.')[0]) + 1}.0.0"


# -- lifecycle -----------------------------------------------------------------------------------------------


def _validate(props: Mapping[str, Any]) -> tuple[str, str, str]:
    name, kind, reference = (str(props.get(k) or "") for k in ("EvaluatorName", "EvaluatorType", "Reference"))
    if not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name):
        raise ValueError(f"EvaluatorName {name!r} must be letters, digits and hyphens, at most 63 characters")
    if kind not in EVALUATOR_TYPES:
        raise ValueError(f"EvaluatorType {kind!r} must be one of {', '.join(EVALUATOR_TYPES)}")
    if not reference:
        raise ValueError("Reference (a Lambda ARN or s3:// URI) is required")
    return name, kind, reference


def register(props: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Import the next version of the evaluator; returns the Provider framework response."""
    name, kind, reference = _validate(props)
    hub_name = resolve_hub(props, context)
    ai_registry = not props.get("HubName")
    region = os.environ.get("AWS_REGION", "")
    account = context.invoked_function_arn.split(":")[4]
    ensure_hub(hub_name, create=ai_registry, display_name=f"AiRegistry-{region}-{account}")
    version = next_version(hub_name, name)
    response = call(
        "import_hub_content",
        HubName=hub_name,
        HubContentType=CONTENT_TYPE,
        HubContentName=name,
        HubContentVersion=version,
        DocumentSchemaVersion=SCHEMA_VERSION,
        HubContentDocument=hub_content_document(kind, reference),
        HubContentSearchKeywords=search_keywords(kind, reference, props.get("DomainId") or None),
    )
    arn = response["HubContentArn"]
    return {
        "PhysicalResourceId": arn,
        "Data": {"Arn": arn, "Version": version, "HubName": hub_name, "Name": name},
    }


def remove(event: Mapping[str, Any]) -> dict[str, Any]:
    """Delete this resource's version when asked; a missing version (or a failed create) is success."""
    physical_id = event.get("PhysicalResourceId", "")
    retain = str(event.get("ResourceProperties", {}).get("RetainOnDelete", "true")).lower() != "false"
    match = ARN_RE.match(physical_id)
    if retain or not match:
        return {"PhysicalResourceId": physical_id}
    hub_name, name, version = match.groups()
    try:
        call(
            "delete_hub_content",
            HubName=hub_name,
            HubContentType=CONTENT_TYPE,
            HubContentName=name,
            HubContentVersion=version,
        )
    except ClientError as exc:
        if not _not_found(exc):
            raise
    return {"PhysicalResourceId": physical_id}


#: Properties whose change does not alter the registered content, so an update keeps the version.
NON_CONTENT_PROPERTIES = ("ServiceToken", "RetainOnDelete")


def _content(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k not in NON_CONTENT_PROPERTIES}


def on_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Provider framework ``onEvent`` handler."""
    request = event["RequestType"]
    match = ARN_RE.match(event.get("PhysicalResourceId", ""))
    if (
        request == "Update"
        and match
        and _content(event["ResourceProperties"]) == _content(event.get("OldResourceProperties", {}))
    ):
        hub_name, name, version = match.groups()
        arn = event["PhysicalResourceId"]
        return {
            "PhysicalResourceId": arn,
            "Data": {"Arn": arn, "Version": version, "HubName": hub_name, "Name": name},
        }
    if request in ("Create", "Update"):
        return register(event["ResourceProperties"], context)
    if request == "Delete":
        return remove(event)
    raise ValueError(f"unknown RequestType {request!r}")


def is_complete(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Provider framework ``isComplete`` handler: wait for ``Available``; ``ImportFailed`` is a failure."""
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    match = ARN_RE.match(event.get("PhysicalResourceId", ""))
    if not match:
        raise ValueError(f"physical id {event.get('PhysicalResourceId')!r} is not an evaluator ARN")
    hub_name, name, version = match.groups()
    described = call(
        "describe_hub_content",
        HubName=hub_name,
        HubContentType=CONTENT_TYPE,
        HubContentName=name,
        HubContentVersion=version,
    )
    status = described.get("HubContentStatus")
    if status == "ImportFailed":
        reason = described.get("FailureReason") or "no reason given"
        raise RuntimeError(
            f"importing evaluator {name!r} version {version} into hub {hub_name!r} failed: {reason}"
        )
    if status in ("DeleteFailed", "Deleting", "PendingDelete"):
        raise RuntimeError(f"evaluator {name!r} version {version} is {status}")
    return {"IsComplete": status == "Available"}
