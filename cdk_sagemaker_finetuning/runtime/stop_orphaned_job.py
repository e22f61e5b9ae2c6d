"""Stop the training job of a Step Functions execution that was aborted, timed out or failed (boto3 only).

Triggered by an EventBridge rule on "Step Functions Execution Status Change" (``ABORTED``, ``TIMED_OUT``,
``FAILED``) for the workflows of one stack, whose target sends ``{"detail": <event detail>, "workflows":
[[stateMachineArn, jobNamePrefix], ...]}``; a workflow with an evaluation step adds its evaluation job name
suffixes, ``[stateMachineArn, jobNamePrefix, [suffix, ...]]``. The job name is derived from the execution name
exactly as the preflight does (``request.job_name`` with the prefix of the execution's state machine), and the
evaluation jobs' names as the evaluation step derives them (``evaluation_request.job_names``: package and base
model), so no lookup is needed. A missing or already finished job is not an error. Returns
``{"trainingJobName", "action", "status"}``, plus ``"evaluationJobs": [{"trainingJobName", "action", "status"}]``
for a workflow with evaluations.

Throttled or transient SageMaker errors are retried with bounded backoff (``retry.py``); any other failure,
or the last retry's, is raised, so Lambda's asynchronous retries and then its on-failure destination (the
workflow's dead-letter queue) take over: a job is never silently left running.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from . import aws_clients, errors, evaluation_request, request, retry

RUNNING = ("InProgress",)


def _missing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    return (
        error.get("Code") in ("ResourceNotFound", "ValidationException")
        and "not found" in str(error.get("Message", "")).lower()
    )


def _workflow(event: Any) -> tuple[str, list[str]]:
    """``(job name prefix, evaluation job name suffixes)`` of the execution's state machine (``workflows``)."""
    detail = event.get("detail") if isinstance(event, Mapping) else None
    if not isinstance(detail, Mapping) or not isinstance(detail.get("name"), str):
        raise errors.InvalidInput(
            "expected a 'Step Functions Execution Status Change' event with detail.name"
        )
    workflows = event.get("workflows")
    entries = workflows if isinstance(workflows, list) else []
    known = {
        p[0]: (p[1], list(p[2]) if len(p) == 3 else [])
        for p in entries
        if isinstance(p, list) and len(p) in (2, 3) and (len(p) == 2 or isinstance(p[2], list))
    }
    machine = detail.get("stateMachineArn")
    if machine not in known:
        raise errors.InvalidInput(
            f"state machine {machine!r} is not one of the workflows this stopper serves (event.workflows)"
        )
    return known[machine]


def stop_job(sagemaker: Any, name: str) -> dict[str, Any]:
    """Stop the job ``name`` if it runs; a missing or finished job is left alone."""
    try:
        status = retry.call(sagemaker.describe_training_job, TrainingJobName=name)["TrainingJobStatus"]
    except ClientError as exc:
        if _missing(exc):
            return {"trainingJobName": name, "action": "none", "status": "NotFound"}
        raise
    if status not in RUNNING:
        return {"trainingJobName": name, "action": "none", "status": status}
    try:
        retry.call(sagemaker.stop_training_job, TrainingJobName=name)
    except ClientError as exc:
        if _missing(exc) or exc.response.get("Error", {}).get("Code") == "ValidationException":
            return {"trainingJobName": name, "action": "none", "status": "NotStoppable"}
        raise
    return {"trainingJobName": name, "action": "stopped", "status": status}


def stop_job_for_execution(sagemaker: Any, event: Any) -> dict[str, Any]:
    """Stop the execution's training job and, for a workflow with evaluations, its evaluation jobs."""
    prefix, suffixes = _workflow(event)
    execution = event["detail"]["name"]
    result = stop_job(sagemaker, request.job_name(prefix, execution))
    if suffixes:
        names = evaluation_request.job_names(prefix, execution, suffixes)
        result["evaluationJobs"] = [stop_job(sagemaker, name) for name in names]
    return result


def handler(event: Any, context: Any = None, sagemaker: Any = None) -> dict[str, Any]:
    """Lambda entry point; logs one JSON line per event."""
    result = stop_job_for_execution(
        sagemaker or aws_clients.client("sagemaker", config=retry.CLIENT_CONFIG), event
    )
    detail = event.get("detail", {}) if isinstance(event, Mapping) else {}
    print(
        json.dumps(
            {"executionArn": detail.get("executionArn"), "executionStatus": detail.get("status"), **result}
        )
    )
    return result
