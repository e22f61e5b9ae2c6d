"""CodePipeline "Report" action: publish the training workflow's result as pipeline output variables.

Invoked by a CodePipeline Lambda action whose user parameters are ``{"executionArn": "#{Train.ExecutionArn}"}``.
It reads the finished execution's output and ends the action with the variables ``status``,
``modelPackageArn``, ``trainingJobName`` and ``billableTokenCount`` (shown in the console and usable by later
stages), or fails the action with the execution's error.

Contract: every job event gets exactly one answer, ``PutJobSuccessResult`` or ``PutJobFailureResult``, so the
action never waits for its timeout. Throttled or transient AWS calls are retried with bounded backoff
(``retry.py``); user parameters and execution output are parsed with bounded size and nesting. Only when
CodePipeline itself cannot be answered after the retries does the handler raise (Lambda's asynchronous
retries then apply). A malformed event is answered with a structured error.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3

from . import retry

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
MAX_VARIABLE = 1000  # CodePipeline output variable values are limited in size
MAX_MESSAGE = 5000  # FailureDetails.message
MAX_USER_PARAMETERS = 1000  # ActionConfiguration UserParameters
MAX_OUTPUT = 256 * 1024  # Step Functions execution output
MAX_DEPTH = 20


def handler(event: Any, context: Any = None, *, clients: dict[str, Any] | None = None) -> dict[str, Any]:
    clients = clients or {}
    try:
        job = event["CodePipeline.job"]
        job_id = job["id"]
        if not isinstance(job_id, str):
            raise TypeError("job id is not a string")
    except (KeyError, TypeError):
        LOG.error("not a CodePipeline job event: %.1000r", event)
        return {
            "error": "InvalidEvent",
            "message": "expected a CodePipeline job event with CodePipeline.job.id",
        }
    pipeline = clients.get("codepipeline") or boto3.client("codepipeline", config=retry.CLIENT_CONFIG)
    try:
        stepfunctions = clients.get("stepfunctions") or boto3.client(
            "stepfunctions", config=retry.CLIENT_CONFIG
        )
        variables = report(job, stepfunctions)
    except Exception as exc:  # a ReportError, or a bug: the action still gets its failure result
        message = str(exc) if isinstance(exc, ReportError) else f"internal error: {type(exc).__name__}: {exc}"
        return _fail(pipeline, job_id, message)
    try:
        retry.call(pipeline.put_job_success_result, jobId=job_id, outputVariables=variables)
    except Exception as exc:  # e.g. rejected variables: fail the action rather than leave it waiting
        return _fail(pipeline, job_id, f"cannot publish the output variables: {exc}")
    return {"jobId": job_id, "outputVariables": variables}


def _fail(pipeline: Any, job_id: str, message: str) -> dict[str, Any]:
    """Fail the action; if even that call fails after retries, raise (Lambda's asynchronous retries apply)."""
    message = message[:MAX_MESSAGE] or "failed"
    LOG.error("job %s failed: %s", job_id, message)
    retry.call(
        pipeline.put_job_failure_result,
        jobId=job_id,
        failureDetails={"type": "JobFailed", "message": message},
    )
    return {"jobId": job_id, "error": "ReportFailed", "message": message}


class ReportError(Exception):
    """The pipeline action fails with this message."""


def nesting_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting of JSON ``text`` (brackets inside strings ignored), without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def bounded_json(text: Any, what: str, max_chars: int) -> Any:
    """``json.loads(text)`` for a string of at most ``max_chars`` nested at most ``MAX_DEPTH`` deep."""
    if not isinstance(text, str):
        raise ReportError(f"{what} must be a JSON string, got {type(text).__name__}")
    if len(text) > max_chars:
        raise ReportError(f"{what} is {len(text)} characters; at most {max_chars} are read")
    if nesting_depth(text) > MAX_DEPTH:
        raise ReportError(f"{what} nests deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ReportError(f"{what} is not JSON: {exc}") from None


def report(job: dict[str, Any], stepfunctions: Any) -> dict[str, str]:
    """Output variables for the finished execution named in the job's user parameters."""
    try:
        raw = job["data"]["actionConfiguration"]["configuration"]["UserParameters"]
    except (KeyError, TypeError):
        raise ReportError('the action has no user parameters; set {"executionArn": ...}') from None
    params = bounded_json(raw, "user parameters", MAX_USER_PARAMETERS)
    execution_arn = params.get("executionArn") if isinstance(params, dict) else None
    if not isinstance(execution_arn, str) or not execution_arn:
        raise ReportError("user parameters must be a JSON object with an executionArn string")
    try:
        execution = retry.call(stepfunctions.describe_execution, executionArn=execution_arn)
    except Exception as exc:  # botocore ClientError and friends: fail the action, do not crash
        raise ReportError(f"cannot describe execution {execution_arn}: {exc}") from None
    status = execution.get("status")
    if status != "SUCCEEDED":
        cause = execution.get("cause") or execution.get("error") or "no cause given"
        raise ReportError(f"training workflow {status}: {cause}")
    try:
        output = bounded_json(execution.get("output") or "{}", "execution output", MAX_OUTPUT)
    except ReportError:
        output = {}
    output = output if isinstance(output, dict) else {}
    values = {
        "status": "Skipped" if output.get("skipped") else str(output.get("status", "Completed")),
        "modelPackageArn": output.get("outputModelPackageArn") or "",
        "trainingJobName": output.get("trainingJobName") or "",
        "billableTokenCount": output.get("billableTokenCount") or "",
    }
    LOG.info("execution %s: %s", execution_arn, values)
    return {key: str(value)[:MAX_VARIABLE] for key, value in values.items()}
