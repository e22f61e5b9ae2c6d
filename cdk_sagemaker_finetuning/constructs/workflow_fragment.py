"""``TrainingWorkflowFragment``: the training workflow's states and the IAM statements of the role running them.

The definition itself is Amazon States Language data (``workflow_definition.py``); this module adds who may
call what: the workflow's role gets the statements of each task (Step Functions' `SageMaker
<https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html>`_ and `Lambda
<https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html>`_ integrations), or, with
``CreateJobWith.LAMBDA``, the create function's role gets the job-creation statements.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, JsonNull
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .arns import duration, environment, seconds
from .create_job import CreateJobWith
from .errors import ConstructValidationError
from .model_package_group import IModelPackageGroup
from .workflow_definition import workflow_states
from .workflow_functions import hub_content_arns, iam_statement, invoke_scopes, training_job_arn_pattern
from .workflow_settings import WorkflowSettings

SAGEMAKER = "sagemaker.amazonaws.com"
DEFAULT_POLL_INTERVAL = duration(60)
DEFAULT_RETRY_INTERVAL = duration(5)


def _invoke(function_arn: str) -> dict[str, Any]:
    """Invoking a Lambda task's function (acknowledged with ``workflow_functions.invoke_scopes``)."""
    return iam_statement("lambda:InvokeFunction", [arn for arn, _ in invoke_scopes(function_arn)])


def add_statement(grantee: iam.IGrantable, statement: Mapping[str, Any]) -> iam.Grant:
    """Add an Allow ``statement`` (IAM JSON) to ``grantee``'s policy in one jsii call."""
    actions, resources = statement["Action"], statement["Resource"]
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=[actions] if isinstance(actions, str) else list(actions),
        resource_arns=[resources] if isinstance(resources, str) else list(resources),
        conditions=statement.get("Condition"),
    )


def caller_statements(
    scope: Construct,
    config: Mapping[str, Any] | WorkflowSettings,
    role_arn: str,
    job_arn: str,
    group: IModelPackageGroup,
) -> list[dict[str, Any]]:
    """Calling CreateTrainingJob (`SageMaker actions <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html>`_):
    the action, AddTags, PassRole, and the hub/group reads (acknowledged with ``workflow_functions.caller_scopes``)."""
    return [
        iam_statement("sagemaker:CreateTrainingJob", job_arn),
        iam_statement("sagemaker:AddTags", job_arn),
        iam_statement("iam:PassRole", role_arn, StringEquals={"iam:PassedToService": SAGEMAKER}),
        iam_statement("sagemaker:DescribeHubContent", hub_content_arns(scope, config)),
        iam_statement(
            ["sagemaker:DescribeModelPackageGroup", "sagemaker:DescribeModelPackage"],
            [group.model_package_group_arn, group.model_package_arn_pattern],
        ),
    ]


