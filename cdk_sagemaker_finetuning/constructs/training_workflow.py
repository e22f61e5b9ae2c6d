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
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, JsonNull, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ..runtime import models
from .arns import environment, format_arn, s3_arn
from .create_job import CreateJobWith, resolve_create_job_with
from .dataset_lineage import grant_dataset_registration
from .errors import ConstructValidationError
from .evaluation_function import evaluation_function, evaluation_job_suffixes, evaluation_seconds
from .evaluator_lookup import grant_function_check
from .hub_evaluator import EVALUATOR_ARN_RE, evaluator_hub_arn, evaluator_versions_arn
from .model_package_group import IModelPackageGroup
from .nag import acknowledge, acknowledge_wildcard_resources, wildcard_findings
from .orphaned_job_stopper import OrphanedJobStopper
from .runtime_function import logical_id, runtime_function
from .workflow_definition import workflow_states

SAGEMAKER = "sagemaker.amazonaws.com"
DEFAULT_POLL_INTERVAL = Duration.seconds(60)
DEFAULT_RETRY_INTERVAL = Duration.seconds(5)
#: Step Functions keeps 25,000 history events per execution; a poll (Wait, DescribeTrainingJob, Choice) writes
#: 9, and the rest of a run fewer than 100.
MAX_POLLS = (25_000 - 100) // 9
DEFAULT_TIMEOUT_MARGIN = Duration.hours(2)
#: Lambda environment variables share a 4 KB limit.
MAX_CONFIG_CHARS = 3500


def poll_interval_for(timeout: Duration) -> Duration:
    """60 s, or the shortest interval keeping a loop of ``timeout`` under the execution history limit."""
    return Duration.seconds(
        max(DEFAULT_POLL_INTERVAL.to_seconds(), math.ceil(timeout.to_seconds() / MAX_POLLS))
    )


def training_job_arn_pattern(scope: Construct, prefix: str) -> str:
    """``arn:...:training-job/<prefix>*``: every job this workflow can start."""
    return format_arn(scope, service="sagemaker", resource="training-job", resource_name=f"{prefix}*")


