"""The training workflow's states as Amazon States Language data (flow: ``training_workflow.py``'s docstring).

Built as plain Python data and rendered as one JSON document (``sfn.DefinitionBody.from_string``) instead of
two dozen jsii state objects: a project's synth is dominated by jsii round trips, and a state machine
definition is data. The states are exactly what the CDK task constructs rendered (``LambdaInvoke`` with its
service-exception retry, ``CallAwsService``'s ``arn:<partition>:states:::aws-sdk:sagemaker:<action>``).
ASL reference: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..runtime.workflow_contract import (
    JOB_RESULT,
    OUTPUT_FIELDS,
    PREFLIGHT,
    WATCH,
    PreflightResult,
    WorkflowConfig,
    fields,
    job_result_path,
    preflight_path,
)
from .asl import lambda_task, sdk_task, transient_retry
from .create_job import CreateJobWith, create_job_states
from .evaluation_states import EVALUATE, evaluation_states

__all__ = ["OUTPUT_FIELDS", "workflow_states"]

ALREADY_RUNNING = "PreflightError.JobAlreadyRunning"
#: Lineage (``registerDataset``): the preflight waits up to 15 s for its dataset version, then raises this;
#: a retry finds the same version and waits again (``runtime/dataset_registry.py``). About 12 minutes in all.
DATASET_IMPORTING_RETRY = {
    "ErrorEquals": ["PreflightError.DatasetImporting"],
    "IntervalSeconds": 15,
    "MaxAttempts": 8,
    "BackoffRate": 1.5,
}
JOB_NAME = preflight_path("trainingJobName")
#: What the state machine keeps of the preflight's answer (``workflow_contract.PreflightResult``).
KEPT_PREFLIGHT_FIELDS = fields(PreflightResult, "request", "trainingJobName", "hasHyperParameters")


def workflow_states(
    *,
    config: WorkflowConfig,
    partition: str,
    preflight_arn: str,
    poll_seconds: int | float,
    retry_seconds: int | float,
    create_job_with: CreateJobWith,
    create_arn: str | None,
    end: Mapping[str, Any],
    evaluation_arn: str | None = None,
) -> dict[str, Any]:
    """``{"StartAt", "States"}`` of the workflow; ``end`` (``{"End": True}`` or ``{"Next": ...}``) follows
    ``Done`` and ``Skipped``. With ``evaluation_arn`` (the config has an ``evaluation`` block) the new package is
    held at ``PendingManualApproval`` and evaluated before ``Evaluated`` (``evaluation_states.py``)."""
    retry = transient_retry(retry_seconds)
    output = {f"{k}.$": job_result_path(k) for k in OUTPUT_FIELDS}
    states = _preflight_states(config, partition, preflight_arn, end)
    creates = create_job_states(
        mode=create_job_with,
        config=config,
        partition=partition,
        function_arn=create_arn,
        retry=retry,
        then="Watch",
    )
    states["Preflight"]["Next"] = next(iter(creates))
    states.update(creates)
    states["Watch"] = _watch(partition, preflight_arn, poll_seconds, retry)
    states.update(_stop_states(partition, retry))
    states.update(_status_states())
    states.update(_registration_states(config, partition, retry, evaluation_arn, output, end))
    if evaluation_arn:
        states.update(
            evaluation_states(
                partition=partition,
                function_arn=evaluation_arn,
                poll_seconds=poll_seconds,
                retry=retry,
                package_path=job_result_path("outputModelPackageArn"),
                output=output,
                end=end,
            )
        )
    return {"StartAt": "Preflight", "States": states}


def _preflight_states(
    config: WorkflowConfig, partition: str, preflight_arn: str, end: Mapping[str, Any]
) -> dict[str, Any]:
    """``Preflight`` (its ``Next`` is set by the caller: the first create state) and ``Skipped``, where an
    execution ends when another job of the project runs."""
    states: dict[str, Any] = {
        "Preflight": lambda_task(
            partition,
            preflight_arn,
            {"executionName.$": "$$.Execution.Name", "input.$": "$"},
            response_only=False,
            Comment="Check everything that would make the job fail and build the CreateTrainingJob request",
            ResultSelector={f"{key}.$": f"$.Payload.{key}" for key in KEPT_PREFLIGHT_FIELDS},
            ResultPath=PREFLIGHT,
            Catch=[{"ErrorEquals": [ALREADY_RUNNING], "ResultPath": "$.error", "Next": "Skipped"}],
            Next=None,
        ),
        "Skipped": {
            "Type": "Pass",
            "Comment": "Another job of this project is running: start nothing",
            "Parameters": {"skipped": True, "reason.$": "$.error.Cause"},
            **end,
        },
    }
    if config.get("registerDataset"):
        states["Preflight"]["Retry"].append(DATASET_IMPORTING_RETRY)
    return states


def _stop_states(partition: str, retry: dict) -> dict[str, Any]:
    """Where a broken watch goes: stop the job, then fail with the error that broke it."""
    return {
        "StopTrainingJob": sdk_task(
            partition,
            "stopTrainingJob",
            {"TrainingJobName.$": JOB_NAME},
            retry,
            ResultPath=None,
            Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "WatchFailed"}],
            Next="WatchFailed",
        ),
        "WatchFailed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
    }


def _status_states() -> dict[str, Any]:
    """``Completed?`` on the finished job's status: on to its model package, or fail with its reason."""
    return {
        "Completed?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": job_result_path("status"), "StringEquals": status, "Next": then}
                for status, then in (
                    ("Completed", "HasModelPackage?"),
                    ("Failed", "TrainingJobFailed"),
                    ("Stopped", "TrainingJobStopped"),
                )
            ],
            "Default": "UnexpectedStatus",
        },
        **{
            name: {"Type": "Fail", "Error": error, "CausePath": job_result_path("failureReason")}
            for name, error in (
                ("TrainingJobFailed", "TrainingJobFailed"),
                ("TrainingJobStopped", "TrainingJobStopped"),
                ("UnexpectedStatus", "TrainingJobFailed"),
            )
        },
    }