def workflow_definition(
    scope: Construct,
    *,
    settings: WorkflowSettings,
    preflight_function: lambda_.IFunction,
    training_role_arn: str,
    model_package_group: IModelPackageGroup,
    poll_interval: Duration,
    retry_interval: Duration,
    create_job_with: CreateJobWith,
    create_function: lambda_.IFunction | None,
    end: Mapping[str, Any],
    evaluation_function: lambda_.IFunction | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The workflow's ``{"StartAt", "States"}`` and the IAM statements of the role running it.

    With ``CreateJobWith.LAMBDA`` the job-creation statements go to ``create_function``'s role instead. A
    configuration with an ``evaluation`` block needs ``evaluation_function`` (``evaluation_function.py``).
    """
    job_arn = training_job_arn_pattern(scope, settings.job_name_prefix)
    creating = caller_statements(scope, settings, training_role_arn, job_arn, model_package_group)
    preflight_arn = preflight_function.function_arn
    statements = [_invoke(preflight_arn)]
    create_arn = None
    if create_job_with is CreateJobWith.LAMBDA:
        if create_function is None or create_function.role is None:
            raise ConstructValidationError(
                "create_job_with lambda needs the create function and its role", scope
            )
        create_arn = create_function.function_arn
        for statement in creating:
            add_statement(create_function.role, statement)
        statements.append(_invoke(create_arn))
    else:  # the aws-sdk task's own action is spelled as the integration names it
        statements += [iam_statement("sagemaker:createTrainingJob", job_arn), *creating[1:]]
    statements += [
        iam_statement("sagemaker:updateModelPackage", model_package_group.model_package_arn_pattern),
        iam_statement("sagemaker:stopTrainingJob", job_arn),
        iam_statement("sagemaker:describeTrainingJob", job_arn),
    ]
    if bool(settings.config.get("evaluation")) != (evaluation_function is not None):
        raise ConstructValidationError("a config with an evaluation block needs evaluation_function", scope)
    evaluation_arn = evaluation_function.function_arn if evaluation_function else None
    if evaluation_arn:
        statements.append(_invoke(evaluation_arn))
    definition = workflow_states(
        config=settings.config,
        partition=environment(scope)[0],
        preflight_arn=preflight_arn,
        poll_seconds=seconds(poll_interval),
        retry_seconds=seconds(retry_interval),
        create_job_with=create_job_with,
        create_arn=create_arn,
        end=end,
        evaluation_arn=evaluation_arn,
    )
    return definition, statements


class TrainingWorkflowFragment(sfn.StateMachineFragment):
    """The workflow's states, for composing into a larger state machine.

    One state (``TrainingWorkflow``: a single-branch Parallel whose ``OutputPath`` ``$[0]`` passes the branch's
    output on) holds the workflow's states, so input, output and errors are those of
    :class:`~cdk_sagemaker_finetuning.constructs.training_workflow.TrainingWorkflow` (its module docstring).
    With ``result_path`` (e.g. ``"$.training"``) the output goes there instead, the rest of the input is kept
    (a second state, ``TrainingWorkflowResult``, unwraps the Parallel's one-element list). The state machine
    that contains it gets the IAM statements of its tasks. Its input must be a JSON object; the keys ``preflight``, ``job``, ``watch`` and ``error``
    are used as scratch space. The job name derives from the execution name, so run the fragment once per
    execution (not inside a Map). Stopping the job of an aborted execution is the job of
    :class:`TrainingWorkflow`'s EventBridge rule; add your own when you compose. ``create_job_with`` picks the
    CreateTrainingJob step (``create_job.py``); ``CreateJobWith.LAMBDA`` needs ``create_function``
    (``runtime/create_training_job.py``), whose role gets the job-creation statements.

    :param config: the workflow configuration (``workflow_config.runtime_config(...)``; checked at synth).
    :param preflight_function: a :class:`~cdk_sagemaker_finetuning.constructs.workflow_functions.PreflightFunction`
        (or a function running ``runtime/preflight.py`` with its permissions).
    :param training_role: the training execution role passed to SageMaker.
    :param model_package_group: the group the job registers into.
    :param poll_interval: wait between ``DescribeTrainingJob`` calls. Default: 60 s.
    :param retry_interval: first backoff of throttled/transient SageMaker calls. Default: 5 s.
    :param create_job_with: the CreateTrainingJob step. Default: ``CreateJobWith.AWS_SDK``.
    :param create_function: the ``CreateJobWith.LAMBDA`` function. Default: none.
    :param evaluation_function: the evaluation step's function (``evaluation_function.py``), required when
        ``config`` has an ``evaluation`` block. Default: none.
    :param result_path: where the workflow's output goes in the state's input (a JSONPath such as
        ``$.training``). Default: the output replaces the input.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Mapping[str, Any] | WorkflowSettings,
        preflight_function: lambda_.IFunction,
        training_role: iam.IRole,
        model_package_group: IModelPackageGroup,
        poll_interval: Duration = DEFAULT_POLL_INTERVAL,
        retry_interval: Duration = DEFAULT_RETRY_INTERVAL,
        create_job_with: CreateJobWith = CreateJobWith.AWS_SDK,
        create_function: lambda_.IFunction | None = None,
        evaluation_function: lambda_.IFunction | None = None,
        result_path: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        if result_path is not None and (not result_path.startswith("$.") or result_path.endswith(".")):
            raise ConstructValidationError(
                f"result_path {result_path!r} must be a JSONPath into the state's input, such as $.training",
                self,
            )
        definition, statements = workflow_definition(
            self,
            settings=WorkflowSettings.of(self, config),
            preflight_function=preflight_function,
            training_role_arn=training_role.role_arn,
            model_package_group=model_package_group,
            poll_interval=poll_interval,
            retry_interval=retry_interval,
            create_job_with=create_job_with,
            create_function=create_function,
            end={"End": True},
            evaluation_function=evaluation_function,
        )
        self._state = _StateWithPolicies(
            self,
            "TrainingWorkflow",
            state_json={
                "Type": "Parallel",
                "Comment": "The training workflow (cdk-sagemaker-finetuning)",
                "Branches": [_js_nulls(definition, JsonNull.INSTANCE)],
                **({"OutputPath": "$[0]"} if result_path is None else {"ResultPath": result_path}),
            },
        )
        self._state.statements = [iam.PolicyStatement.from_json(s) for s in statements]
        self._end: sfn.CustomState = self._state
        if result_path is not None:
            self._end = sfn.CustomState(
                self,
                "TrainingWorkflowResult",
                state_json={
                    "Type": "Pass",
                    "Comment": "The training workflow's output in place of its one-element list",
                    "InputPath": f"{result_path}[0]",
                    "ResultPath": result_path,
                },
            )
            self._state.next(self._end)

    @property
    def start_state(self) -> sfn.State:
        return self._state

    @property
    def end_states(self) -> list[sfn.INextable]:
        return [self._end]


def _js_nulls(value: Any, null: Any) -> Any:
    """``value`` with each ``None`` replaced by ``null`` (jsii would drop a ``None``: ``ResultPath: null``)."""
    if isinstance(value, dict):
        return {k: _js_nulls(v, null) for k, v in value.items()}
    if isinstance(value, list):
        return [_js_nulls(v, null) for v in value]
    return null if value is None else value


class _StateWithPolicies(sfn.CustomState):
    """A custom state that, like CDK's task states, gives its IAM statements to the state machine's role."""

    statements: list[iam.PolicyStatement] = []

    def bind_to_graph(self, graph: sfn.StateGraph) -> None:
        super().bind_to_graph(graph)
        for statement in self.statements:
            graph.register_policy_statement(statement)
