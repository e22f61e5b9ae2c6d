"""The fine-tuning spec: one typed, validated description of a fine-tuning project.

The same spec drives the CDK constructs, the training workflow's preflight, the notebook helper and the CLI.
Load it with :func:`load_spec` (YAML or JSON) or :meth:`FineTuningSpec.from_dict`; any problem raises
:class:`SpecError`, which lists every problem found with its dotted field path, the bad value and the rule.

Over 400 lines on purpose: most of it is :class:`FineTuningSpec`, one pydantic model whose cross-field rules
and derived values belong with it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from . import files, spec_messages, user_code
from .evaluation_spec import EvaluationSpec
from .runtime import models, request
from .runtime.reward.builtins import BUILTIN_REWARDS, option_problems

S3_URI_RE = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[^\s]*)?$"
DATASET_ARN_RE = (
    r"^arn:aws[a-z\-]*:sagemaker:[^:]+:\d{12}:hub-content/[^/]+/DataSet/[^/]+/\d{1,4}\.\d{1,4}\.\d{1,4}$"
)
EVALUATOR_ARN_RE = (
    r"^arn:aws[a-z\-]*:sagemaker:[^:]+:\d{12}:hub-content/[^/]+/JsonDoc/[^/]+/\d{1,4}\.\d{1,4}\.\d{1,4}$"
)
LAMBDA_FUNCTION_ARN_RE = r"^arn:aws[a-z\-]*:lambda:[a-z0-9\-]+:\d{12}:function:[A-Za-z0-9_\-]{1,64}$"
MODEL_PACKAGE_GROUP_ARN_RE = (
    r"^arn:aws[a-z\-]*:sagemaker:[^:]+:\d{12}:model-package-group/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
)
MLFLOW_ARN_RE = (
    r"^arn:aws[a-z\-]*:sagemaker:[^:]+:\d{12}:(mlflow-app|mlflow-tracking-server)/[a-zA-Z0-9\-]{1,256}$"
)
KMS_KEY_RE = r"^(arn:aws[a-z\-]*:kms:[^:]+:\d{12}:(key|alias)/.+|alias/.+|[0-9a-f\-]{36})$"
CONNECTION_ARN_RE = (
    r"^arn:aws[a-z\-]*:(codestar-connections|codeconnections):[^:]+:\d{12}:connection/[\w\-]+$"
)
EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
SCHEDULE_RE = r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^)]+\))$"
RESOURCE_NAME = models.RESOURCE_NAME_RE.pattern
HYPERPARAMETER_VALUE_RE = re.compile(r"^[a-zA-Z0-9/_.:,\-\s'\"\[\]]*$")
MAX_HYPERPARAMETERS = 100

SLUG_RE = r"^[a-z0-9](-?[a-z0-9])*$"
Slug = Annotated[StrictStr, Field(pattern=SLUG_RE, min_length=1, max_length=40)]
ResourceName = Annotated[StrictStr, Field(pattern=RESOURCE_NAME, max_length=63)]
S3Uri = Annotated[StrictStr, Field(pattern=S3_URI_RE, max_length=1024)]
HyperparameterValue = StrictInt | StrictFloat | StrictBool | StrictStr


class SpecError(ValueError):
    """An invalid fine-tuning spec. ``problems`` lists every ``(field, message)``; ``field`` is the first one."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        problems = [(field, spec_messages.with_example(field, message)) for field, message in problems]
        self.problems = problems
        self.field = problems[0][0]
        lines = "\n".join(f"  - {field}: {message}" for field, message in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"invalid fine-tuning spec ({len(problems)} {noun}):\n{lines}")


_show = spec_messages.show


