"""``TrainingWorkflow``: a Step Functions state machine that preflights, runs and watches one serverless job.

Flow (`Step Functions and SageMaker <https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html>`_)::

    Preflight (Lambda) -> [aws-sdk: HasHyperParameters?] -> CreateTrainingJob (aws-sdk or Lambda, retried;
      ResourceInUse = ours)
      -> Watch [Parallel: Wait -> DescribeTrainingJob -> Finished? -> JobResult (Lambda)]
           Catch States.ALL -> StopTrainingJob -> Fail (original error)
      -> Completed? -> SetApprovalStatus (UpdateModelPackage) -> Done (output)
                    | Fail TrainingJobFailed / TrainingJobStopped (cause = FailureReason)
      with an ``evaluation`` block: SetApprovalStatus (PendingManualApproval) -> Evaluate ... -> Evaluated
      (output + ``evaluation``; ``evaluation_states.py``)
    Preflight Catch PreflightError.JobAlreadyRunning -> Skipped (succeeds, nothing started)

Execution input (all keys optional; ``runtime/request.py`` ``INPUT_KEYS``)::

    {"trainUri": "s3://...", "validationUri": "s3://...", "hyperparameters": {"learning_rate": 0.0002},
     "baseModel": "latest" | "<model package ARN>", "approvedOnly": true, "evaluatorArn": "arn:...",
     "mlflowRunName": "round-2"}

Output::

    {"trainingJobName", "trainingJobArn", "status", "outputModelPackageArn", "billableTokenCount",
     "mlflowRunId", "secondaryStatus"}

While another job of the project runs, a new execution succeeds at once with ``{"skipped": true, "reason"}``
and starts nothing (retraining triggers rely on this; ``allowConcurrentRuns`` in the config lifts it).
A completed job's model package gets the configured approval status (``approvalStatus``, default
``PendingManualApproval``) before the execution succeeds.

Errors: ``PreflightError.<Kind>`` (nothing started), ``TrainingJobFailed`` / ``TrainingJobStopped`` (cause: the
job's ``FailureReason``), or the error that broke the watch loop after the job was stopped. An execution that is
aborted, times out or fails triggers an EventBridge rule whose Lambda stops the execution's job if it still runs
(``orphaned_job_stopper.py``: retries, dead-letter queue and alarm).

The pieces: ``workflow_fragment.py`` (the states and the statements of the role running them; the states
themselves are data in ``workflow_definition.py``), ``workflow_functions.py`` (:class:`PreflightFunction`,
the create function and the ARNs of their grants), ``workflow_settings.py`` (the configuration, checked at
synth), ``runtime/workflow_contract.py`` (the configuration's type and the data the states pass).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .arns import duration, environment, seconds
from .create_job import CreateJobWith, resolve_create_job_with
from .errors import ConstructValidationError
from .evaluation_function import evaluation_function, evaluation_job_suffixes, evaluation_seconds
from .model_package_group import IModelPackageGroup
from .nag import acknowledge, findings
from .orphaned_job_stopper import OrphanedJobStopper
from .workflow_fragment import (
    DEFAULT_POLL_INTERVAL,
    DEFAULT_RETRY_INTERVAL,
    SAGEMAKER,
    TrainingWorkflowFragment,
    add_statement,
    caller_statements,
    workflow_definition,
)
from .workflow_functions import (
    PreflightFunction,
    caller_scopes,
    create_function,
    hub_content_arns,
    invoke_scopes,
    recipe_spec_scopes,
    training_job_arn_pattern,
)
from .workflow_settings import MAX_CONFIG_CHARS, WorkflowSettings

__all__ = [
    "MAX_CONFIG_CHARS",
    "SAGEMAKER",
    "PreflightFunction",
    "TrainingWorkflow",
    "TrainingWorkflowFragment",
    "caller_statements",
    "hub_content_arns",
    "poll_interval_for",
    "training_job_arn_pattern",
]

#: Step Functions keeps 25,000 history events per execution; a poll (Wait, DescribeTrainingJob, Choice) writes
#: 9, and the rest of a run fewer than 100.
MAX_POLLS = (25_000 - 100) // 9
DEFAULT_TIMEOUT_MARGIN = Duration.hours(2)
DEFAULT_TIMEOUT_MARGIN_SECONDS = 7200  # DEFAULT_TIMEOUT_MARGIN without a jsii round trip


def poll_interval_for(timeout: Duration | int | float) -> Duration:
    """60 s, or the shortest interval keeping a loop of ``timeout`` (seconds) under the execution history limit."""
    total = timeout if isinstance(timeout, int | float) else seconds(timeout)
    return duration(max(seconds(DEFAULT_POLL_INTERVAL), math.ceil(total / MAX_POLLS)))


class TrainingWorkflow(Construct):
    """The training state machine, its preflight Lambda and the orphaned-job stopper.

    :param config: ``workflow_config.runtime_config(...)`` for the project (may contain tokens; checked at
        synth: an unknown or missing key fails naming it).
    :param training_role: the training execution role passed to SageMaker (``iam:PassRole`` with
        ``iam:PassedToService``), e.g. ``TrainingExecutionRole(...).role`` or ``iam.Role.from_role_arn(...)``.
    :param model_package_group: the group the job registers into (read by the preflight and the state machine).
    :param data_buckets: buckets the preflight may read data samples from. Default: the buckets named in
        ``config``'s literal ``s3://`` data URIs; add the stack's data bucket when its URI is a token.
    :param recipe_spec_resources: S3 object ARNs of recipe hyperparameter specs. Default:
        ``jumpstart-cache-prod-<region>`` and ``jumpstart-private-cache-prod-<region>`` objects (unconfirmed:
        the buckets AWS publishes specs in).
    :param poll_interval: wait between ``DescribeTrainingJob`` calls. Default: 60 s, or longer when the state
        machine timeout would let the loop exceed Step Functions' 25,000-event execution history (runs longer
        than ~44 h). 0 polls back to back (tests only).
    :param retry_interval: first backoff for throttled/transient SageMaker calls (doubles, 5 attempts).
        Default: 5 s.
    :param timeout_margin: added to ``maxRuntimeSeconds`` for the state machine timeout. Default: 2 h.
    :param log_retention: retention of the state machine and Lambda log groups (retained on stack deletion).
        Default: one year.
    :param create_job_with: ``CreateJobWith.AWS_SDK`` (``"aws-sdk"``: Step Functions' aws-sdk integration) or
        ``CreateJobWith.LAMBDA`` (``"lambda"``: a function calling ``CreateTrainingJob`` with boto3; same
        request, retries and ResourceInUse handling). Default: the app's
        ``cdk-sagemaker-finetuning:createJobWith`` context, else aws-sdk. Switch if the integration rejects
        ``ServerlessJobConfig`` (README, "Unconfirmed").
    :param log_group: log group of the state machine (e.g. one shared by a stack's workflows). Default: its
        own, retained.
    :param stopper: the :class:`OrphanedJobStopper` that stops the jobs of failed executions. Default: the
        stack's shared one (``OrphanedJobStopper.of``).

    Attributes: ``state_machine``, ``state_machine_arn``, ``state_machine_name``, ``preflight_function`` (a
    :class:`PreflightFunction`), ``create_function`` (None with aws-sdk), ``evaluation_function`` (None without an
    ``evaluation`` block in ``config``: ``evaluation_function.py``), ``create_job_with``, ``settings``,
    ``stopper``, ``stop_function``, ``stop_rule``, ``dead_letter_queue`` and ``dead_letter_alarm`` (the shared
    stopper's undeliverable events), ``fragment``, ``log_group``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Mapping[str, Any] | WorkflowSettings,
        training_role: iam.IRole,
        model_package_group: IModelPackageGroup,
        data_buckets: Sequence[s3.IBucket] = (),
        recipe_spec_resources: Sequence[str] | None = None,
        poll_interval: Duration | None = None,
        retry_interval: Duration = DEFAULT_RETRY_INTERVAL,
        timeout_margin: Duration = DEFAULT_TIMEOUT_MARGIN,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        create_job_with: CreateJobWith | str | None = None,
        log_group: logs.ILogGroup | None = None,
        stopper: OrphanedJobStopper | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.create_job_with = resolve_create_job_with(self, create_job_with)
        self.settings = settings = WorkflowSettings.of(self, config)
        timeout = self._timeout_seconds(timeout_margin)
        poll_interval = poll_interval or poll_interval_for(timeout)
        self._check_polls(seconds(poll_interval), timeout)
        self._add_functions(
            training_role_arn=training_role.role_arn,
            model_package_group=model_package_group,
            data_buckets=data_buckets,
            recipe_spec_resources=recipe_spec_resources,
            log_retention=log_retention,
        )
        self._fragment_props = dict(
            config=settings,
            preflight_function=self.preflight_function,
            training_role=training_role,
            model_package_group=model_package_group,
            poll_interval=poll_interval,
            retry_interval=retry_interval,
            create_job_with=self.create_job_with,
            create_function=self.create_function,
            evaluation_function=self.evaluation_function,
        )
        definition, statements = self._definition(timeout)
        self.log_group = log_group or logs.LogGroup(
            self, "StateMachineLogs", retention=log_retention, removal_policy=RemovalPolicy.RETAIN
        )
        self.state_machine = self._state_machine(definition, statements)
        self.state_machine_arn = self.state_machine.state_machine_arn
        self.state_machine_name = self.state_machine.state_machine_name
        self._stop_orphaned_jobs(stopper or OrphanedJobStopper.of(self))
        self._acknowledge(model_package_group)

    @property
    def fragment(self) -> TrainingWorkflowFragment:
        """The same states as a :class:`TrainingWorkflowFragment` (created on first use, in this construct)."""
        found = self.node.try_find_child("Fragment")
        return (
            found if found is not None else TrainingWorkflowFragment(self, "Fragment", **self._fragment_props)
        )

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` (a pipeline, an EventBridge rule role, a user) to start a training run."""
        return self.state_machine.grant_start_execution(grantee)

    def _timeout_seconds(self, timeout_margin: Duration) -> int | float:
        """The state machine timeout: the job's maximum runtime, the evaluation's, and ``timeout_margin``."""
        margin = (
            DEFAULT_TIMEOUT_MARGIN_SECONDS
            if timeout_margin is DEFAULT_TIMEOUT_MARGIN
            else seconds(timeout_margin)
        )
        return self.settings.max_runtime_seconds + evaluation_seconds(self.settings.config) + margin

    def _add_functions(
        self,
        *,
        training_role_arn: str,
        model_package_group: IModelPackageGroup,
        data_buckets: Sequence[s3.IBucket],
        recipe_spec_resources: Sequence[str] | None,
        log_retention: logs.RetentionDays,
    ) -> None:
        """The Lambdas the states call: ``preflight_function``, ``create_function`` (Lambda way only) and
        ``evaluation_function`` (with an ``evaluation`` block only)."""
        settings = self.settings
        self.preflight_function = PreflightFunction(
            self,
            "Preflight",
            config=settings,
            model_package_group=model_package_group,
            data_buckets=data_buckets,
            recipe_spec_resources=recipe_spec_resources,
            log_retention=log_retention,
        )
        self.create_function = (
            create_function(self, log_retention) if self.create_job_with is CreateJobWith.LAMBDA else None
        )
        job_arn = training_job_arn_pattern(self, settings.job_name_prefix)
        self.evaluation_function = evaluation_function(
            self,
            config=settings.config,
            create_statements=caller_statements(
                self, settings, training_role_arn, job_arn, model_package_group
            ),
            job_arn=job_arn,
            model_package_group=model_package_group,
            recipe_spec_resources=[arn for arn, _ in recipe_spec_scopes(self, recipe_spec_resources)],
            log_retention=log_retention,
        )

    def _definition(self, timeout: int | float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The complete state machine definition (the workflow's states, then ``Succeeded``) and the
        statements its role needs."""
        definition, statements = workflow_definition(
            self, **self._workflow_props(), end={"Next": "Succeeded"}
        )
        definition["States"]["Succeeded"] = {"Type": "Succeed"}
        definition["TimeoutSeconds"] = timeout
        definition["Comment"] = f"Serverless fine-tuning of project {self.settings.config['projectName']}"
        return definition, statements

    def _stop_orphaned_jobs(self, stopper: OrphanedJobStopper) -> None:
        """The stopper's rule for this state machine: an aborted, timed-out or failed execution's job is stopped."""
        prefix = self.settings.job_name_prefix
        self.stopper = stopper
        self.stop_rule = stopper.add(
            self.state_machine,
            job_arn=training_job_arn_pattern(self, prefix),
            job_name_prefix=prefix,
            evaluation_job_suffixes=evaluation_job_suffixes(self.settings.config),
        )
        self.stop_function = stopper.function
        self.dead_letter_queue, self.dead_letter_alarm = stopper.dead_letter_queue, stopper.alarm

    def _workflow_props(self) -> dict[str, Any]:
        """``workflow_definition``'s arguments: the fragment's, with the checked settings and the role's ARN."""
        props = {k: v for k, v in self._fragment_props.items() if k not in ("config", "training_role")}
        return {
            **props,
            "settings": self.settings,
            "training_role_arn": self._fragment_props["training_role"].role_arn,
        }

    def _state_machine(
        self, definition: dict[str, Any], statements: list[dict[str, Any]]
    ) -> sfn.StateMachine:
        """The state machine and its role: the workflow's statements, then StateMachine's logging and tracing."""
        role = iam.Role(
            self,
            "StateMachineRole",
            assumed_by=iam.ServicePrincipal(
                "states.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": environment(self)[2]}},
            ),
            description="Training workflow state machine: starts, watches and stops this project's jobs",
        )
        for statement in statements:  # before StateMachine adds its logging and tracing statements
            add_statement(role, statement)
        return sfn.StateMachine(
            self,
            "StateMachine",
            # json.dumps keeps the ``null`` ResultPaths; the ARN tokens inside its strings resolve to Fn::Join
            definition_body=sfn.DefinitionBody.from_string(json.dumps(definition, separators=(",", ":"))),
            role=role,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
            tracing_enabled=True,
        )

    def _check_polls(self, poll_seconds: int | float, timeout: int | float) -> None:
        if poll_seconds > 3600:
            raise ConstructValidationError("poll_interval must be at most 1 hour", self)
        if poll_seconds and timeout / poll_seconds > MAX_POLLS:
            raise ConstructValidationError(
                f"poll_interval {poll_seconds} s allows {int(timeout / poll_seconds)} polls within the {timeout} s "
                f"timeout; Step Functions keeps at most 25,000 history events ({MAX_POLLS} polls): use at "
                f"least {seconds(poll_interval_for(timeout))} s",
                self,
            )

    def _acknowledge(self, group: IModelPackageGroup) -> None:
        """Once for every role of the workflow (state machine, create function): the wildcard ARNs of
        ``caller_scopes`` (the preflight acknowledges its own), the Lambda integration and logging/tracing."""
        functions = [
            f for f in (self.preflight_function, self.create_function, self.evaluation_function) if f
        ]
        scoped = [
            *caller_scopes(self, self.settings, group),
            *[scope for function in functions for scope in invoke_scopes(function.function_arn)],
        ]
        acknowledge(
            self,
            {
                **findings(self, scoped),
                "AwsSolutions-IAM5[Resource::*]": "X-Ray tracing and CloudWatch Logs delivery actions have no "
                "resource-level permissions (added by StateMachine for tracing and logging).",
            },
        )
