"""Retraining triggers: EventBridge rules (new data, schedule) and a CodePipeline (V2) retraining pipeline.

Every trigger starts the training workflow with the execution input it understands (``trainUri`` and, for
continuous customization, ``baseModel: "latest"`` and ``approvedOnly``). The workflow itself skips a run
when another one of the same project is still running, so triggers never start a second job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .arns import execution_arn
from .asset_staging import runtime_asset, runtime_handler
from .bucket_event_check import BucketEventCheck, needs_check
from .errors import ConstructValidationError
from .nag import acknowledge, acknowledge_wildcard_resources
from .runtime_function import ARCHITECTURE, RUNTIME, dead_letter_queue


def training_input(
    train_uri: str | None, *, continue_from_latest: bool, approved_only: bool
) -> dict[str, Any]:
    """The workflow execution input a trigger sends."""
    data: dict[str, Any] = {} if train_uri is None else {"trainUri": train_uri}
    if continue_from_latest:
        data.update(baseModel="latest", approvedOnly=approved_only)
    return data


def object_created_pattern(bucket: s3.IBucket, key_prefix: str) -> events.EventPattern:
    """S3 "Object Created" events (EventBridge notifications) for keys under ``key_prefix``."""
    return events.EventPattern(
        source=["aws.s3"],
        detail_type=["Object Created"],
        detail={"bucket": {"name": [bucket.bucket_name]}, "object": {"key": events.Match.prefix(key_prefix)}},
    )


class RetrainingTriggers(Construct):
    """EventBridge rules that start the training workflow on new data and/or on a schedule.

    :param state_machine: the training workflow.
    :param data_bucket: bucket to watch; it must send events to EventBridge (``event_bridge_enabled``).
        Default: none (required with ``new_data_prefix``).
    :param new_data_prefix: start a run with ``trainUri`` = the new object when an object is created under
        this key prefix. Default: no new-data rule.
    :param schedule: start a run (with the spec's data) on this schedule. Default: no schedule.
    :param continue_from_latest: train from the newest model package in the group. Default: False.
    :param approved_only: with ``continue_from_latest``, only ``Approved`` packages. Default: True.
    :param check_bucket: with ``new_data_prefix`` on an imported bucket, fail the deployment when the bucket
        does not send events to EventBridge (``BucketEventCheck``; the bucket is only read). Default: True.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        state_machine: sfn.IStateMachine,
        data_bucket: s3.IBucket | None = None,
        new_data_prefix: str | None = None,
        schedule: events.Schedule | None = None,
        continue_from_latest: bool = False,
        approved_only: bool = True,
        check_bucket: bool = True,
    ) -> None:
        super().__init__(scope, id)
        self.new_data_rule: events.Rule | None = None
        self.bucket_check: BucketEventCheck | None = None
        self.schedule_rule: events.Rule | None = None
        base = training_input(None, continue_from_latest=continue_from_latest, approved_only=approved_only)
        if new_data_prefix is not None:
            if data_bucket is None:
                raise ConstructValidationError(
                    "new_data_prefix needs data_bucket (the bucket whose new objects start a run)", self
                )
            new_object = (
                f"s3://{events.EventField.from_path('$.detail.bucket.name')}/"
                f"{events.EventField.from_path('$.detail.object.key')}"
            )
            self.new_data_rule = events.Rule(
                self,
                "NewData",
                description="Retrain when new training data arrives",
                event_pattern=object_created_pattern(data_bucket, new_data_prefix),
                targets=[self._target(state_machine, {**base, "trainUri": new_object})],
            )
            if check_bucket and needs_check(data_bucket):
                self.bucket_check = BucketEventCheck(
                    self,
                    "BucketCheck",
                    bucket=data_bucket,
                    used_by=f"the retraining trigger on new objects under {new_data_prefix!r}",
                )
                self.new_data_rule.node.add_dependency(self.bucket_check)
        if schedule is not None:
            self.schedule_rule = events.Rule(
                self,
                "Schedule",
                description="Retrain on a schedule",
                schedule=schedule,
                targets=[self._target(state_machine, base)],
            )

    @staticmethod
    def _target(state_machine: sfn.IStateMachine, data: dict[str, Any]) -> targets.SfnStateMachine:
        return targets.SfnStateMachine(
            state_machine,
            input=events.RuleTargetInput.from_object(data),
            retry_attempts=3,
            max_event_age=Duration.hours(2),
        )


@dataclass(frozen=True, kw_only=True)
class PipelineRepository:
    """A CodeConnections repository (for example the one holding the spec) whose pushes start the pipeline.

    :param connection_arn: the CodeConnections (or CodeStar Connections) connection ARN.
    :param owner: the repository owner (user or organization).
    :param repo: the repository name.
    :param branch: the branch whose pushes start the pipeline. Default: ``main``.
    """

    connection_arn: str
    owner: str
    repo: str
    branch: str = "main"


