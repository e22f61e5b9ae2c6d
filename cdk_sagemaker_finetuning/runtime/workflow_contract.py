"""The training workflow's typed contract (standard library only): its configuration and the data its states pass.

One definition shared by the Lambda code (``preflight.py``, ``request.py``), the CLI and the constructs:

* :class:`WorkflowConfig`: the configuration baked into the preflight Lambda (``WORKFLOW_CONFIG``), made by
  ``cdk_sagemaker_finetuning.workflow_config.runtime_config``. :func:`check_config` rejects an unknown or a
  missing key and a value of the wrong type; the constructs call it at synth, the Lambda when it starts.
* :class:`ExecutionInput`: the keys an execution's input may carry (all optional).
* :class:`PreflightResult` and :class:`JobResult`: what the preflight Lambda returns for its two actions;
  :func:`preflight_path` and :func:`job_result_path` are the only way the state machine names their fields, so
  a renamed field fails when the definition is built (and in ``tests/constructs/test_workflow_contract.py``).
* :class:`WorkflowOutput`: the execution's output (:data:`OUTPUT_FIELDS`).

Keys are camelCase because they are JSON read by Amazon States Language paths.
"""

import typing
from collections.abc import Callable, Mapping
from typing import Any, NotRequired, TypedDict

CONFIG_VERSION = 1


class MlflowSettings(TypedDict):
    """``mlflow`` of :class:`WorkflowConfig`: the MLflow app or server and where runs are logged."""

    resourceArn: str
    experimentName: str
    runName: str | None


class DatasetRegistration(TypedDict):
    """``registerDataset`` of :class:`WorkflowConfig` (lineage): the AI Registry dataset each run's training data
    becomes a version of, and its hub (null: the account's AI Registry hub, named at run time)."""

    name: str
    hubName: str | None


class WorkflowConfig(TypedDict):
    """The workflow configuration (``workflow_config.py``'s docstring explains each key)."""

    version: int
    projectName: str
    jobNamePrefix: str
    technique: str
    trainingType: str
    hubName: str
    baseModel: str
    baseModelVersion: str | None
    acceptEula: bool
    roleArn: str
    modelPackageGroupName: str
    modelPackageGroupArn: str
    trainUri: str
    validationUri: str | None
    outputUri: str
    kmsKeyId: str | None
    hyperparameters: dict[str, Any]
    hyperparameterMode: str
    sequenceLength: str | None
    maxRuntimeSeconds: int
    mlflow: MlflowSettings | None
    tags: dict[str, str]
    evaluatorArn: str | None
    rewardLambdaArn: str | None
    judgeModelId: str | None
    judgePrompt: str | None
    judgePromptEvaluatorArn: str | None
    checkData: bool
    approvedOnly: bool
    allowConcurrentRuns: bool
    approvalStatus: str
    #: the evaluation block (``EvaluationSpec.runtime_config``; read by ``evaluation_config.py``)
    evaluation: NotRequired[dict[str, Any] | None]
    #: lineage (spec ``data.register_dataset``; absent when off; read by ``dataset_registry.py``)
    registerDataset: NotRequired[DatasetRegistration]


class ExecutionInput(TypedDict, total=False):
    """An execution's input: data and hyperparameter overrides, continuous customization (``baseModel``:
    ``"latest"`` or a model package ARN; ``approvedOnly`` for ``latest``), the RLVR evaluator and the MLflow run."""

    trainUri: str
    validationUri: str
    hyperparameters: dict[str, Any]
    baseModel: str
    approvedOnly: bool
    evaluatorArn: str
    mlflowRunName: str


class TrainingJobRequest(TypedDict):
    """The serverless ``CreateTrainingJob`` request the preflight builds (members in the order they are sent)."""

    TrainingJobName: str
    RoleArn: str
    InputDataConfig: list[dict[str, Any]]
    OutputDataConfig: dict[str, Any]
    ServerlessJobConfig: dict[str, Any]
    ModelPackageConfig: dict[str, Any]
    Tags: list[dict[str, str]]
    MlflowConfig: NotRequired[dict[str, str]]
    StoppingCondition: NotRequired[dict[str, int]]
    HyperParameters: NotRequired[dict[str, str]]


class PreflightResult(TypedDict):
    """The preflight action's answer."""

    request: TrainingJobRequest
    trainingJobName: str
    hasHyperParameters: bool
    dataFormats: dict[str, str | None]
    dataChecks: dict[str, dict[str, Any]]
    #: lineage: the dataset version trained from (the Lambda) or the ImportHubContent request it would send
    dataset: NotRequired[dict[str, Any]]


class WorkflowOutput(TypedDict):
    """The output of a successful execution (absent job fields are ``null``)."""

    trainingJobName: str
    trainingJobArn: str | None
    status: str | None
    outputModelPackageArn: str | None
    billableTokenCount: int | None
    mlflowRunId: str | None
    secondaryStatus: str | None


class JobResult(WorkflowOutput):
    """The result action's answer: the workflow output plus the job's ``failureReason`` (always a string)."""

    failureReason: str