class _Block(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DataSpec(_Block):
    """Training and validation data: S3 URIs or AI Registry dataset ARNs, or keys in a stack-created bucket."""

    create_bucket: StrictBool = False
    """Create an encrypted, retained data bucket; ``train``/``validation`` are then object keys or prefixes in it."""
    train: StrictStr = Field(min_length=1, max_length=1024)
    validation: StrictStr | None = Field(default=None, min_length=1, max_length=1024)
    register_dataset: StrictBool = False
    """Lineage: each run registers its training object as a new version of an AI Registry ``DataSet`` (as the
    SDK's ``DataSet.create``) and trains from that ARN. Default off (unconfirmed for every technique)."""
    dataset_name: ResourceName | None = None
    """The registered dataset's hub content name. Default: ``<project name>-train``."""


class OutputSpec(_Block):
    """Where the job writes its output. Default: a stack-created, encrypted, retained bucket."""

    s3_uri: S3Uri | None = None
    kms_key_arn: Annotated[StrictStr, Field(pattern=KMS_KEY_RE)] | None = None


class ModelPackageGroupSpec(_Block):
    """The model package group trained models are registered in."""

    name: ResourceName | None = None
    """Default: the project name."""
    existing: StrictBool = False
    """Import an existing group of that name instead of creating one."""


class MlflowSpec(_Block):
    """MLflow tracking. Every field is optional."""

    resource_arn: Annotated[StrictStr, Field(pattern=MLFLOW_ARN_RE)] | None = None
    experiment_name: Annotated[StrictStr, Field(min_length=1, max_length=256)] | None = None
    run_name: Annotated[StrictStr, Field(min_length=1, max_length=256)] | None = None


class RewardSpec(_Block):
    """RLVR reward: exactly one of a built-in reward, user reward code, or an existing evaluator ARN."""

    builtin: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")] | None = None
    code: Annotated[StrictStr, Field(min_length=1)] | None = None
    """Path to a Python module defining ``reward(sample) -> float | dict`` (relative to the spec file)."""
    evaluator_arn: Annotated[StrictStr, Field(pattern=EVALUATOR_ARN_RE)] | None = None
    lambda_arn: Annotated[StrictStr, Field(pattern=LAMBDA_FUNCTION_ARN_RE)] | None = None
    """With ``evaluator_arn``: the evaluator's reward Lambda (unqualified function ARN), for evaluators the
    deployment cannot read. Default: looked up from the evaluator at deploy time."""
    options: dict[StrictStr, Any] = Field(default_factory=dict)
    """Keyword options for a built-in reward."""
    score_range: tuple[StrictInt | StrictFloat, StrictInt | StrictFloat] = (-1.0, 1.0)
    """Scores are clamped into this range; a failing sample scores the lower bound."""
    samples: Annotated[StrictStr, Field(min_length=1)] | None = None
    """JSONL rows (relative to the spec file) that ``code`` must score, each inside ``score_range``."""
    requirements: Annotated[StrictStr, Field(min_length=1)] | None = None
    """A pip requirements file (relative to the spec file) of pure-Python packages bundled with ``code``."""


class RlaifSpec(_Block):
    """RLAIF judge: a Bedrock judge model id and a built-in or custom (``.jinja``) prompt."""

    judge_model_id: StrictStr
    prompt: Annotated[StrictStr, Field(min_length=1)]


class NewDataTriggerSpec(_Block):
    """Start a training when an object is created under ``prefix`` of the data bucket (EventBridge)."""

    prefix: Annotated[StrictStr, Field(min_length=1, max_length=1024)] | None = None
    """Key prefix to watch. Default: the folder of ``data.train``."""


class RepositorySpec(_Block):
    """A CodeConnections repository whose changes also start the retraining pipeline."""

    connection_arn: Annotated[StrictStr, Field(pattern=CONNECTION_ARN_RE)]
    owner: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    repo: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    branch: Annotated[StrictStr, Field(min_length=1, max_length=255)] = "main"


class PipelineSpec(_Block):
    """A CodePipeline (V2): data source -> optional manual approval -> training -> report."""

    source_key: Annotated[StrictStr, Field(min_length=1, max_length=1024)] | None = None
    """Object key (in the data bucket) whose new versions start the pipeline. Default: ``data.train``."""
    manual_approval: StrictBool = False
    repository: RepositorySpec | None = None


class RetrainingSpec(_Block):
    """How the project retrains: triggers and continuous customization."""

    on_new_data: NewDataTriggerSpec | None = None
    schedule: Annotated[StrictStr, Field(pattern=SCHEDULE_RE)] | None = None
    """An EventBridge schedule expression, e.g. ``rate(7 days)`` or ``cron(0 3 ? * MON *)``."""
    pipeline: PipelineSpec | None = None
    continue_from_latest: StrictBool = False
    """Train from the newest model package in the group; the first run uses the hub base model."""
    approved_only: StrictBool = True
    """With ``continue_from_latest``: consider only ``Approved`` packages."""


class NotificationsSpec(_Block):
    """Where training and approval events go: an SNS topic, with optional e-mail subscriptions."""

    emails: list[Annotated[StrictStr, Field(pattern=EMAIL_RE)]] = Field(default_factory=list)
    alarm_on_failure: StrictBool = True
    """A CloudWatch alarm on failed workflow executions, notifying the topic."""


Technique = Literal["sft", "dpo", "rlvr", "rlaif"]
ApprovalStatus = Literal["PendingManualApproval", "Approved", "Rejected"]


class FineTuningSpec(_Block):
    """A fine-tuning project. See the README's "The spec" section for every field."""

    name: Slug
    technique: Technique
    base_model: Annotated[StrictStr, Field(pattern=r"^[a-zA-Z0-9]([-.]*[a-zA-Z0-9]){0,63}$")]
    """SageMaker Hub model id (hub content name), or a Nova Bedrock alias such as ``amazon.nova-lite-v1``."""
    base_model_version: Annotated[StrictStr, Field(pattern=r"^\d{1,4}\.\d{1,4}\.\d{1,4}$")] | None = None
    hub: ResourceName = models.PUBLIC_HUB
    training_type: Literal["lora", "full"] = "lora"
    accept_eula: StrictBool = False
    allow_unknown_model: StrictBool = False
    """Accept a base model outside the known model families (a model newer than this library)."""
    region: Annotated[StrictStr, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")] | None = None
    """Target region, when known; enables region checks at validation time."""
    data: DataSpec
    output: OutputSpec = OutputSpec()
    model_package_group: ModelPackageGroupSpec = ModelPackageGroupSpec()
    hyperparameters: dict[Annotated[StrictStr, Field(min_length=1, max_length=256)], HyperparameterValue] = (
        Field(default_factory=dict)
    )
    sequence_length: Annotated[StrictStr, Field(pattern=r"^\d{1,3}K$")] | None = None
    max_runtime_hours: Annotated[StrictInt | StrictFloat, Field(gt=0, le=672)] = 24
    mlflow: MlflowSpec = MlflowSpec()
    tags: dict[
        Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[\w\s.:/=+\-@]+$")],
        Annotated[StrictStr, Field(max_length=256, pattern=r"^[\w\s.:/=+\-@]*$")],
    ] = Field(default_factory=dict)
    reward: RewardSpec | None = None
    rlaif: RlaifSpec | None = None
    approval_status: ApprovalStatus = "PendingManualApproval"
    """Approval status the workflow sets on each model package it registers."""
    retraining: RetrainingSpec | None = None
    notifications: NotificationsSpec | None = None
    evaluation: EvaluationSpec | None = None
    """Serverless evaluations of each new model package and the promotion gate (``evaluation_spec.py``)."""
    base_dir: Path = Field(default=Path("."), exclude=True)
    """Directory that relative paths (reward code, judge prompt) are resolved against."""

    # -- construction -------------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any, *, base_dir: str | Path = ".") -> FineTuningSpec:
        """Validate a mapping into a spec; raise :class:`SpecError` listing every problem."""
        if not isinstance(data, Mapping):
            raise SpecError([("<root>", f"{_show(data)} is not a mapping; a spec is a mapping of fields")])
        if "base_dir" in data:
            raise SpecError(
                [("base_dir", "is not a spec field (it is set from the spec file's location); remove it")]
            )
        data = {**data, "base_dir": Path(base_dir)}
        try:
            spec = cls.model_validate(data)
        except ValidationError as exc:
            problems = spec_messages.merge([spec_messages.problem(err, cls) for err in exc.errors()])
            raise SpecError(problems + cls._cross_field_problems_despite(data, exc)) from None
        problems = list(spec._cross_field_problems())
        if problems:
            raise SpecError(problems)
        return spec

    @classmethod
    def _cross_field_problems_despite(
        cls, data: dict[str, Any], exc: ValidationError
    ) -> list[tuple[str, str]]:
        """Cross-field problems of the fields that are valid, so one run reports as much as it can."""
        failed = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
        if failed & {"technique", "base_model", "data"} or not all(isinstance(k, str) for k in data):
            return []  # the cross-field rules hinge on these; guessing them would mislead
        repaired = {key: value for key, value in data.items() if key not in failed}
        if "name" in failed:
            repaired["name"] = "placeholder"
        try:
            spec = cls.model_validate(repaired)
        except ValidationError:
            return []
        return [
            (field, message)
            for field, message in spec._cross_field_problems()
            if field.split(".")[0] not in failed
        ]

    # -- derived values -----------------------------------------------------------------------------------

    @property
    def hub_content_name(self) -> str:
        """The base model's hub content name (Nova Bedrock aliases translated)."""
        return models.hub_content_name(self.base_model)

    @property
    def is_nova(self) -> bool:
        return models.is_nova(self.base_model)

    @property
    def output_prefix(self) -> str:
        """Prefix of the project's stack outputs in a platform stack (``support-sft`` -> ``SupportSft``)."""
        return output_prefix(self.name)

    @property
    def model_package_group_name(self) -> str:
        return self.model_package_group.name or self.name

    @property
    def dataset_name(self) -> str | None:
        """The AI Registry dataset each run registers (``data.register_dataset``), or None."""
        return (self.data.dataset_name or f"{self.name}-train") if self.data.register_dataset else None

    @property
    def reward_code_path(self) -> Path | None:
        """Absolute path of the user's reward module, when the spec names one."""
        return (self.base_dir / self.reward.code).resolve() if self.reward and self.reward.code else None

    @property
    def reward_requirements_path(self) -> Path | None:
        """Absolute path of the reward module's requirements file, when the spec names one."""
        requirements = self.reward.requirements if self.reward else None
        return (self.base_dir / requirements).resolve() if requirements else None

    @property
    def judge_prompt_path(self) -> Path | None:
        """Absolute path of the custom RLAIF judge prompt, or None for a built-in prompt."""
        if self.rlaif is None or self.rlaif.prompt.startswith("Builtin."):
            return None
        return (self.base_dir / self.rlaif.prompt).resolve()

    def check_region(self, region: str) -> list[tuple[str, str]]:
        """Problems with deploying this spec to ``region`` (model family and judge allow-lists)."""
        problems = []
        if models.model_family(self.base_model) is None and not self.allow_unknown_model:
            families = ", ".join(label for _, label in models.MODEL_FAMILIES)
            problems.append(
                (
                    "base_model",
                    f"{_show(self.base_model)} is not a model of a known family ({families}); check the id "
                    "with 'cdk-finetune models', or for a model newer than this library set "
                    "allow_unknown_model: true (or pass --allow-unknown-model)",
                )
            )
        allowed = models.allowed_regions(self.base_model)
        if region not in allowed:
            problems.append(
                (
                    "region",
                    f"{region!r} does not offer serverless customization of {self.base_model!r}; "
                    f"allowed: {', '.join(allowed)}",
                )
            )
        if self.rlaif and self.rlaif.judge_model_id in models.JUDGE_MODEL_REGIONS:
            judge_regions = models.JUDGE_MODEL_REGIONS[self.rlaif.judge_model_id]
            if region not in judge_regions:
                problems.append(
                    (
                        "rlaif.judge_model_id",
                        f"{self.rlaif.judge_model_id!r} is not allowed in {region!r}; "
                        f"allowed regions: {', '.join(judge_regions)}",
                    )
                )
        return problems

    # -- cross-field rules --------------------------------------------------------------------------------

    def _cross_field_problems(self) -> Iterator[tuple[str, str]]:
        yield from self._technique_block_problems()
        yield from self._eula_problems()
        yield from self._data_problems()
        yield from self._hyperparameter_problems()
        yield from self._path_problems()
        yield from self._retraining_problems()
        for key in self.tags:
            if key.lower().startswith("aws:"):
                yield (f"tags.{key}", "must not start with 'aws:' (reserved by AWS)")
        if self.region:
            yield from self.check_region(self.region)
        if self.evaluation is not None:
            yield from self.evaluation.problems(self)

    def _technique_block_problems(self) -> Iterator[tuple[str, str]]:
        if self.technique == "rlvr":
            preset = self.hyperparameters.get("preset_reward_function")
            if self.reward is None and not preset:
                yield (
                    "reward",
                    "is required for technique 'rlvr' (a builtin, code or evaluator_arn), "
                    "unless hyperparameters.preset_reward_function is set",
                )
        elif self.reward is not None:
            yield ("reward", f"is only allowed for technique 'rlvr', not {self.technique!r}; remove it")
        if self.reward is not None:
            chosen = [k for k in ("builtin", "code", "evaluator_arn") if getattr(self.reward, k) is not None]
            if len(chosen) != 1:
                yield (
                    "reward",
                    f"needs exactly one of builtin, code or evaluator_arn; got {chosen or 'none'}",
                )
            if self.reward.lambda_arn is not None and self.reward.evaluator_arn is None:
                yield (
                    "reward.lambda_arn",
                    "is only allowed with reward.evaluator_arn (the Lambda of that existing evaluator)",
                )
            low, high = self.reward.score_range
            if not (math.isfinite(low) and math.isfinite(high)):
                yield ("reward.score_range", f"{[low, high]!r} must be two finite numbers [low, high]")
            elif not low < high:
                yield ("reward.score_range", f"{[low, high]!r} must be [low, high] with low < high")
            if self.reward.builtin is not None and self.reward.builtin not in BUILTIN_REWARDS:
                yield (
                    "reward.builtin",
                    f"{_show(self.reward.builtin)} is not a built-in reward; "
                    f"built-ins: {', '.join(BUILTIN_REWARDS)}",
                )
            elif self.reward.builtin is not None:
                for key, message in option_problems(self.reward.builtin, self.reward.options):
                    yield (f"reward.options.{key}", message)
            elif self.reward.options:
                yield (
                    "reward.options",
                    "only applies to reward.builtin (reward code reads no options); remove it",
                )
            if self.reward.samples is not None and self.reward.code is None:
                yield ("reward.samples", "only applies to reward.code (rows the module must score); remove it")
            if self.reward.requirements is not None and self.reward.code is None:
                yield ("reward.requirements", "only applies to reward.code (packages the module imports); remove it")
        if self.technique == "rlaif":
            if self.rlaif is None:
                yield ("rlaif", "is required for technique 'rlaif' (judge_model_id and prompt)")
            else:
                yield from self._rlaif_problems(self.rlaif)
        elif self.rlaif is not None:
            yield ("rlaif", f"is only allowed for technique 'rlaif', not {self.technique!r}; remove it")

    def _rlaif_problems(self, rlaif: RlaifSpec) -> Iterator[tuple[str, str]]:
        if rlaif.judge_model_id not in models.JUDGE_MODEL_REGIONS:
            yield (
                "rlaif.judge_model_id",
                f"{_show(rlaif.judge_model_id)} is not an allowed judge model; "
                f"allowed: {', '.join(models.JUDGE_MODEL_REGIONS)}",
            )
        prompt = rlaif.prompt
        if prompt.startswith("Builtin."):
            if prompt not in models.BUILTIN_JUDGE_PROMPTS:
                yield (
                    "rlaif.prompt",
                    f"{_show(prompt)} is not a built-in prompt; "
                    f"built-ins: {', '.join(models.BUILTIN_JUDGE_PROMPTS)} (or a path to a .jinja file)",
                )
        elif not prompt.endswith(".jinja"):
            yield ("rlaif.prompt", f"{_show(prompt)} must be a Builtin.* name or a path to a .jinja file")

    def _eula_problems(self) -> Iterator[tuple[str, str]]:
        if "." in self.hub_content_name:
            yield (
                "base_model",
                f"{self.base_model!r} is not a hub content name; the only dotted ids accepted are "
                f"the Nova aliases {', '.join(models.NOVA_ALIASES)}",
            )
        if models.is_gated(self.base_model) and not self.accept_eula:
            lic = models.license_for(self.hub_content_name)
            terms = f"{lic.name} license ({lic.url})" if lic else "model's license"
            yield (
                "accept_eula",
                f"must be true for the gated model {self.base_model!r}: read and accept the "
                f"{terms}, then set accept_eula: true",
            )

    def _data_problems(self) -> Iterator[tuple[str, str]]:
        yield from self._lineage_problems()
        for channel in ("train", "validation"):
            value = getattr(self.data, channel)
            if value is None:
                continue
            field = f"data.{channel}"
            if self.data.create_bucket:
                if value.startswith(("s3://", "arn:")):
                    yield (
                        field,
                        f"{_show(value)} must be an object key or prefix in the created data bucket "
                        "when data.create_bucket is true",
                    )
            elif value.startswith("s3://") and not re.match(S3_URI_RE, value):
                rule = spec_messages.s3_uri_problem(value) or "an S3 URI such as s3://bucket/prefix/"
                yield (field, f"{_show(value)} is invalid: must be {rule}")
            elif value.startswith("arn:") and not re.match(DATASET_ARN_RE, value):
                yield (
                    field,
                    f"{_show(value)} is not a versioned AI Registry dataset ARN; it must look like "
                    "arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/DataSet/<name>/<x.y.z>",
                )
            elif not (re.match(S3_URI_RE, value) or re.match(DATASET_ARN_RE, value)):
                yield (
                    field,
                    f"{_show(value)} must be an S3 URI (s3://bucket/key) or a versioned AI Registry "
                    "dataset ARN (arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/DataSet/<name>/<x.y.z>)",
                )

    def _lineage_problems(self) -> Iterator[tuple[str, str]]:
        data = self.data
        if data.dataset_name is not None and not data.register_dataset:
            yield ("data.dataset_name", "only applies with data.register_dataset: true; remove it")
        if not data.register_dataset:
            return
        if data.train.startswith("arn:"):
            yield (
                "data.register_dataset",
                "cannot be true when data.train is already a dataset ARN (it is trained from as is); "
                "remove register_dataset or give data.train as an S3 object",
            )
        elif not data.train.endswith(".jsonl"):
            yield (
                "data.train",
                f"{_show(data.train)} must name one .jsonl object when data.register_dataset is true "
                "(an AI Registry dataset points at a single object, not a prefix)",
            )

    def _hyperparameter_problems(self) -> Iterator[tuple[str, str]]:
        hps = self.hyperparameters
        if len(hps) > MAX_HYPERPARAMETERS:
            yield ("hyperparameters", f"has {len(hps)} entries; the API allows at most {MAX_HYPERPARAMETERS}")
        for key, value in hps.items():
            field = f"hyperparameters.{key}"
            if key in models.SERVICE_FILLED_HYPERPARAMETERS or (key == "reward_lambda_arn"):
                yield (field, "is filled by the service; remove it")
            elif self.is_nova and key in models.NOVA_FORBIDDEN_HYPERPARAMETERS:
                yield (field, f"is not a Nova hyperparameter ({self.base_model!r} recipes have no {key})")
            text = str(value)
            if len(text) > 2500 or not HYPERPARAMETER_VALUE_RE.match(text):
                yield (
                    field,
                    f"{_show(value)} must be at most 2500 characters of letters, digits, spaces and "
                    "/_.:,-'\"[]",
                )
            if isinstance(value, float) and not math.isfinite(value):
                yield (field, f"{_show(value)} must be a finite number")
            elif key in models.HYPERPARAMETER_BOUNDS:
                try:
                    request.check_value(
                        key, value, models.HYPERPARAMETER_BOUNDS[key], "serverless recipes allow"
                    )
                except request.errors.PreflightError as exc:
                    yield (field, exc.message)
        if "preset_reward_function" in hps and not str(hps["preset_reward_function"]).strip():
            yield ("hyperparameters.preset_reward_function", "must not be empty (the service rejects it)")
        if self.technique != "rlaif":
            for key in ("judge_model_id", "judge_prompt_template"):
                if key in hps:
                    yield (f"hyperparameters.{key}", "is only used by technique 'rlaif'; remove it")
        elif "judge_model_id" in hps or "judge_prompt_template" in hps:
            yield (
                "hyperparameters",
                "set the RLAIF judge with the rlaif block (e.g. rlaif: {judge_model_id: openai.gpt-oss-120b-1:0, "
                "prompt: Builtin.Summarize}), not judge_* hyperparameters",
            )

    def _retraining_problems(self) -> Iterator[tuple[str, str]]:
        retraining = self.retraining
        if retraining is None:
            return
        if not (retraining.on_new_data or retraining.schedule or retraining.pipeline):
            yield ("retraining", "needs at least one trigger: on_new_data, schedule or pipeline")
        data_is_s3 = self.data.create_bucket or self.data.train.startswith("s3://")
        for field, used in (("on_new_data", retraining.on_new_data), ("pipeline", retraining.pipeline)):
            if used is not None and not data_is_s3:
                yield (
                    f"retraining.{field}",
                    "watches S3, but data.train is a dataset ARN; use an S3 location",
                )
        pipeline = retraining.pipeline
        if pipeline and pipeline.source_key and pipeline.source_key.startswith("s3://"):
            yield ("retraining.pipeline.source_key", f"{_show(pipeline.source_key)} must be a key, not a URI")

    def _path_problems(self) -> Iterator[tuple[str, str]]:
        reward, code_path = self.reward, self.reward_code_path
        if reward is not None and reward.code is not None and code_path is not None:
            if code_path.suffix != ".py":
                yield ("reward.code", f"{_show(reward.code)} must be a .py file")
            elif unreadable := list(_unreadable("reward.code", reward.code, code_path)):
                yield from unreadable
            else:
                yield from self._reward_code_problems(reward, reward.code, code_path)
        prompt = self.judge_prompt_path
        if self.rlaif is not None and prompt is not None and prompt.suffix == ".jinja":
            if unreadable := list(_unreadable("rlaif.prompt", self.rlaif.prompt, prompt)):
                yield from unreadable
            else:
                for problem in user_code.check_judge_prompt(prompt):
                    yield ("rlaif.prompt", problem.render(self.rlaif.prompt))

    def _reward_code_problems(self, reward: RewardSpec, code: str, path: Path) -> Iterator[tuple[str, str]]:
        """The shared reward check (``user_code``): the module loads in the Lambda and scores the samples."""
        numbered: list[tuple[int, Any]] = []
        if reward.samples is not None:
            try:
                numbered = user_code.read_rows((self.base_dir / reward.samples).resolve())
            except user_code.UserFileError as exc:
                yield ("reward.samples", str(exc))
        bundled = None
        requirements_path = self.reward_requirements_path
        if reward.requirements is not None and requirements_path is not None:
            bundled, problems = user_code.install_requirements(requirements_path)
            for problem in problems:
                yield ("reward.requirements", problem.render(reward.requirements))
            if problems:
                return  # the module's imports cannot be judged without its requirements
        low, high = reward.score_range
        rows = [row for _, row in numbered] if low < high else []
        check = user_code.check_reward_code(path, score_range=(low, high), rows=rows, requirements=bundled)
        for problem in check.problems:
            yield ("reward.code", problem.render(code))
        failing, more = check.sample_problems()
        for index, message in failing:
            yield ("reward.samples", f"{reward.samples} line {numbered[index][0]}: {message}")
        if more:
            yield ("reward.samples", f"{reward.samples}: {more} more row(s) fail too")


def _unreadable(field: str, given: str, path: Path) -> Iterator[tuple[str, str]]:
    """A problem when the file a spec field names is missing or a directory (its contents are the user-code
    checks' to judge: they name the file, line and byte)."""
    if not path.exists():
        yield (field, f"{_show(given)} does not exist (resolved to {path})")
    elif path.is_dir():
        yield (field, f"{_show(given)}: it is a directory; pass a file (resolved to {path})")


def output_prefix(project_name: str) -> str:
    """A project's stack-output prefix in a platform stack: its name in PascalCase (``SupportSft``)."""
    return "".join(part.capitalize() for part in project_name.split("-"))


def load_spec(path: str | Path, *, allow_unknown_model: bool = False) -> FineTuningSpec:
    """Load a spec from a YAML (``.yaml``/``.yml``) or JSON file; relative paths resolve against its folder.

    ``allow_unknown_model`` overrides the spec's field of that name (the CLI's ``--allow-unknown-model``).
    """
    path = Path(path)
    read = files.read_json if path.suffix == ".json" else files.read_yaml
    try:
        data = read(path, "spec", shape=None)
    except files.FileProblem as exc:
        raise SpecError([("<file>", str(exc))]) from None
    if allow_unknown_model and isinstance(data, Mapping):
        data = {**data, "allow_unknown_model": True}
    return FineTuningSpec.from_dict(data, base_dir=path.parent)
