"""CodePipeline "Report" action: publish the training workflow's result as pipeline output variables.

Invoked by a CodePipeline Lambda action whose user parameters are ``{"executionArn": "#{Train.ExecutionArn}"}``.
It reads the finished execution's output and ends the action with the variables ``status``,
``modelPackageArn``, ``trainingJobName`` and ``billableTokenCount`` (shown in the console and usable by later
stages), or fails the action with the execution's error. It never raises: a malformed event is answered
with a structured error.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
MAX_VARIABLE = 1000  # CodePipeline output variable values are limited in size


def handler(event: Any, context: Any = None, *, clients: dict[str, Any] | None = None) -> dict[str, Any]:
    clients = clients or {}
    try:
        job = event["CodePipeline.job"]
        job_id = job["id"]
    except (KeyError, TypeError):
        LOG.error("not a CodePipeline job event: %r", event)
        return {
            "error": "InvalidEvent",
            "message": "expected a CodePipeline job event with CodePipeline.job.id",
        }
    pipeline = clients.get("codepipeline") or boto3.client("codepipeline")
    try:
        variables = report(job, clients.get("stepfunctions") or boto3.client("stepfunctions"))
    except ReportError as exc:
        pipeline.put_job_failure_result(
            jobId=job_id, failureDetails={"type": "JobFailed", "message": str(exc)}
        )
        return {"jobId": job_id, "error": "ReportFailed", "message": str(exc)}
    pipeline.put_job_success_result(jobId=job_id, outputVariables=variables)
    return {"jobId": job_id, "outputVariables": variables}


class ReportError(Exception):
    """The pipeline action fails with this message."""


def report(job: dict[str, Any], stepfunctions: Any) -> dict[str, str]:
    """Output variables for the finished execution named in the job's user parameters."""
    try:
        raw = job["data"]["actionConfiguration"]["configuration"]["UserParameters"]
        execution_arn = json.loads(raw)["executionArn"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"user parameters must be JSON with executionArn: {exc}") from None
    try:
        execution = stepfunctions.describe_execution(executionArn=execution_arn)
    except Exception as exc:  # botocore ClientError and friends: fail the action, do not crash
        raise ReportError(f"cannot describe execution {execution_arn}: {exc}") from None
    if execution["status"] != "SUCCEEDED":
        cause = execution.get("cause") or execution.get("error") or "no cause given"
        raise ReportError(f"training workflow {execution['status']}: {cause}"[:MAX_VARIABLE])
    try:
        output = json.loads(execution.get("output") or "{}")
    except ValueError:
        output = {}
    output = output if isinstance(output, dict) else {}
    status = "Skipped" if output.get("skipped") else str(output.get("status", "Completed"))
    values = {
        "status": status,
        "modelPackageArn": output.get("outputModelPackageArn") or "",
        "trainingJobName": output.get("trainingJobName") or "",
        "billableTokenCount": output.get("billableTokenCount") or "",
    }
    LOG.info("execution %s: %s", execution_arn, values)
    return {key: str(value)[:MAX_VARIABLE] for key, value in values.items()}