#: cdk-nag acknowledgments of the S3 grants CodePipeline's actions get on the artifact and source buckets.
CDK_S3_GRANTS = {
    "AwsSolutions-IAM5[Action::s3:GetObject*]": "CDK's S3 grants for the pipeline's artifact and source buckets "
    "(object versions and tags).",
    "AwsSolutions-IAM5[Action::s3:GetBucket*]": "CDK's S3 grants for the pipeline's buckets.",
    "AwsSolutions-IAM5[Action::s3:List*]": "CDK's S3 grants for the pipeline's buckets.",
    "AwsSolutions-IAM5[Action::s3:DeleteObject*]": "CodePipeline replaces its own artifacts.",
    "AwsSolutions-IAM5[Action::s3:Abort*]": "CodePipeline aborts its own multipart artifact uploads.",
}


class RetrainingPipeline(Construct):
    """A CodePipeline (V2): Source (data object, optional repository) -> [Approve] -> Train -> Report.

    A new version of ``source_key`` in ``data_bucket`` (EventBridge "Object Created") or a push to the
    optional repository starts the pipeline; the Train stage runs the training workflow with that object as
    ``trainUri`` and waits for it; the Report stage publishes ``status``, ``modelPackageArn``,
    ``trainingJobName`` and ``billableTokenCount`` as output variables of the ``Report`` namespace.

    :param state_machine: the training workflow.
    :param data_bucket: versioned bucket holding the source object, sending events to EventBridge.
    :param source_key: the object whose new versions start the pipeline.
    :param artifact_bucket: encrypted bucket for pipeline artifacts.
    :param manual_approval: add a manual approval before training. Default: False.
    :param approval_topic: topic notified when an approval is pending. Default: none.
    :param repository: a CodeConnections repository (for example the one holding the spec) whose pushes also
        start the pipeline. Default: none.
    :param continue_from_latest: train from the newest model package in the group. Default: False.
    :param approved_only: with ``continue_from_latest``, only ``Approved`` packages. Default: True.
    :param check_bucket: for an imported ``data_bucket``, fail the deployment when it does not send events to
        EventBridge or is not versioned (``BucketEventCheck``; the bucket is only read). Default: True.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        state_machine: sfn.IStateMachine,
        data_bucket: s3.IBucket,
        source_key: str,
        artifact_bucket: s3.IBucket,
        manual_approval: bool = False,
        approval_topic: sns.ITopic | None = None,
        repository: PipelineRepository | None = None,
        continue_from_latest: bool = False,
        approved_only: bool = True,
        check_bucket: bool = True,
    ) -> None:
        super().__init__(scope, id)
        self.repository_role = self._repository_role(repository.connection_arn) if repository else None
        stages = [
            codepipeline.StageProps(
                stage_name="Source", actions=self._source_actions(data_bucket, source_key, repository)
            )
        ]
        if manual_approval:
            approve = actions.ManualApprovalAction(
                action_name="ApproveTraining",
                notification_topic=approval_topic,
                additional_information=f"Approve fine-tuning on s3://{data_bucket.bucket_name}/{source_key}",
            )
            stages.append(codepipeline.StageProps(stage_name="Approve", actions=[approve]))
        train_input_data = training_input(
            f"s3://{data_bucket.bucket_name}/{source_key}",
            continue_from_latest=continue_from_latest,
            approved_only=approved_only,
        )
        stages += self._train_and_report(state_machine, train_input_data)
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_type=codepipeline.PipelineType.V2,
            artifact_bucket=artifact_bucket,
            stages=stages,
            restart_execution_on_update=False,
        )
        self.pipeline_arn = self.pipeline.pipeline_arn
        self.pipeline_name = self.pipeline.pipeline_name
        self._start_on_new_version(data_bucket, source_key, check_bucket=check_bucket)
        self._acknowledge(artifact_bucket, data_bucket, state_machine)

    def _start_on_new_version(self, data_bucket: s3.IBucket, source_key: str, *, check_bucket: bool) -> None:
        """The rule starting the pipeline on a new version of the source object (and the bucket's check)."""
        self.source_rule = events.Rule(
            self,
            "NewSourceVersion",
            description=f"Start the retraining pipeline when {source_key} changes",
            event_pattern=object_created_pattern(data_bucket, source_key),
            targets=[targets.CodePipeline(self.pipeline)],
        )
        self.bucket_check = None
        if check_bucket and needs_check(data_bucket):
            self.bucket_check = BucketEventCheck(
                self,
                "BucketCheck",
                bucket=data_bucket,
                versioning=True,
                used_by=f"the retraining pipeline (source object {source_key})",
            )
            self.source_rule.node.add_dependency(self.bucket_check)

    def _train_and_report(
        self, state_machine: sfn.IStateMachine, data: dict[str, Any]
    ) -> list[codepipeline.StageProps]:
        """Train (run the workflow with ``data`` and wait for it), then Report (publish its result)."""
        train = actions.StepFunctionInvokeAction(
            action_name="Train",
            state_machine=state_machine,
            state_machine_input=actions.StateMachineInput.literal(data),
            execution_name_prefix="pipeline",
            variables_namespace="Train",
        )
        self.report_function = self._report_function(state_machine)
        report = actions.LambdaInvokeAction(
            action_name="Report",
            lambda_=self.report_function,
            user_parameters={"executionArn": "#{Train.ExecutionArn}"},
            variables_namespace="Report",
        )
        return [
            codepipeline.StageProps(stage_name="Train", actions=[train]),
            codepipeline.StageProps(stage_name="Report", actions=[report]),
        ]

    def _source_actions(
        self, data_bucket: s3.IBucket, source_key: str, repository: PipelineRepository | None
    ) -> list[codepipeline.IAction]:
        """The data object (started by the EventBridge rule, not by polling) and the optional repository."""
        sources: list[codepipeline.IAction] = [
            actions.S3SourceAction(
                action_name="Data",
                bucket=data_bucket,
                bucket_key=source_key,
                output=codepipeline.Artifact("Data"),
                trigger=actions.S3Trigger.NONE,  # started by the EventBridge rule below
                variables_namespace="Source",
            )
        ]
        if repository is not None:
            sources.append(
                actions.CodeStarConnectionsSourceAction(
                    action_name="Repository",
                    connection_arn=repository.connection_arn,
                    owner=repository.owner,
                    repo=repository.repo,
                    branch=repository.branch,
                    output=codepipeline.Artifact("Repository"),
                    role=self.repository_role,
                )
            )
        return sources

    def _repository_role(self, connection_arn: str) -> iam.Role:
        """The repository source action's role. The action grants ``codestar-connections:UseConnection``; a
        connection created under the ``codeconnections`` prefix is authorized only by
        ``codeconnections:UseConnection`` (the action's prefix must match the ARN's), so that is granted too."""
        role = iam.Role(
            self,
            "RepositorySourceRole",
            assumed_by=iam.AccountPrincipal(Stack.of(self).account),
            description="Retraining pipeline: reads the spec repository through its CodeConnections connection",
        )
        if Token.is_unresolved(connection_arn) or ":codeconnections:" in connection_arn:
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["codeconnections:UseConnection"], resources=[connection_arn])
            )
        return role

    def _report_function(self, state_machine: sfn.IStateMachine) -> lambda_.Function:
        code = runtime_asset(["pipeline_report", "retry"])
        function = lambda_.Function(
            self,
            "ReportFunction",
            description="Publishes the fine-tuning workflow's result to CodePipeline",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=runtime_handler("pipeline_report.handler"),
            code=lambda_.Code.from_asset(str(code)),
            timeout=Duration.seconds(30),
            memory_size=256,
            log_group=logs.LogGroup(self, "ReportLogs", retention=logs.RetentionDays.ONE_MONTH),
        )
        # CodePipeline invokes the function asynchronously: an event it cannot answer is kept, not dropped
        self.report_dead_letter_queue = dead_letter_queue(self, "ReportDeadLetters")
        function.configure_async_invoke(
            retry_attempts=2, on_failure=destinations.SqsDestination(self.report_dead_letter_queue)
        )
        executions = execution_arn(state_machine.state_machine_arn, "*")
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[executions])
        )
        acknowledge_wildcard_resources(
            function,
            [executions],
            "Executions of this project's workflow; their names are chosen at run time.",
        )
        acknowledge(
            function,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]": "The AWS managed basic execution policy only allows writing "
                "the function's own CloudWatch logs.",
                "AwsSolutions-IAM5[Resource::*]": "codepipeline:PutJobSuccessResult/PutJobFailureResult have no "
                "resource-level permissions.",
            },
        )
        return function

    def _acknowledge(
        self, artifact_bucket: s3.IBucket, data_bucket: s3.IBucket, state_machine: sfn.IStateMachine
    ) -> None:
        # CodePipeline's action roles: its own, and the repository source action's (created here)
        roles = [self.pipeline, *([self.repository_role] if self.repository_role else [])]
        for scope in roles:
            acknowledge_wildcard_resources(
                scope,
                [artifact_bucket.arn_for_objects("*"), data_bucket.arn_for_objects("*")],
                "CodePipeline reads and writes its artifacts and reads source object versions; keys are per run.",
            )
        acknowledge_wildcard_resources(
            self.pipeline,
            [
                execution_arn(state_machine.state_machine_arn, "pipeline*"),
                f"{self.report_function.function_arn}:*",
            ],
            "The Train action describes the executions it starts (named pipeline-<id>); the Report action "
            "invokes its function's versions.",
        )
        for scope in roles:
            acknowledge(scope, CDK_S3_GRANTS)
        acknowledge(
            self.pipeline,
            {
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": "The approval action publishes to the "
                "project's encrypted notification topic.",
                "AwsSolutions-IAM5[Resource::*]": "CodePipeline's Lambda action lists functions "
                "(lambda:ListFunctions has no resource-level permissions).",
            },
        )