def _registration_states(
    config: WorkflowConfig,
    partition: str,
    retry: dict,
    evaluation_arn: str | None,
    output: Mapping[str, Any],
    end: Mapping[str, Any],
) -> dict[str, Any]:
    """The new model package's approval status (held for the evaluation when there is one), then ``Done``."""
    return {
        "HasModelPackage?": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": job_result_path("outputModelPackageArn"),
                    "IsString": True,
                    "Next": "SetApprovalStatus",
                }
            ],
            "Default": "Done",
        },
        "SetApprovalStatus": sdk_task(
            partition,
            "updateModelPackage",
            {
                "ModelPackageArn.$": job_result_path("outputModelPackageArn"),
                "ModelApprovalStatus": "PendingManualApproval"
                if evaluation_arn
                else config["approvalStatus"] or "PendingManualApproval",
            },
            retry,
            Comment="Hold the new model package until the evaluation gate decides"
            if evaluation_arn
            else "Register the new model package with the project's approval status",
            ResultPath=None,
            Next=EVALUATE if evaluation_arn else "Done",
        ),
        "Done": {"Type": "Pass", "Comment": "The workflow output", "Parameters": output, **end},
    }


def _watch(partition: str, function_arn: str, poll_seconds: int | float, retry: dict) -> dict[str, Any]:
    """Poll the job in a Parallel whose catch stops the job before failing."""
    branch = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "Seconds": poll_seconds, "Next": "DescribeTrainingJob"},
            "DescribeTrainingJob": sdk_task(
                partition,
                "describeTrainingJob",
                {"TrainingJobName.$": JOB_NAME},
                retry,
                ResultSelector={"status.$": "$.TrainingJobStatus"},
                ResultPath="$.job",
                Next="Finished?",
            ),
            "Finished?": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Or": [
                            {"Variable": "$.job.status", "StringEquals": s}
                            for s in ("Completed", "Failed", "Stopped")
                        ],
                        "Next": "JobResult",
                    }
                ],
                "Default": "Wait",
            },
            "JobResult": lambda_task(
                partition,
                function_arn,
                {"action": "result", "trainingJobName.$": JOB_NAME},
                response_only=True,
                Comment="Read the finished job's outputs (absent fields become null)",
                End=True,
            ),
        },
    }
    return {
        "Type": "Parallel",
        "Comment": "Poll the job; any error in here stops the job before failing",
        "Branches": [branch],
        "ResultSelector": {f"{JOB_RESULT.removeprefix(WATCH + '.')}.$": "$[0]"},  # the JobResult
        "ResultPath": WATCH,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "StopTrainingJob"}],
        "Next": "Completed?",
    }
