"""The workflow's "Lambda" way to start the job: ``CreateTrainingJob`` with boto3 (standard library + boto3 only).

Used when the state machine is synthesized with ``create_job_with="lambda"`` instead of Step Functions' aws-sdk
integration. Event ``{"request": <the preflight's CreateTrainingJob request>}``; returns
``{"trainingJobName", "trainingJobArn"}``. A SageMaker error is raised as ``SageMaker.<Code>Exception`` (the
Lambda runtime reports the class name as ``errorType``), the names the aws-sdk integration uses, so one set of
Step Functions ``Retry``/``Catch`` rules serves both ways: throttling and transient errors are retried by the
state machine, and ``SageMaker.ResourceInUseException`` means this execution's job already exists.
A malformed event raises ``PreflightError.InvalidInput``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from . import aws_clients, errors, retry


class SageMakerError(Exception):
    """A failed SageMaker call, named ``SageMaker.<Code>Exception`` like Step Functions' aws-sdk errors."""


@functools.cache
def error_class(code: str) -> type[SageMakerError]:
    """The exception class ``SageMaker.<Code>Exception`` (``Exception`` not doubled)."""
    name = f"SageMaker.{code}" + ("" if code.endswith("Exception") else "Exception")
    cls = type(name, (SageMakerError,), {"__module__": __name__})
    cls.__qualname__ = name
    return cls


def sagemaker_error(exc: Exception) -> SageMakerError:
    """The named error for a botocore failure; client-side failures are ``SageMaker.SdkClientException``."""
    code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
    return error_class(str(code or "SdkClient"))(str(exc))


def handler(event: Any, context: Any = None, sagemaker: Any = None) -> dict[str, str]:
    """Lambda entry point; logs one JSON line per call."""
    request = event.get("request") if isinstance(event, Mapping) else None
    if not isinstance(request, Mapping) or not isinstance(request.get("TrainingJobName"), str):
        raise errors.InvalidInput(
            'expected {"request": <CreateTrainingJob request with TrainingJobName>}', field="request"
        )
    name = request["TrainingJobName"]
    client = sagemaker or aws_clients.client("sagemaker", config=retry.CLIENT_CONFIG)
    try:
        answer = client.create_training_job(**request)
    except ParamValidationError as exc:
        raise errors.InvalidInput(
            f"the CreateTrainingJob request is invalid: {exc}", field="request"
        ) from None
    except (ClientError, BotoCoreError) as exc:
        error = sagemaker_error(exc)
        print(json.dumps({"level": "ERROR", "trainingJobName": name, "error": type(error).__name__}))
        raise error from None
    print(json.dumps({"trainingJobName": name, "action": "created"}))
    return {"trainingJobName": name, "trainingJobArn": answer.get("TrainingJobArn", "")}