INPUT_KEYS = tuple(ExecutionInput.__annotations__)
OUTPUT_FIELDS = tuple(WorkflowOutput.__annotations__)
#: Request members every request has, in the order the aws-sdk task names them.
REQUIRED_REQUEST_KEYS = tuple(
    k for k in TrainingJobRequest.__annotations__ if k in TrainingJobRequest.__required_keys__
)
#: Where the state machine keeps the preflight's answer and the finished job's result.
PREFLIGHT = "$.preflight"
WATCH = "$.watch"
JOB_RESULT = f"{WATCH}.result"


def _field(kind: type, key: str) -> str:
    if key not in kind.__annotations__:
        raise KeyError(f"{kind.__name__} has no field {key!r}; fields: {', '.join(kind.__annotations__)}")
    return key


def fields(kind: type, *keys: str) -> tuple[str, ...]:
    """``keys``, each checked to be a field of the TypedDict ``kind`` (``KeyError`` naming it otherwise)."""
    return tuple(_field(kind, key) for key in keys)


def preflight_path(key: str, *member: str) -> str:
    """``$.preflight.<key>[.<request member>]``: a field the state machine keeps of :class:`PreflightResult`."""
    path = f"{PREFLIGHT}.{_field(PreflightResult, key)}"
    if member:
        path += "." + _field(TrainingJobRequest, member[0])
    return path


def job_result_path(key: str) -> str:
    """``$.watch.result.<key>``: a field of :class:`JobResult`."""
    return f"{JOB_RESULT}.{_field(JobResult, key)}"


class ConfigProblem(ValueError):
    """A workflow configuration key that is unknown, missing or of the wrong type (``key`` names it; the
    message reads after the configuration's name: ``config lacks roleArn; ...``)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def check_config(
    config: Any, *, unresolved: Callable[[Any], bool] = lambda value: False, absent_is_null: bool = False
) -> WorkflowConfig:
    """``config`` as a :class:`WorkflowConfig`, or :class:`ConfigProblem` naming the first bad key.

    ``unresolved(value)`` says a value is a deploy-time placeholder (a CDK token) whose type is not checked.
    ``absent_is_null``: a missing key that may be null is null (the Lambda's copy: CDK drops the ``null``
    values when it writes the configuration into the function's environment); the answer is then a new dict.
    """
    if not isinstance(config, Mapping):
        raise ConfigProblem("config", f"must be an object, not {_kind(config)}")
    checked = _check_object("", config, WorkflowConfig, unresolved, absent_is_null)
    if checked["version"] != CONFIG_VERSION:
        raise ConfigProblem("version", f"version is {checked['version']!r}; this code reads {CONFIG_VERSION}")
    return typing.cast(WorkflowConfig, checked)


def _check_object(
    where: str, value: Mapping[str, Any], kind: Any, unresolved: Callable[[Any], bool], absent_is_null: bool
) -> Mapping[str, Any]:
    hints = typing.get_type_hints(kind)
    unknown = sorted(set(value) - set(hints))
    if unknown:
        raise ConfigProblem(
            where + unknown[0],
            f"has an unknown key {where + unknown[0]}; known keys: {', '.join(hints)}",
        )
    if absent_is_null:
        nulls = {
            k: None
            for k, hint in hints.items()
            if k not in value and k in kind.__required_keys__ and _nullable(hint)
        }
        value = {**value, **nulls} if nulls else value
    missing = [k for k in hints if k not in value and k in kind.__required_keys__]
    if missing:
        raise ConfigProblem(where + missing[0], f"lacks {', '.join(where + k for k in missing)}; {_BUILD}")
    checked = dict(value) if absent_is_null else None
    for key, hint in hints.items():
        if key in value and not unresolved(value[key]):
            result = _check_value(where + key, value[key], hint, unresolved, absent_is_null)
            if checked is not None:
                checked[key] = result
    return value if checked is None else checked


def _nullable(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, _UnionType) and type(None) in typing.get_args(hint)


def _check_value(
    key: str, value: Any, hint: Any, unresolved: Callable[[Any], bool], absent_is_null: bool
) -> Any:
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, _UnionType) else (hint,)
    if value is None and type(None) not in options:
        raise ConfigProblem(key, f"lacks {key} (it is null); {_BUILD}")
    for option in options:
        if option is type(None) and value is None:
            return value
        if typing.is_typeddict(option):
            if isinstance(value, Mapping):
                return _check_object(key + ".", value, option, unresolved, absent_is_null)
            continue
        base = typing.get_origin(option) or option
        if base is Any or (
            isinstance(base, type) and isinstance(value, base) and not _bool_as_number(value, base)
        ):
            return value
    wanted = " or ".join(_describe(option) for option in options)
    raise ConfigProblem(key, f"{key} is {_kind(value)}; it must be {wanted}")


_BUILD = "build it with cdk_sagemaker_finetuning.workflow_config.runtime_config()"
_UnionType = type(int | None)
_NAMES = {str: "a string", int: "an integer", bool: "true or false", dict: "an object", type(None): "null"}


def _bool_as_number(value: Any, base: type) -> bool:
    return isinstance(value, bool) and base is not bool


def _describe(option: Any) -> str:
    if typing.is_typeddict(option):
        return "an object"
    return _NAMES.get(typing.get_origin(option) or option, str(option))


def _kind(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
