"""AWS sessions, clients and friendly error messages shared by the ``cdk-finetune`` commands.

Commands get clients from :func:`client` (tests replace it with Stubber-backed clients) and wrap their handler
in :func:`friendly_errors`, which turns AWS and input errors into one readable line and an exit code:
1 when the operation failed (credentials, access, throttling, service errors), 2 for invalid input (no region,
unknown hub/model/job/stack, bad flags or data).
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import sys
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
)

from ..runtime import aws_clients
from . import _term

FAILED = 1
INVALID = 2

CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="cdk-sagemaker-finetuning")

NO_REGION = "No AWS region is configured. Set AWS_DEFAULT_REGION, run 'aws configure', or pass --region."
ARN_REGION = re.compile(r"^arn:aws[a-z\-]*:[a-z0-9\-]+:(?P<region>[a-z]{2}(-[a-z]+)+-\d):")
REGION = re.compile(r"^(?P<region>[a-z]{2}(-[a-z]+)+-\d)$")
NO_CREDENTIALS = (
    "No AWS credentials found. Run 'aws configure' (or 'aws sso login'), set AWS_PROFILE, or pass --profile."
)

ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestThrottled",
}
BAD_CREDENTIALS = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
}
NOT_FOUND = {
    "ResourceNotFound",
    "ResourceNotFoundException",
    "NoSuchKey",
    "NoSuchBucket",
    "NotFound",
    "404",
    "ExecutionDoesNotExist",
    "StateMachineDoesNotExist",
}


class CommandError(Exception):
    """A failure to report to the user as is, with the exit code to return."""

    def __init__(self, message: str, exit_code: int = FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def add_aws_options(parser: argparse.ArgumentParser, inferred: str | None = None) -> None:
    """``--region`` and ``--profile``, for every command that calls AWS; ``inferred`` names a known region."""
    group = parser.add_argument_group("AWS")
    fallback = f"else {inferred}, " if inferred else ""
    group.add_argument(
        "--region",
        help=f"AWS region (default: AWS_REGION or AWS_DEFAULT_REGION, {fallback}else the AWS CLI/SDK "
        "configuration)",
    )
    group.add_argument("--profile", help="AWS named profile (default: the AWS CLI/SDK configuration)")


def infer_region(args: argparse.Namespace, known: str | None) -> None:
    """Remember a region the command knows (the spec's ``region``, an ARN's region) as the fallback region.

    Precedence: ``--region``, then ``AWS_REGION``/``AWS_DEFAULT_REGION``, then this region, then the profile.
    """
    match = ARN_REGION.match(known or "") or REGION.match(known or "")
    region = match["region"] if match else None  # a name (stack, job) says nothing about the region
    if region and not getattr(args, "inferred_region", None):
        args.inferred_region = region


def _region_name(args: argparse.Namespace) -> str | None:
    explicit = (
        getattr(args, "region", None) or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    )
    return explicit or getattr(args, "inferred_region", None)


def session(args: argparse.Namespace) -> boto3.Session:
    """The shared session of --profile in the resolved region (``runtime.aws_clients``: one per process)."""
    return _session(args, _region_name(args))


def region(args: argparse.Namespace) -> str:
    """The region from --region or the AWS configuration; a friendly error when there is none."""
    profile_session = _session(args, None)  # an unknown profile fails first, whatever the region
    name = _region_name(args) or profile_session.region_name
    if not name:
        raise CommandError(NO_REGION, INVALID)
    return name


def client(args: argparse.Namespace, service: str) -> Any:
    """A boto3 client for ``service`` in the resolved region, with standard retries (throttling included)."""
    return aws_clients.client(service, region(args), CONFIG, getattr(args, "profile", None))


def _session(args: argparse.Namespace, region_name: str | None) -> boto3.Session:
    try:
        return aws_clients.session(getattr(args, "profile", None), region_name)
    except ProfileNotFound as exc:
        raise CommandError(f"AWS profile {exc.kwargs.get('profile')!r} is not configured.", INVALID) from None


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_text(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or error_code(exc)


def is_not_found(exc: ClientError) -> bool:
    """True for the many ways AWS says "no such resource" (including SageMaker's ValidationException)."""
    code = error_code(exc)
    if code in NOT_FOUND:
        return True
    text = error_text(exc).lower()
    return code in ("ValidationException", "ValidationError") and (
        "not found" in text or "does not exist" in text
    )


def describe_error(exc: Exception) -> tuple[str, int]:
    """A readable message and exit code for an AWS SDK error."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return NO_CREDENTIALS, FAILED
    if isinstance(exc, NoRegionError):
        return NO_REGION, INVALID
    if isinstance(exc, EndpointConnectionError):
        return f"Cannot reach {exc.kwargs.get('endpoint_url')}: check the network and the region.", FAILED
    if isinstance(exc, ParamValidationError):
        return f"Invalid request: {exc}", INVALID
    if isinstance(exc, ClientError):
        code, text, operation = error_code(exc), error_text(exc), exc.operation_name
        if code in ACCESS_DENIED:
            return f"Access denied calling {operation}: {text}. Ask for this permission.", FAILED
        if code in THROTTLED:
            return f"AWS throttled {operation} (still after retries). Wait a minute and retry.", FAILED
        if code in BAD_CREDENTIALS:
            return f"AWS rejected the credentials ({code}): refresh them, e.g. 'aws sso login'.", FAILED
        if is_not_found(exc):
            return f"Not found ({operation}): {text}", INVALID
        return f"{operation} failed: {code}: {text}", FAILED
    return f"AWS error: {exc}", FAILED


def friendly_errors(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Wrap a command handler: print CommandError and AWS errors to stderr and return their exit code."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except CommandError as exc:
            message, code = str(exc), exc.exit_code
        except (BotoCoreError, ClientError) as exc:
            message, code = describe_error(exc)
        print(_term.wrap(f"error: {message}"), file=sys.stderr)
        return code

    return run


def pages(call: Callable[..., dict[str, Any]], key: str, **params: Any) -> list[Any]:
    """Every item under ``key`` of a List* operation without a boto3 paginator, following ``NextToken``."""
    items: list[Any] = []
    while True:
        response = call(**params)
        items.extend(response.get(key, []))
        token = response.get("NextToken")
        if not token:
            return items
        params["NextToken"] = token
