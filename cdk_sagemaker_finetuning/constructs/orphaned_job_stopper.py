"""The orphaned-job stopper's delivery: an EventBridge rule whose events are never dropped.

An execution that is aborted, times out or fails emits a "Step Functions Execution Status Change" event; the
rule hands it to the stopper Lambda (``runtime/stop_orphaned_job.py``). Every way the event can be lost ends in
one encrypted SQS dead-letter queue instead, watched by an alarm:

* EventBridge cannot invoke the function (throttled, unavailable): retried for up to ``MAX_EVENT_AGE`` with
  ``TARGET_RETRY_ATTEMPTS`` attempts, then sent to the queue (EventBridge target dead-letter queue);
* the function fails (after its own bounded retries of throttled SageMaker calls): Lambda retries the
  asynchronous invocation ``ASYNC_RETRY_ATTEMPTS`` times, then its on-failure destination sends the event and
  the error to the queue.

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html,
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .runtime_function import dead_letter_queue

TARGET_RETRY_ATTEMPTS = 8
MAX_EVENT_AGE = Duration.hours(24)
ASYNC_RETRY_ATTEMPTS = 2
ASYNC_MAX_EVENT_AGE = Duration.hours(6)
STATUSES = ("ABORTED", "TIMED_OUT", "FAILED")


def stop_orphaned_jobs(
    scope: Construct, *, function: lambda_.Function, state_machine_arn: str
) -> tuple[events.Rule, sqs.Queue, cloudwatch.Alarm]:
    """The rule, its dead-letter queue and the queue's alarm (in ``scope``); returns all three."""
    queue = dead_letter_queue(scope, "StopOrphanedJobDeadLetters")
    function.configure_async_invoke(
        retry_attempts=ASYNC_RETRY_ATTEMPTS,
        max_event_age=ASYNC_MAX_EVENT_AGE,
        on_failure=destinations.SqsDestination(queue),
    )
    rule = events.Rule(
        scope,
        "StopOrphanedJobRule",
        description="Stop the training job when its workflow execution is aborted, times out or fails",
        event_pattern=events.EventPattern(
            source=["aws.states"],
            detail_type=["Step Functions Execution Status Change"],
            detail={"status": list(STATUSES), "stateMachineArn": [state_machine_arn]},
        ),
        targets=[
            targets.LambdaFunction(
                function,
                retry_attempts=TARGET_RETRY_ATTEMPTS,
                max_event_age=MAX_EVENT_AGE,
                dead_letter_queue=queue,
            )
        ],
    )
    alarm = cloudwatch.Alarm(
        scope,
        "StopOrphanedJobDeadLettersAlarm",
        alarm_description="A training job of an aborted, timed-out or failed workflow execution could not be "
        "stopped: its event is in the dead-letter queue (stop the job by hand, then purge the message)",
        metric=queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(5), statistic="Maximum"
        ),
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    return rule, queue, alarm
