"""The workflow's CreateTrainingJob step, two ways (the deploy-risk switch ``create_job_with``).

* ``aws-sdk`` (default): Step Functions' ``arn:aws:states:::aws-sdk:sagemaker:createTrainingJob`` integration.
* ``lambda``: a Lambda function (``runtime/create_training_job.py``) calling ``CreateTrainingJob`` with boto3.
  Use it if the aws-sdk integration rejects a request member it does not know yet (unconfirmed:
  ``ServerlessJobConfig``); boto3 in the Lambda runtime knows every member of the current SageMaker API.

Both send the preflight's request unchanged and share the same ``Retry`` (throttling and transient errors)
and ``Catch`` (``SageMaker.ResourceInUseException``: this execution's job already exists, so the watch goes
on).

Why the aws-sdk way has two tasks behind a ``HasHyperParameters`` Choice: the request is built by the preflight
and never has an empty ``HyperParameters`` map (the SDK drops empty maps; the service rejects some), so its
key set differs per run. A JSONPath ``Parameters`` field is an object whose keys are fixed in the definition
and a path to a missing key fails the state
(https://docs.aws.amazon.com/step-functions/latest/dg/connect-parameters.html); there is no JSONPath way to
pass a whole object as the API request, and a task without ``Parameters`` sends no request members on the ASL
interpreter the tests run on (moto; its parity with the service is unconfirmed either way). A JSONata state's
``Arguments`` can be one expression, ``"{% $states.input.preflight.request %}"``
(https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html), which would make it one task,
but moto evaluates JSONata with a Java library that the offline tests do not have, so the workflow could no
longer be run end to end in the tests. The ``lambda`` way is one task: the function gets the request whole.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from aws_cdk import Token
from constructs import Construct

from ..runtime.workflow_contract import REQUIRED_REQUEST_KEYS, WorkflowConfig, preflight_path
from .asl import lambda_task, sdk_task
from .errors import ConstructValidationError

REQUEST_PATH = preflight_path("request")
#: The request members every request has (``workflow_contract.TrainingJobRequest``).
REQUEST_KEYS = REQUIRED_REQUEST_KEYS
RESOURCE_IN_USE = "SageMaker.ResourceInUseException"
#: CDK context key choosing ``create_job_with`` for every workflow of an app (``cdk deploy -c ...=lambda``).
CONTEXT_KEY = "cdk-sagemaker-finetuning:createJobWith"
COMMENT = "Start the serverless job; the name is unique per execution, so ResourceInUse is ours"


class CreateJobWith(enum.Enum):
    """How the workflow calls ``CreateTrainingJob``: Step Functions' aws-sdk integration or a boto3 Lambda."""

    AWS_SDK = "aws-sdk"
    LAMBDA = "lambda"


def resolve_create_job_with(scope: Construct, value: CreateJobWith | str | None) -> CreateJobWith:
    """``value``, else the app's ``CONTEXT_KEY`` context, else ``aws-sdk``; a bad value names the choices."""
    chosen = value if value is not None else scope.node.try_get_context(CONTEXT_KEY)
    if chosen is None:
        return CreateJobWith.AWS_SDK
    if isinstance(chosen, CreateJobWith):
        return chosen
    if isinstance(chosen, str) and not Token.is_unresolved(chosen):
        for option in CreateJobWith:
            if chosen.strip().lower() == option.value:
                return option
    raise ConstructValidationError(
        f"create_job_with {chosen!r} (or context {CONTEXT_KEY}) must be one of "
        f"{', '.join(o.value for o in CreateJobWith)}",
        scope,
    )


def create_job_states(
    *,
    mode: CreateJobWith,
    config: WorkflowConfig,
    partition: str,
    function_arn: str | None,
    retry: Mapping[str, Any],
    then: str,
) -> dict[str, Any]:
    """The ASL state(s) starting the job after the preflight (the entry state first), each retried and
    continuing to the state named ``then``; ``function_arn`` is the create function's (``lambda`` only).

    aws-sdk tasks name each request member in a fixed ``Parameters`` map (a JSONPath path to a missing key
    fails), so a request without ``HyperParameters`` takes a second task; the Lambda gets the request whole.
    The IAM statements calling ``CreateTrainingJob`` needs go with the caller (``training_workflow.py``).
    """
    finish = {
        "ResultPath": None,
        "Catch": [{"ErrorEquals": [RESOURCE_IN_USE], "ResultPath": None, "Next": then}],
        "Next": then,
    }
    if mode is CreateJobWith.LAMBDA:
        assert function_arn is not None, "the Lambda mode needs the create-job function"
        return _lambda_create_state(partition, function_arn, retry, finish)
    return _sdk_create_states(_sdk_request_keys(config), partition, retry, finish)


def _lambda_create_state(
    partition: str, function_arn: str, retry: Mapping[str, Any], finish: Mapping[str, Any]
) -> dict[str, Any]:
    """One Lambda task getting the whole request (its service-exception retry, then ``retry``)."""
    task = lambda_task(
        partition,
        function_arn,
        {"request.$": REQUEST_PATH},
        response_only=True,
        Comment=COMMENT + " (boto3 in Lambda)",
        **finish,
    )
    task["Retry"].append(dict(retry))
    return {"CreateTrainingJob": task}


def _sdk_request_keys(config: WorkflowConfig) -> list[str]:
    """The request members every run of this configuration sends, ``HyperParameters`` aside."""
    keys = list(REQUEST_KEYS)
    if config["mlflow"] and config["mlflow"]["resourceArn"]:
        keys.append("MlflowConfig")
    if config["maxRuntimeSeconds"]:
        keys.append("StoppingCondition")
    return keys


def _sdk_create_states(
    keys: list[str], partition: str, retry: Mapping[str, Any], finish: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``HasHyperParameters`` Choice and its two aws-sdk tasks, with and without ``HyperParameters``."""
    return {
        "HasHyperParameters": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": preflight_path("hasHyperParameters"),
                    "BooleanEquals": True,
                    "Next": "CreateTrainingJob",
                }
            ],
            "Default": "CreateTrainingJobWithoutHyperParameters",
        },
        **{
            name: sdk_task(
                partition,
                "createTrainingJob",
                {f"{key}.$": preflight_path("request", key) for key in request_keys},
                dict(retry),
                Comment=COMMENT,
                **finish,
            )
            for name, request_keys in (
                ("CreateTrainingJob", [*keys, "HyperParameters"]),
                ("CreateTrainingJobWithoutHyperParameters", keys),
            )
        },
    }