def _statement(actions: str | list[str], resources: str | list[str], **condition: Any) -> dict[str, Any]:
    statement = {"Action": actions, "Effect": "Allow", "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def _invoke(function_arn: str) -> dict[str, Any]:
    """What Step Functions' Lambda integration needs: the function and its versions/aliases."""
    return _statement("lambda:InvokeFunction", [function_arn, f"{function_arn}:*"])


def caller_statements(
    scope: Construct, config: Mapping[str, Any], role_arn: str, job_arn: str, group: IModelPackageGroup
) -> list[dict[str, Any]]:
    """Calling CreateTrainingJob (`SageMaker actions <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html>`_): the action, AddTags, PassRole, and the hub/group reads."""
    return [
        _statement("sagemaker:CreateTrainingJob", job_arn),
        _statement("sagemaker:AddTags", job_arn),
        _statement("iam:PassRole", role_arn, StringEquals={"iam:PassedToService": SAGEMAKER}),
        _statement("sagemaker:DescribeHubContent", hub_content_arns(scope, config)),
        _statement(
            ["sagemaker:DescribeModelPackageGroup", "sagemaker:DescribeModelPackage"],
            [group.model_package_group_arn, group.model_package_arn_pattern],
        ),
    ]


def _definition(
    scope: Construct,
    *,
    config: Mapping[str, Any],
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

    With ``CreateJobWith.LAMBDA`` the job-creation statements go to ``create_function``'s role instead.
    """
    job_arn = training_job_arn_pattern(scope, config["jobNamePrefix"])
    creating = caller_statements(scope, config, training_role_arn, job_arn, model_package_group)
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
            create_function.role.add_to_principal_policy(iam.PolicyStatement.from_json(statement))
        statements.append(_invoke(create_arn))
    else:  # the aws-sdk task's own action is spelled as the integration names it
        statements += [_statement("sagemaker:createTrainingJob", job_arn), *creating[1:]]
    statements += [
        _statement("sagemaker:updateModelPackage", model_package_group.model_package_arn_pattern),
        _statement("sagemaker:stopTrainingJob", job_arn),
        _statement("sagemaker:describeTrainingJob", job_arn),
    ]
    if bool(config.get("evaluation")) != (evaluation_function is not None):
        raise ConstructValidationError("a config with an evaluation block needs evaluation_function", scope)
    evaluation_arn = evaluation_function.function_arn if evaluation_function else None
    if evaluation_arn:
        statements.append(_invoke(evaluation_arn))
    definition = workflow_states(
        config=config,
        partition=environment(scope)[0],
        preflight_arn=preflight_arn,
        poll_seconds=poll_interval.to_seconds(),
        retry_seconds=retry_interval.to_seconds(),
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
    :class:`TrainingWorkflow` (module docstring). The state machine that contains it gets the IAM statements
    of CreateTrainingJob. Its input must be a JSON object; the keys ``preflight``, ``job``, ``watch`` and ``error``
    are used as scratch space. The job name derives from the execution name, so run the fragment once per
    execution (not inside a Map). Stopping the job of an aborted execution is the job of
    :class:`TrainingWorkflow`'s EventBridge rule; add your own when you compose. ``create_job_with`` picks the
    CreateTrainingJob step (``create_job.py``); ``CreateJobWith.LAMBDA`` needs ``create_function``
    (``runtime/create_training_job.py``), whose role gets the job-creation statements. A ``config`` with an
    ``evaluation`` block needs ``evaluation_function`` (``evaluation_function.py``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Mapping[str, Any],
        preflight_function: lambda_.IFunction,
        training_role_arn: str,
        model_package_group: IModelPackageGroup,
        poll_interval: Duration = DEFAULT_POLL_INTERVAL,
        retry_interval: Duration = DEFAULT_RETRY_INTERVAL,
        create_job_with: CreateJobWith = CreateJobWith.AWS_SDK,
        create_function: lambda_.IFunction | None = None,
        evaluation_function: lambda_.IFunction | None = None,
    ) -> None:
        super().__init__(scope, id)
        definition, statements = _definition(
            self,
            config=config,
            preflight_function=preflight_function,
            training_role_arn=training_role_arn,
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
                "OutputPath": "$[0]",
            },
        )
        self._state.statements = [iam.PolicyStatement.from_json(s) for s in statements]

    @property
    def start_state(self) -> sfn.State:
        return self._state

    @property
    def end_states(self) -> list[sfn.INextable]:
        return [self._state]


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


def hub_content_arns(scope: Construct, config: Mapping[str, Any]) -> list[str]:
    """What ``DescribeHubContent`` needs: the base model (every version) plus this account's evaluators and
    datasets (any hub, name, version), and the hubs holding them (the action is authorized on both the
    ``hub`` and the ``hub-content`` resource)."""
    hub = config.get("hubName") or models.PUBLIC_HUB
    owner = "aws" if hub == models.PUBLIC_HUB else None

    def arn(resource: str, name: str, account: str | None = None) -> str:
        return format_arn(scope, service="sagemaker", resource=resource, resource_name=name, account=account)

    return [
        arn("hub", hub, owner),
        arn("hub", "*"),
        arn("hub-content", f"{hub}/Model/{config['baseModel']}/*", owner),
        arn("hub-content", "*/JsonDoc/*"),
        arn("hub-content", "*/DataSet/*"),
        *_existing_evaluator_arns(config.get("evaluatorArn")),
    ]


def _existing_evaluator_arns(evaluator_arn: Any) -> list[str]:
    """An existing evaluator's hub and versions in its own account (it may be another account's, shared with
    this one: the preflight describes it before any job starts)."""
    if not isinstance(evaluator_arn, str) or Token.is_unresolved(evaluator_arn):
        return []
    if not EVALUATOR_ARN_RE.match(evaluator_arn):
        return []
    return [evaluator_hub_arn(evaluator_arn), evaluator_versions_arn(evaluator_arn)]


class TrainingWorkflow(Construct):
    """The training state machine, its preflight Lambda and the orphaned-job stopper.

    Props (keyword-only):

    ``config``
        ``workflow_config.runtime_config(...)`` for the project (may contain tokens).
    ``training_role_arn``
        The training execution role passed to SageMaker (``iam:PassRole`` with ``iam:PassedToService``).
    ``model_package_group``
        The group the job registers into (read by the preflight and the state machine).
    ``data_buckets``
        Buckets the preflight may read data samples from. Default: the buckets named in ``config``'s literal
        ``s3://`` data URIs; add the stack's data bucket when its URI is a token.
    ``recipe_spec_resources``
        S3 object ARNs of recipe hyperparameter specs. Default: ``jumpstart-cache-prod-<region>`` and
        ``jumpstart-private-cache-prod-<region>`` objects (unconfirmed: the buckets AWS publishes specs in).
    ``poll_interval``
        Wait between ``DescribeTrainingJob`` calls. Default: 60 s, or longer when the state machine timeout
        would let the loop exceed Step Functions' 25,000-event execution history (runs longer than ~44 h).
        0 polls back to back (tests only).
    ``retry_interval``
        First backoff for throttled/transient SageMaker calls (doubles, 5 attempts). Default: 5 s.
    ``timeout_margin``
        Added to ``maxRuntimeSeconds`` for the state machine timeout. Default: 2 h.
    ``log_retention``
        Retention of the state machine and Lambda log groups (retained on stack deletion). Default: one year.
    ``create_job_with``
        ``CreateJobWith.AWS_SDK`` (``"aws-sdk"``: Step Functions' aws-sdk integration) or ``CreateJobWith.LAMBDA``
        (``"lambda"``: a function calling ``CreateTrainingJob`` with boto3; same request, retries and
        ResourceInUse handling). Default: the app's ``cdk-sagemaker-finetuning:createJobWith`` context, else
        aws-sdk. Switch if the integration rejects ``ServerlessJobConfig`` (README, "Unconfirmed").
    ``log_group``
        Log group of the state machine (e.g. one shared by a stack's workflows). Default: its own, retained.
    ``stopper``
        The :class:`OrphanedJobStopper` that stops the jobs of failed executions. Default: the stack's shared
        one (``OrphanedJobStopper.of``).

    Attributes: ``state_machine``, ``state_machine_arn``, ``state_machine_name``, ``preflight_function``,
    ``create_function`` (None with aws-sdk), ``evaluation_function`` (None without an ``evaluation`` block in
    ``config``: ``evaluation_function.py``), ``create_job_with``, ``stopper``, ``stop_function``,
    ``stop_rule``, ``dead_letter_queue`` and ``dead_letter_alarm`` (the shared stopper's undeliverable
    events), ``fragment``, ``log_group``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Mapping[str, Any],
        training_role_arn: str,
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
        timeout = Duration.seconds(
            int(config.get("maxRuntimeSeconds") or 86400)
            + evaluation_seconds(config)
            + timeout_margin.to_seconds()
        )
        poll_interval = poll_interval or poll_interval_for(timeout)
        self._check(config, poll_interval, timeout)
        self._config = dict(config)
        self._group_packages = model_package_group.model_package_arn_pattern
        stack = Stack.of(self)
        prefix = config["jobNamePrefix"]
        job_arn = training_job_arn_pattern(self, prefix)
        self.preflight_function = runtime_function(
            self,
            "Preflight",
            handler="preflight.handler",
            description="Training workflow preflight: checks model, recipe, hyperparameters, data; builds the request",
            environment={"WORKFLOW_CONFIG": stack.to_json_string(dict(config))},
            retention=log_retention,
        )
        preflight_role = self.preflight_function.role
        model_package_group.grant_read(preflight_role)
        # ListModelPackages is scoped to the group and its packages by grant_read above; ListTrainingJobs has
        # no resource-level permissions (Service Authorization Reference), so the one-job-per-project check
        # lists on *.
        iam.Grant.add_to_principal(
            grantee=preflight_role, actions=["sagemaker:ListTrainingJobs"], resource_arns=["*"]
        )
        acknowledge(
            preflight_role,
            {
                "AwsSolutions-IAM5[Resource::*]": "ListTrainingJobs (a read-only listing) has no resource-level "
                "permissions; the preflight lists this project's jobs only (name prefix filter).",
            },
        )
        iam.Grant.add_to_principal(
            grantee=preflight_role,
            actions=["sagemaker:DescribeHubContent"],
            resource_arns=hub_content_arns(self, config),
        )
        iam.Grant.add_to_principal(
            grantee=preflight_role, actions=["sagemaker:DescribeTrainingJob"], resource_arns=[job_arn]
        )
        specs = (
            list(recipe_spec_resources)
            if recipe_spec_resources is not None
            else [
                s3_arn(self, f"jumpstart-cache-prod-{environment(self)[1]}/*"),
                s3_arn(self, f"jumpstart-private-cache-prod-{environment(self)[1]}/*"),
            ]
        )
        iam.Grant.add_to_principal(grantee=preflight_role, actions=["s3:GetObject"], resource_arns=specs)
        acknowledge_wildcard_resources(
            preflight_role,
            specs,
            "Recipe hyperparameter specs are AWS-owned objects read by key (unconfirmed "
            "bucket set, configurable with recipe_spec_resources).",
        )
        self._grant_data_read(preflight_role, config, data_buckets)
        grant_dataset_registration(
            preflight_role, config, training_role_arn=training_role_arn, model_packages=self._group_packages
        )
        if config.get("rewardLambdaArn"):  # the evaluator's Lambda must exist
            grant_function_check(preflight_role, config["rewardLambdaArn"])

        self.create_function = (
            runtime_function(
                self,
                "CreateTrainingJob",
                handler="create_training_job.handler",
                description="Training workflow: starts the serverless job with boto3 CreateTrainingJob",
                environment={},
                retention=log_retention,
            )
            if self.create_job_with is CreateJobWith.LAMBDA
            else None
        )
        self.evaluation_function = evaluation_function(
            self,
            config=config,
            create_statements=caller_statements(self, config, training_role_arn, job_arn, model_package_group),
            job_arn=job_arn,
            model_package_group=model_package_group,
            recipe_spec_resources=specs,
            log_retention=log_retention,
        )
        self._fragment_props = dict(
            config=config,
            preflight_function=self.preflight_function,
            training_role_arn=training_role_arn,
            model_package_group=model_package_group,
            poll_interval=poll_interval,
            retry_interval=retry_interval,
            create_job_with=self.create_job_with,
            create_function=self.create_function,
            evaluation_function=self.evaluation_function,
        )
        definition, statements = _definition(self, **self._fragment_props, end={"Next": "Succeeded"})
        definition["States"]["Succeeded"] = {"Type": "Succeed"}
        definition["TimeoutSeconds"] = timeout.to_seconds()
        definition["Comment"] = f"Serverless fine-tuning of project {config.get('projectName')}"
        self.log_group = log_group or logs.LogGroup(
            self, "StateMachineLogs", retention=log_retention, removal_policy=RemovalPolicy.RETAIN
        )
        role = iam.Role(
            self,
            "StateMachineRole",
            assumed_by=iam.ServicePrincipal(
                "states.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="Training workflow state machine: starts, watches and stops this project's jobs",
        )
        for statement in statements:  # before StateMachine adds its logging and tracing statements
            role.add_to_policy(iam.PolicyStatement.from_json(statement))
        self.state_machine = sfn.StateMachine(
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
        self.state_machine_arn = self.state_machine.state_machine_arn
        self.state_machine_name = self.state_machine.state_machine_name
        self.stopper = stopper or OrphanedJobStopper.of(self)
        self.stop_rule = self.stopper.add(
            self.state_machine,
            job_arn=job_arn,
            job_name_prefix=prefix,
            evaluation_job_suffixes=evaluation_job_suffixes(config),
        )
        self.stop_function = self.stopper.function
        self.dead_letter_queue, self.dead_letter_alarm = self.stopper.dead_letter_queue, self.stopper.alarm
        self._acknowledge(role)

    @property
    def fragment(self) -> TrainingWorkflowFragment:
        """The same states as a :class:`TrainingWorkflowFragment` (created on first use, in this construct)."""
        found = self.node.try_find_child("Fragment")
        return (
            found if found is not None else TrainingWorkflowFragment(self, "Fragment", **self._fragment_props)
        )

    def _grant_data_read(
        self, role: iam.IRole, config: Mapping[str, Any], buckets: Sequence[s3.IBucket]
    ) -> None:
        """ListBucket + GetObject for data samples: given buckets whole, literal data URIs by key prefix."""
        bucket_arns = [b.bucket_arn for b in buckets]
        object_arns = [b.arn_for_objects("*") for b in buckets]
        for key in ("trainUri", "validationUri"):
            uri = config.get(key)
            if isinstance(uri, str) and not Token.is_unresolved(uri) and uri.startswith("s3://"):
                bucket, _, prefix = uri.removeprefix("s3://").partition("/")
                bucket_arns.append(s3_arn(self, bucket))
                object_arns.append(s3_arn(self, f"{bucket}/{prefix}*"))
        if not bucket_arns:
            return
        iam.Grant.add_to_principal(grantee=role, actions=["s3:ListBucket"], resource_arns=bucket_arns)
        iam.Grant.add_to_principal(grantee=role, actions=["s3:GetObject"], resource_arns=object_arns)
        acknowledge_wildcard_resources(
            role,
            object_arns,
            "Training data objects under the configured data location, sampled (1 MB) by key.",
        )

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` (a pipeline, an EventBridge rule role, a user) to start a training run."""
        return self.state_machine.grant_start_execution(grantee)

    def _check(self, config: Mapping[str, Any], poll_interval: Duration, timeout: Duration) -> None:
        missing = [k for k in ("jobNamePrefix", "technique", "baseModel") if not config.get(k)]
        if missing:
            raise ConstructValidationError(
                f"config lacks {', '.join(missing)}; build it with workflow_config.runtime_config()", self
            )
        prefix = config["jobNamePrefix"]
        if Token.is_unresolved(prefix) or not models.RESOURCE_NAME_RE.match(prefix) or len(prefix) > 26:
            raise ConstructValidationError(
                f"config jobNamePrefix {prefix!r} must be a literal name of at most 26 letters, digits and hyphens",
                self,
            )
        seconds = poll_interval.to_seconds()
        if seconds > 3600:
            raise ConstructValidationError("poll_interval must be at most 1 hour", self)
        if seconds and timeout.to_seconds() / seconds > MAX_POLLS:
            raise ConstructValidationError(
                f"poll_interval {seconds} s allows {int(timeout.to_seconds() / seconds)} polls within the "
                f"{timeout.to_seconds()} s timeout; Step Functions keeps at most 25,000 history events "
                f"({MAX_POLLS} polls): use at least {poll_interval_for(timeout).to_seconds()} s",
                self,
            )
        text = json.dumps(config, default=str)
        if not Token.is_unresolved(text) and len(text) > MAX_CONFIG_CHARS:
            raise ConstructValidationError(
                f"the workflow config is {len(text)} characters; Lambda environments hold 4 KB (fewer tags or "
                "hyperparameters)",
                self,
            )

    def _acknowledge(self, role: iam.IRole) -> None:
        here = "arn:<AWS::Partition>:sagemaker:<AWS::Region>"
        config = self._config
        hub = config.get("hubName") or models.PUBLIC_HUB
        owner = "aws" if hub == models.PUBLIC_HUB else "<AWS::AccountId>"
        jobs = {
            f"AwsSolutions-IAM5[Resource::{here}:<AWS::AccountId>:training-job/{config['jobNamePrefix']}*]": "Training jobs are named <project prefix>-<execution name> at run time; scoped to this prefix.",
        }
        hub_reads = {
            f"AwsSolutions-IAM5[Resource::{here}:<AWS::AccountId>:hub/*]": "Hubs of this account holding the "
            "evaluators and datasets an execution may choose (DescribeHubContent is authorized on the hub too).",
            f"AwsSolutions-IAM5[Resource::{here}:<AWS::AccountId>:hub-content/*/JsonDoc/*]": "Evaluators (reward functions, judge prompts) may be chosen per execution; read-only describe.",
            f"AwsSolutions-IAM5[Resource::{here}:<AWS::AccountId>:hub-content/*/DataSet/*]": "AI Registry datasets may be chosen per execution; read-only describe.",
            f"AwsSolutions-IAM5[Resource::{here}:{owner}:hub-content/{hub}/Model/{config['baseModel']}/*]": "Every version of the one base model: the service floats to the latest version.",
        }
        # once for every role of the workflow (preflight, stopper, create function, state machine)
        acknowledge(
            self,
            {
                **jobs,
                **hub_reads,
                **wildcard_findings(
                    self,
                    [arn for arn in _existing_evaluator_arns(config.get("evaluatorArn")) if arn.endswith("*")],
                    "Every version of the one existing evaluator the spec names (it may be another account's): "
                    "the preflight describes it before any job starts.",
                ),
                **wildcard_findings(
                    self,
                    [self._group_packages],
                    "Model package versions of this project's group: the preflight reads the latest "
                    "(continuous customization), CreateTrainingJob the source package, SetApprovalStatus the new one.",
                ),
            },
        )
        functions = [f for f in (self.preflight_function, self.create_function, self.evaluation_function) if f]
        acknowledge(
            role,
            {
                **{
                    f"AwsSolutions-IAM5[Resource::<{logical_id(function)}.Arn>:*]": "Step Functions' Lambda "
                    "integration grants the workflow's function and its versions/aliases."
                    for function in functions
                },
                "AwsSolutions-IAM5[Resource::*]": "X-Ray tracing and CloudWatch Logs delivery actions have no "
                "resource-level permissions (added by StateMachine for tracing and logging).",
            },
        )
