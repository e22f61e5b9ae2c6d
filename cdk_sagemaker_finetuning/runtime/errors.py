"""Named preflight errors (standard library only).

Each subclass's ``__name__`` is ``PreflightError.<Kind>``. The Lambda runtime reports a raised exception's
class name as ``errorType``, so a Step Functions ``Catch`` can match e.g. ``"PreflightError.EulaNotAccepted"``
and the failed execution shows that name. ``error_name`` is the same string for callers outside Lambda.
"""

from __future__ import annotations


class PreflightError(Exception):
    """A request that would fail (or waste money) if submitted. ``field`` names the input at fault, if any."""

    error_name = "PreflightError"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str]:
        """The structured form used in Lambda answers and CLI output."""
        body = {"error": self.error_name, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class EvaluationError(PreflightError):
    """A failure of the evaluation step after its preflight (a failed job, a malformed state, the gate)."""

    error_name = "EvaluationError"


def _kind(name: str, doc: str, base: type[PreflightError] = PreflightError) -> type[PreflightError]:
    full = f"{base.error_name}.{name}"
    cls = type(full, (base,), {"__doc__": doc, "error_name": full, "__module__": __name__})
    cls.__qualname__ = full
    return cls


InvalidInput = _kind("InvalidInput", "The event, execution input or baked configuration is malformed.")
UnsupportedTechnique = _kind(
    "UnsupportedTechnique", "The model has no serverless recipe for the technique/type."
)
UnknownHyperparameter = _kind("UnknownHyperparameter", "A hyperparameter is not in the recipe's spec.")
HyperparameterOutOfRange = _kind("HyperparameterOutOfRange", "A value is outside the recipe's min/max.")
InvalidHyperparameter = _kind(
    "InvalidHyperparameter", "A value has the wrong type, enum value or characters."
)
DatasetNotFound = _kind("DatasetNotFound", "Training or validation data does not exist.")
DatasetAccessDenied = _kind(
    "DatasetAccessDenied",
    "The role running the data check may not read the data (the message names the grant).",
)
DatasetFormat = _kind("DatasetFormat", "The data's first records do not match the technique's format.")
DatasetImportFailed = _kind(
    "DatasetImportFailed", "Registering the training data as an AI Registry dataset failed (lineage)."
)
DatasetImporting = _kind(
    "DatasetImporting", "The training data's dataset version is still importing; the workflow retries."
)
EulaNotAccepted = _kind("EulaNotAccepted", "The base model is gated and accept_eula is false.")
ModelNotFound = _kind(
    "ModelNotFound", "The base model or source model package does not exist or is unusable."
)
ModelPackageGroupNotFound = _kind("ModelPackageGroupNotFound", "The model package group does not exist.")
ModelPackageNotFound = _kind("ModelPackageNotFound", "No (approved) model package to continue from.")
EvaluatorNotAvailable = _kind(
    "EvaluatorNotAvailable", "The reward/prompt evaluator is missing or not Available."
)
EvaluatorNotFound = _kind("EvaluatorNotFound", "The evaluator ARN names no hub content.")
EvaluatorWrongType = _kind(
    "EvaluatorWrongType", "The evaluator is not of the technique's type (RewardFunction, RewardPrompt)."
)
EvaluatorWrongRegion = _kind(
    "EvaluatorWrongRegion", "The evaluator (or its Lambda) is in another region than the job."
)
EvaluatorLambdaNotFound = _kind("EvaluatorLambdaNotFound", "The reward evaluator's Lambda does not exist.")
EvaluatorLambdaNotGranted = _kind(
    "EvaluatorLambdaNotGranted", "The evaluator calls a Lambda the training role may not invoke."
)
RewardMissing = _kind("RewardMissing", "RLVR without an evaluator ARN or a preset reward function.")
InvalidJudgeModel = _kind("InvalidJudgeModel", "The RLAIF judge model or prompt is not allowed.")
RecipeSpecUnavailable = _kind("RecipeSpecUnavailable", "The recipe's hyperparameter spec cannot be read.")
JobAlreadyRunning = _kind("JobAlreadyRunning", "Another training job of this project is still running.")
EvaluationResultsUnreadable = _kind(
    "EvaluationResultsUnreadable",
    "An evaluation job's results file is missing or not in the expected layout.",
)
AwsError = _kind("AwsError", "An AWS call failed for another reason (access denied, throttling, ...).")
EvaluationJobFailed = _kind(
    "EvaluationJobFailed", "An evaluation job failed or was stopped (its FailureReason).", EvaluationError
)
InvalidState = _kind(
    "InvalidState", "The evaluation step's state (from the workflow) is malformed.", EvaluationError
)
GateMetricMissing = _kind(
    "GateMetricMissing", "The candidate's or reference's results lack the gate's metric.", EvaluationError
)
EvaluationAwsError = _kind("AwsError", "An AWS call of the evaluation step failed.", EvaluationError)


def from_aws(exc: Exception, doing: str, kind: type[PreflightError] = AwsError) -> PreflightError:
    """``AwsError`` for a failed AWS call (botocore ``ClientError`` or ``BotoCoreError``), naming the call."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return kind(f"{doing} failed: {error.get('Code', '')}: {error.get('Message', '')}")
    return kind(f"{doing} failed: {exc}")


ALL_ERRORS: tuple[type[PreflightError], ...] = tuple(
    cls for cls in list(globals().values()) if isinstance(cls, type) and issubclass(cls, PreflightError)
)
