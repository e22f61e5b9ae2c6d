"""``TrainingNotifications``: training job and model package events, and failed runs, to an SNS topic."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

TERMINAL_JOB_STATUSES = ("Completed", "Failed", "Stopped")


def encrypted_topic(scope: Construct, id: str) -> sns.Topic:
    """An SNS topic (TLS only) encrypted with a new rotating KMS key that EventBridge and CloudWatch may use."""
    key = kms.Key(scope, f"{id}Key", enable_key_rotation=True, description="Encrypts training notifications")
    for service in ("events.amazonaws.com", "cloudwatch.amazonaws.com"):
        key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[iam.ServicePrincipal(service)],
                resources=["*"],  # in a key policy "*" means this key
            )
        )
    return sns.Topic(scope, id, master_key=key, enforce_ssl=True)


class TrainingNotifications(Construct):
    """Publishes a project's training and approval events to one encrypted SNS topic.

    Rules: "SageMaker Training Job State Change" for this project's jobs (name prefix) reaching a terminal
    status, and "SageMaker Model Package State Change" for its model package group (registration and
    approval changes). Optionally a CloudWatch alarm on failed, timed-out or aborted workflow executions, and the
    outcome of every run with an evaluation step: the gate's decision and the scores, candidate vs reference.

    :param job_name_prefix: training job name prefix of the project.
    :param model_package_group_name: the project's model package group.
    :param state_machine: the training workflow, for the failure alarm. Default: no alarm.
    :param alarms: further alarms whose state changes to ALARM are published, e.g. the workflow's
        ``dead_letter_alarm`` (a job that could not be stopped). Default: none.
    :param evaluated_runs: a training workflow with an evaluation step: each succeeded execution is published
        with its output (``evaluation``: decision, approval status, reference and the scores side by side).
        Default: none.
    :param emails: e-mail addresses to subscribe (each must confirm). Default: none.
    :param topic: an existing topic to publish to (its key policy must allow EventBridge and CloudWatch).
        Default: a new topic encrypted with a new rotating KMS key.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        job_name_prefix: str,
        model_package_group_name: str,
        state_machine: sfn.IStateMachine | None = None,
        emails: Sequence[str] = (),
        topic: sns.ITopic | None = None,
        alarms: Sequence[cloudwatch.Alarm] = (),
        evaluated_runs: sfn.IStateMachine | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.topic = topic or encrypted_topic(self, "Topic")
        self.topic_arn = self.topic.topic_arn
        for email in emails:
            if self.topic.node.try_find_child(email) is None:  # a shared topic may have it already
                self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.training_job_rule = events.Rule(
            self,
            "TrainingJobStateChange",
            description=f"Training jobs {job_name_prefix}-* reached a terminal status",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Training Job State Change"],
                detail={
                    "TrainingJobName": events.Match.prefix(f"{job_name_prefix}-"),
                    "TrainingJobStatus": list(TERMINAL_JOB_STATUSES),
                },
            ),
            targets=[targets.SnsTopic(self.topic)],
        )
        self.model_package_rule = events.Rule(
            self,
            "ModelPackageStateChange",
            description=f"Model packages of {model_package_group_name} registered or approved",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Package State Change"],
                detail={"ModelPackageGroupName": [model_package_group_name]},
            ),
            targets=[targets.SnsTopic(self.topic)],
        )
        self.failure_alarm = self._failure_alarm(state_machine) if state_machine is not None else None
        self.evaluation_rule = self._evaluation_rule(evaluated_runs) if evaluated_runs is not None else None
        for alarm in alarms:
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))

    def _evaluation_rule(self, state_machine: sfn.IStateMachine) -> events.Rule:
        """Succeeded runs, published with their output: the evaluation's scores side by side and the gate's
        decision (the "Step Functions Execution Status Change" event carries the output, up to 248 KB:
        https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html)."""
        detail = events.EventField.from_path
        message = {
            "message": "A training run succeeded; its output holds the evaluation of the new model package "
            "(decision, approvalStatus, reference, and scores as candidate / reference / delta), or skipped: "
            "true when another run was in progress.",
            "execution": detail("$.detail.name"),
            "output": detail("$.detail.output"),
        }
        return events.Rule(
            self,
            "EvaluatedRun",
            description="Training runs whose model package was evaluated: decision and scores",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"status": ["SUCCEEDED"], "stateMachineArn": [state_machine.state_machine_arn]},
            ),
            targets=[targets.SnsTopic(self.topic, message=events.RuleTargetInput.from_object(message))],
        )

    def _failure_alarm(self, state_machine: sfn.IStateMachine) -> cloudwatch.Alarm:
        failed = cloudwatch.MathExpression(
            # sparse metrics: a period without one of them would otherwise make the sum missing
            expression="FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)",
            using_metrics={
                "failed": state_machine.metric_failed(statistic="Sum"),
                "timedOut": state_machine.metric_timed_out(statistic="Sum"),
                "aborted": state_machine.metric_aborted(statistic="Sum"),
            },
            period=Duration.minutes(5),
        )
        alarm = cloudwatch.Alarm(
            self,
            "FailedExecutions",
            alarm_description="A fine-tuning workflow execution failed, timed out or was aborted",
            metric=failed,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
        return alarm
