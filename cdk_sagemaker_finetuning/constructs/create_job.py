"""The workflow's CreateTrainingJob step, two ways (the deploy-risk switch ``create_job_with``).

* ``aws-sdk`` (default): Step Functions' ``arn:aws:states:::aws-sdk:sagemaker:createTrainingJob`` integration.
* ``lambda``: a Lambda function (``runtime/create_training_job.py``) calling ``CreateTrainingJob`` with boto3.
  Use it if the aws-sdk integration rejects a request member it does not know yet (unconfirmed:
  ``ServerlessJobConfig``); boto3 in the Lambda runtime knows every member of the current SageMaker API.

Both send the preflight's request unchanged and share the same ``Retry`` (throttling and transient errors)
and ``Catch`` (``SageMaker.ResourceInUseException``: this execution's job already exists, so the watch goes
on). The aws-sdk way keeps two tasks behind a ``HasHyperParameters`` Choice: a JSONPath ``Parameters`` map has
a fixed key set (a path to a missing key fails), a task without ``Parameters`` gets none on the ASL
interpreter the tests run on (moto), and a JSONata ``Arguments`` expression, which could pass the request
whole, cannot run on that interpreter offline.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from .errors import ConstructValidationError

REQUEST_PATH = "$.preflight.request"
REQUEST_KEYS = (
    "TrainingJobName",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ServerlessJobConfig",
    "ModelPackageConfig",
    "Tags",
)
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
    scope: Construct,
    *,
    mode: CreateJobWith,
    config: Mapping[str, Any],
    job_arn: str,
    statements: Sequence[iam.PolicyStatement],
    function: lambda_.IFunction | None,
    retry: Mapping[str, Any],
    then: sfn.IChainable,
) -> sfn.State:
    """The state(s) starting the job after the preflight, each retried and continuing to ``then``.

    ``statements`` are what calling ``CreateTrainingJob`` needs beyond the action itself (PassRole, AddTags,
    reads); they go to the state machine role (aws-sdk) or, with ``CreateTrainingJob``, to ``function``'s role.
    aws-sdk tasks name each request member in a fixed ``Parameters`` map (a JSONPath path to a missing key
    fails), so a request without ``HyperParameters`` takes a second task; the Lambda gets the request whole.
    """

    def finish(task: sfn.TaskStateBase) -> sfn.TaskStateBase:
        task.add_retry(**retry)
        task.add_catch(then, errors=[RESOURCE_IN_USE], result_path=sfn.JsonPath.DISCARD)
        task.next(then)
        return task

    if mode is CreateJobWith.LAMBDA:
        if function is None or function.role is None:
            raise ConstructValidationError(
                "create_job_with lambda needs the create function and its role", scope
            )
        for statement in [
            iam.PolicyStatement(actions=["sagemaker:CreateTrainingJob"], resources=[job_arn]),
            *statements,
        ]:
            function.role.add_to_principal_policy(statement)
        return finish(
            tasks.LambdaInvoke(
                scope,
                "CreateTrainingJob",
                lambda_function=function,
                payload=sfn.TaskInput.from_object({"request": sfn.JsonPath.object_at(REQUEST_PATH)}),
                payload_response_only=True,
                retry_on_service_exceptions=True,
                result_path=sfn.JsonPath.DISCARD,
                comment=COMMENT + " (boto3 in Lambda)",
            )
        )
    keys = list(REQUEST_KEYS)
    if (config.get("mlflow") or {}).get("resourceArn"):
        keys.append("MlflowConfig")
    if config.get("maxRuntimeSeconds"):
        keys.append("StoppingCondition")
    creates = []
    for with_hps in (True, False):
        creates.append(
            finish(
                tasks.CallAwsService(
                    scope,
                    "CreateTrainingJob" if with_hps else "CreateTrainingJobWithoutHyperParameters",
                    service="sagemaker",
                    action="createTrainingJob",
                    parameters=_request_parameters([*keys, "HyperParameters"] if with_hps else keys),
                    iam_resources=[job_arn],
                    additional_iam_statements=list(statements),
                    result_path=sfn.JsonPath.DISCARD,
                    comment=COMMENT,
                )
            )
        )
        statements = []  # the first task carries the shared statements
    return (
        sfn.Choice(scope, "HasHyperParameters")
        .when(sfn.Condition.boolean_equals("$.preflight.hasHyperParameters", True), creates[0])
        .otherwise(creates[1])
    )


def _request_parameters(keys: Sequence[str]) -> dict[str, Any]:
    """Map each top-level request member to the preflight's answer (lists and objects kept whole)."""
    lists = ("InputDataConfig", "Tags")
    return {
        key: (sfn.JsonPath.list_at if key in lists else sfn.JsonPath.object_at)(f"{REQUEST_PATH}.{key}")
        if key != "TrainingJobName" and key != "RoleArn"
        else sfn.JsonPath.string_at(f"{REQUEST_PATH}.{key}")
        for key in keys
    }
