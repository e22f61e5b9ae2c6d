"""The evaluation phase of a running workflow execution, for ``cdk-finetune status``.

After the training job completed, the workflow's evaluation step (``runtime/evaluation_step.py``) starts and
polls the package's evaluation jobs; every ``start``/``poll`` answer is its *state* (job names, what each
evaluates, statuses as of the last poll). :func:`latest_state` reads the newest state from the execution
history (newest events first, stopping at the ``Evaluate`` state's entry), checked with the runtime's own
``load_state``; :func:`show` refreshes each running job with ``DescribeTrainingJob`` and prints the table.
`GetExecutionHistory <https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html>`_
"""

from __future__ import annotations

import json
from typing import Any

from ..runtime import errors, evaluation_step
from . import _aws, _term

STARTING = "the evaluation step is starting (preflight of the evaluations); no evaluation job yet"


def _state_in(raw: Any) -> dict[str, Any] | None:
    """The evaluation state in an event's ``output`` (a Lambda answer, or a state document holding it)."""
    try:
        document = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    for candidate in (document, document.get("evaluation")):
        try:
            return evaluation_step.load_state(candidate)
        except errors.PreflightError:
            continue
    return None


def latest_state(stepfunctions: Any, arn: str) -> tuple[bool, dict[str, Any] | None]:
    """``(evaluating, state)``: whether the ``Evaluate`` state was entered, and its newest state if any."""
    paginator = stepfunctions.get_paginator("get_execution_history")
    pages = paginator.paginate(executionArn=arn, includeExecutionData=True, reverseOrder=True)
    for page in pages:
        for event in page["events"]:
            details = event.get("taskSucceededEventDetails") or event.get("stateExitedEventDetails") or {}
            state = _state_in(details.get("output"))
            if state is not None:
                return True, state
            entered = event.get("stateEnteredEventDetails") or {}
            if (
                event.get("type") == "ParallelStateEntered"
                and entered.get("name") == evaluation_step.EVALUATE_STATE
            ):
                return True, None
    return False, None


def _status(args: Any, job: dict[str, Any]) -> str:
    """A job's status: live (``DescribeTrainingJob``) while it runs, else as the step recorded it (a
    ``Pending`` job waits for the job before it, e.g. the judge's metrics job for its inference job)."""
    if job["status"] != evaluation_step.RUNNING:
        return job["status"]
    try:
        answer = _aws.client(args, "sagemaker").describe_training_job(TrainingJobName=job["name"])
    except _aws.ClientError as exc:
        if _aws.is_not_found(exc):  # just created: not visible yet
            return job["status"]
        raise
    return str(answer.get("TrainingJobStatus") or job["status"])


def show(args: Any, stepfunctions: Any, arn: str, shown: str) -> str:
    """Print the evaluation phase when it changed since ``shown``; return what is shown now."""
    evaluating, state = latest_state(stepfunctions, arn)
    if not evaluating:
        return shown
    if state is None:
        text = _term.field("Evaluation", STARTING, 12)
    else:
        rows = [[_status(args, job), job["name"]] for job in state["jobs"]]  # a name holds what it evaluates
        head = _term.field("Evaluation", f"{len(rows)} job(s) of {state['modelPackageArn']}", 12)
        text = head + "\n" + _term.table(["Status", "Job"], rows, "  ")
    if text != shown:
        print(text)
    return text
