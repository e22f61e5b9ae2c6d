"""``OrphanedJobStopper``: one stopper per stack (or platform) for every training workflow it holds.

An execution that is aborted, times out or fails emits a "Step Functions Execution Status Change" event; a rule
hands it to the stopper Lambda (``runtime/stop_orphaned_job.py``) together with the job name prefix of each
state machine the rule matches (and the name suffixes of its evaluation jobs, if it has an evaluation step), so
one function serves every workflow and stops the execution's training and evaluation jobs. Rules match their state machines by ARN
(``detail.stateMachineArn``), at most ``WORKFLOWS_PER_RULE`` each: EventBridge event patterns hold 2,048
characters by default (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html). The function's
role may describe and stop only the training jobs of the registered prefixes.

Every way an event can be lost ends in one encrypted SQS dead-letter queue instead, watched by an alarm:

* EventBridge cannot invoke the function (throttled, unavailable): retried for up to ``MAX_EVENT_AGE`` with
  ``TARGET_RETRY_ATTEMPTS`` attempts, then sent to the queue (EventBridge target dead-letter queue);
* the function fails (after its own bounded retries of throttled SageMaker calls): Lambda retries the
  asynchronous invocation ``ASYNC_RETRY_ATTEMPTS`` times, then its on-failure destination sends the event and
  the error to the queue.

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html,
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jsii
from aws_cdk import Annotations, Duration, IStableAnyProducer, Lazy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .arns import find_child
from .nag import acknowledge_wildcard_resources_at_synth
from .runtime_function import dead_letter_queue, runtime_function
from .shared import shared_stack

TARGET_RETRY_ATTEMPTS = 8
MAX_EVENT_AGE = Duration.hours(24)
ASYNC_RETRY_ATTEMPTS = 2
ASYNC_MAX_EVENT_AGE = Duration.hours(6)
STATUSES = ("ABORTED", "TIMED_OUT", "FAILED")
#: A state machine ARN is at most ~150 characters; 10 of them keep a pattern well under 2,048.
WORKFLOWS_PER_RULE = 10
STOPPER_ID = "FineTuningOrphanedJobStopper"
MAX_ALARM_ACTIONS = 5


@jsii.implements(IStableAnyProducer)
class _Workflows:
    """The ``[stateMachineArn, jobNamePrefix(, [evaluation job suffix, ...])]`` entries of one rule, rendered
    at synth time."""

    def __init__(self) -> None:
        self.pairs: list[list[Any]] = []

    def produce(self) -> Any:
        return self.pairs


class OrphanedJobStopper(Construct):
    """The stopper function, its dead-letter queue and alarm, and the rules of the workflows added to it.

    Use :meth:`of` to get the one of a stack (inside a ``FineTuningPlatform``: of the platform's stack).

    :param log_retention: retention of the function's log group (retained). Default: one year.

    Attributes: ``function``, ``dead_letter_queue``, ``alarm`` (the queue holds an undeliverable event),
    ``rules``.
    """

    def __init__(
        self, scope: Construct, id: str, *, log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR
    ) -> None:
        super().__init__(scope, id)
        self.function = runtime_function(
            self,
            "StopOrphanedJob",
            handler="stop_orphaned_job.handler",
            description="Stops the training job of an aborted, timed-out or failed training workflow execution",
            environment={},
            retention=log_retention,
        )
        self.dead_letter_queue = dead_letter_queue(self, "StopOrphanedJobDeadLetters")
        self.function.configure_async_invoke(
            retry_attempts=ASYNC_RETRY_ATTEMPTS,
            max_event_age=ASYNC_MAX_EVENT_AGE,
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
        )
        self.alarm = cloudwatch.Alarm(
            self,
            "StopOrphanedJobDeadLettersAlarm",
            alarm_description="A training job of an aborted, timed-out or failed workflow execution could not "
            "be stopped: its event is in the dead-letter queue (stop the job by hand, then purge the message)",
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.rules: list[events.Rule] = []
        self._workflows: list[_Workflows] = []
        self._topics: list[sns.ITopic] = []
        # One statement per rule keeps each small: CDK moves statements that overflow the role's inline policy
        # (10,240 characters) into managed policies of 6,144 characters each.
        self._jobs: list[iam.PolicyStatement] = []
        self._job_arns: list[str] = []  # acknowledged on the function's role at synth, in one call
        acknowledge_wildcard_resources_at_synth(
            self.function.role,
            self._job_arns,
            "Training jobs are named <project prefix>-<execution name> at run time; scoped to this prefix.",
        )

    @classmethod
    def of(cls, scope: Construct) -> OrphanedJobStopper:
        """The stopper shared by the workflows of ``scope``'s stack (or platform), created on first use."""
        stack = shared_stack(scope)
        existing = find_child(stack, STOPPER_ID)
        return existing if isinstance(existing, OrphanedJobStopper) else cls(stack, STOPPER_ID)

    def add(
        self,
        state_machine: sfn.IStateMachine,
        *,
        job_arn: str,
        job_name_prefix: str,
        evaluation_job_suffixes: Sequence[str] = (),
    ) -> events.Rule:
        """Stop the jobs (``job_arn``: the prefix's ARN pattern) of ``state_machine``'s failed executions.

        ``evaluation_job_suffixes`` (``evaluation_request.job_suffixes``): the workflow's evaluation jobs, named
        ``<prefix>-<execution>-eval-[base-]<suffix>`` and so inside ``job_arn``, are stopped too. Default: none.
        """
        if not self.rules or len(self._workflows[-1].pairs) >= WORKFLOWS_PER_RULE:
            self._new_rule()
        rule, workflows = self.rules[-1], self._workflows[-1]
        state_machine_arn = state_machine.state_machine_arn
        rule.add_event_pattern(detail={"stateMachineArn": [state_machine_arn]})
        entry: list[Any] = [state_machine_arn, job_name_prefix]
        if evaluation_job_suffixes:
            entry.append(list(evaluation_job_suffixes))
        workflows.pairs.append(entry)
        self._jobs[-1].add_resources(job_arn)
        self._job_arns.append(job_arn)
        return rule

    def notify(self, topic: sns.ITopic) -> None:
        """Publish the dead-letter alarm to ``topic`` (once per topic). CloudWatch takes 5 actions per alarm state
        (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html): further
        topics are left out with a synth warning (share one ``notification_topic`` to avoid it)."""
        if any(t is topic for t in self._topics):
            return
        self._topics.append(topic)
        if len(self._topics) > MAX_ALARM_ACTIONS:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-finetuning:stopper-alarm-actions",
                f"the orphaned-job alarm already notifies {MAX_ALARM_ACTIONS} topics (CloudWatch's limit); "
                f"{topic.node.path} is not notified: give the projects one shared notification_topic",
            )
            return
        self.alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))

    def _new_rule(self) -> None:
        workflows = _Workflows()
        rule = events.Rule(
            self,
            "StopOrphanedJobRule" + (str(len(self.rules) + 1) if self.rules else ""),
            description="Stop the training job when its workflow execution is aborted, times out or fails",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"status": list(STATUSES)},
            ),
            targets=[
                targets.LambdaFunction(
                    self.function,
                    event=events.RuleTargetInput.from_object(
                        {
                            "detail": events.EventField.from_path("$.detail"),
                            "workflows": Lazy.any(workflows),
                        }
                    ),
                    retry_attempts=TARGET_RETRY_ATTEMPTS,
                    max_event_age=MAX_EVENT_AGE,
                    dead_letter_queue=self.dead_letter_queue,
                )
            ],
        )
        self.rules.append(rule)
        self._workflows.append(workflows)
        self._jobs.append(
            iam.PolicyStatement(actions=["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"])
        )
        self.function.role.add_to_principal_policy(self._jobs[-1])
