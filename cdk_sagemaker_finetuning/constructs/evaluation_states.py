"""The evaluation step's states as Amazon States Language data (hooked in by ``workflow_definition.py``).

After a completed training job registered a model package (held at ``PendingManualApproval``), the evaluation
Lambda (``runtime/evaluation_step.py``) starts the serverless evaluation jobs of the package, the state machine
polls them, and the gate (``runtime/evaluation_gate.py``) records the scores and sets the approval status::

    Evaluate [Parallel:
        StartEvaluation (start) -> EvaluationDone? -no-> WaitForEvaluation -> PollEvaluation (poll) -> EvaluationDone?
                                                 -yes-> Gate (gate) -> NeedsReference? -no-> Gated
                                                                                       -yes-> EvaluateReference
                                                                                              (start, model: base)
                                                                                              -> EvaluationDone?]
      Catch States.ALL -> StopEvaluation (stop) -> EvaluationFailed (the original error and cause)
    -> Evaluated (the workflow output plus the gate's answer under "evaluation")

``NeedsReference``: no reference scores exist yet (first round, or ``compare_to: base`` with none recorded),
so the base model is evaluated once in the same execution and the gate runs again. Each poll writes 9 history
events, like the training job's watch loop (the poll interval is the workflow's). The Lambda tasks carry
Lambda's service-error retry and the transient SageMaker retry (``CreateTrainingJob``'s error names).
ASL reference: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..runtime.evaluation_gate import NEEDS_REFERENCE
from ..runtime.evaluation_step import EVALUATE_STATE
from .asl import lambda_task

EVALUATE = EVALUATE_STATE
STATE = "$.evaluation"


def evaluation_states(
    *,
    partition: str,
    function_arn: str,
    poll_seconds: int | float,
    retry: dict[str, Any],
    package_path: str,
    output: Mapping[str, str],
    end: Mapping[str, Any],
) -> dict[str, Any]:
    """The states from ``Evaluate`` (the entry) to ``Evaluated`` (``output`` plus ``evaluation``, then ``end``).

    ``package_path`` is the JSONPath of the new model package ARN; ``retry`` the transient SageMaker retry.
    """

    def task(payload: dict[str, Any], comment: str, **fields: Any) -> dict[str, Any]:
        state = lambda_task(partition, function_arn, payload, response_only=True, Comment=comment, **fields)
        state["Retry"].append(retry)
        return state

    start = {"action": "start", "executionName.$": "$$.Execution.Name", "modelPackageArn.$": package_path}
    return {
        EVALUATE: {
            "Type": "Parallel",
            "Comment": "Evaluate the new package; any error in here stops its evaluation jobs before failing",
            "Branches": [_branch(task, start, poll_seconds)],
            "ResultSelector": {"result.$": "$[0]"},
            "ResultPath": STATE,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "StopEvaluation"}],
            "Next": "Evaluated",
        },
        "StopEvaluation": task(
            {"action": "stop", "executionName.$": "$$.Execution.Name"},
            "Stop every still-running evaluation job of this execution",
            ResultPath=None,
            Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "EvaluationFailed"}],
            Next="EvaluationFailed",
        ),
        "EvaluationFailed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
        "Evaluated": {
            "Type": "Pass",
            "Comment": "The workflow output with the scores side by side and the gate's decision",
            "Parameters": {**output, "evaluation.$": f"{STATE}.result"},
            **end,
        },
    }


def _branch(
    task: Callable[..., dict[str, Any]], start: dict[str, Any], poll_seconds: int | float
) -> dict[str, Any]:
    """The ``Evaluate`` branch: start, poll until done, gate (and once more after evaluating the base model)."""
    return {
        "StartAt": "StartEvaluation",
        "States": {
            "StartEvaluation": task(
                start,
                "Preflight the evaluations of the new package and start its evaluation jobs",
                ResultPath=STATE,
                Next="EvaluationDone?",
            ),
            "EvaluationDone?": {
                "Type": "Choice",
                "Choices": [{"Variable": f"{STATE}.done", "BooleanEquals": True, "Next": "Gate"}],
                "Default": "WaitForEvaluation",
            },
            "WaitForEvaluation": {"Type": "Wait", "Seconds": poll_seconds, "Next": "PollEvaluation"},
            "PollEvaluation": task(
                {"action": "poll", "state.$": STATE},
                "Refresh the evaluation jobs; start the ones now ready; a failed job is an error",
                ResultPath=STATE,
                Next="EvaluationDone?",
            ),
            "Gate": task(
                {"action": "gate", "state.$": STATE},
                "Record the scores on the package, compare with the reference, set the approval status",
                ResultPath="$.gate",
                Next="NeedsReference?",
            ),
            "NeedsReference?": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": "$.gate.decision",
                        "StringEquals": NEEDS_REFERENCE,
                        "Next": "EvaluateReference",
                    }
                ],
                "Default": "Gated",
            },
            "EvaluateReference": task(
                {**start, "model": "base", "state.$": STATE},
                "No reference scores yet: evaluate the base model once, then gate again",
                ResultPath=STATE,
                Next="EvaluationDone?",
            ),
            "Gated": {
                "Type": "Pass",
                "Comment": "The branch's output: the gate's answer",
                "OutputPath": "$.gate",
                "End": True,
            },
        },
    }
