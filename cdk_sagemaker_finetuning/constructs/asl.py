"""Amazon States Language shapes of the CDK task constructs the workflow used, as plain data.

``CallAwsService`` renders ``arn:<partition>:states:::aws-sdk:sagemaker:<action>``; ``LambdaInvoke`` with
``retry_on_service_exceptions`` carries the retry AWS recommends for Lambda service errors
(https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html).
"""

from __future__ import annotations

from typing import Any

#: Transient errors of the aws-sdk integration (``SageMaker.<Code>Exception``) worth retrying with backoff.
TRANSIENT_ERRORS = [
    "SageMaker.ThrottlingException",
    "SageMaker.InternalFailureException",
    "SageMaker.ServiceUnavailableException",
    "SageMaker.SdkClientException",
]
#: ``LambdaInvoke(retry_on_service_exceptions=True)``: the retry AWS recommends for Lambda service errors.
LAMBDA_RETRY = {
    "ErrorEquals": [
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
    ],
    "IntervalSeconds": 2,
    "MaxAttempts": 6,
    "BackoffRate": 2,
}


def transient_retry(interval_seconds: int | float) -> dict[str, Any]:
    """Retry throttled/transient SageMaker errors: 5 attempts, doubling from ``interval_seconds``, full jitter."""
    return {
        "ErrorEquals": TRANSIENT_ERRORS,
        "IntervalSeconds": interval_seconds,
        "MaxAttempts": 5,
        "BackoffRate": 2,
        "JitterStrategy": "FULL",
    }


def sdk_task(partition: str, action: str, parameters: dict[str, Any], retry: dict, **fields: Any) -> dict:
    """An aws-sdk SageMaker task (``CallAwsService``), retried on transient errors."""
    return {
        "Type": "Task",
        "Resource": f"arn:{partition}:states:::aws-sdk:sagemaker:{action}",
        "Parameters": parameters,
        **fields,
        "Retry": [retry],
    }


def lambda_task(
    partition: str, function_arn: str, payload: dict[str, Any], *, response_only: bool, **fields: Any
) -> dict:
    """A Lambda invoke task: the payload alone (``response_only``) or the ``lambda:invoke`` envelope."""
    if response_only:
        head = {"Resource": function_arn, "Parameters": payload}
    else:
        head = {
            "Resource": f"arn:{partition}:states:::lambda:invoke",
            "Parameters": {"FunctionName": function_arn, "Payload": payload},
        }
    return {"Type": "Task", **head, **fields, "Retry": [LAMBDA_RETRY]}
