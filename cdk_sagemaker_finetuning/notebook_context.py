"""The render context of the notebook and script templates: every value they read, derived from the spec.

:class:`Context` is what ``code_templates/*.j2`` see as ``c``; :func:`py` and :func:`assign` (also the templates'
``py`` and ``assign`` filters) write Python literals. :mod:`.notebook` renders the templates with it.

Over 400 lines on purpose: it is one class, the one render context every code template reads.
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .evaluation_spec import EvaluationSpec
from .runtime import models
from .spec import FineTuningSpec, RewardSpec

LINE_LENGTH = 110
"""Longest generated line (the project's ruff setting); longer string values are wrapped in parentheses."""

TRAINER_CLASSES = {"sft": "SFTTrainer", "dpo": "DPOTrainer", "rlvr": "RLVRTrainer", "rlaif": "RLAIFTrainer"}
PLOT_METRICS = {
    "sft": ("total_loss", "val_eval_total_loss"),
    "dpo": ("loss_per_batch", "rewards/chosen", "rewards/rejected", "rewards/margins", "acc_per_batch"),
    "rlvr": (
        "critic/rewards/mean",
        "response_length/mean",
        "actor/entropy_loss",
        "actor/grad_norm",
        "critic/advantages/mean",
    ),
}
PLOT_METRICS["rlaif"] = PLOT_METRICS["rlvr"]
SUGGESTED_OVERRIDES: dict[str, tuple[tuple[str, Any], ...]] = {
    "sft": (
        ("learning_rate", 0.0002),
        ("global_batch_size", 16),
        ("max_epochs", 5),
        ("lr_warmup_steps_ratio", 0.05),
    ),
    "rlvr": (("learning_rate", 0.0002), ("global_batch_size", 16)),
}
SUGGESTED_OVERRIDES["dpo"] = SUGGESTED_OVERRIDES["sft"] + (("adam_beta", 0.01),)
SUGGESTED_OVERRIDES["rlaif"] = SUGGESTED_OVERRIDES["rlvr"]
PLACEHOLDER_PREFIX = "<fill in"


@dataclass(frozen=True)
class Placeholder:
    """A value the stack provides, missing from the given outputs."""

    output_key: str

    def __str__(self) -> str:
        return f"{PLACEHOLDER_PREFIX}: stack output {self.output_key}>"


@dataclass(frozen=True)
class Ref:
    """Python code (a variable name) used as a value."""

    code: str


@dataclass(frozen=True)
class Setting:
    name: str
    value: Any
    comment: str = ""


# -- python literals ------------------------------------------------------------------------------------------


def py(value: Any) -> str:
    """A Python literal for ``value`` (strings in double quotes)."""
    if isinstance(value, Ref):
        return value.code
    if isinstance(value, Placeholder):
        return json.dumps(str(value))
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(py(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{py(k)}: {py(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no Python literal for {value!r}")


def assign(target: str, value: Any, indent: int = 0) -> str:
    """``target = <literal>``, wrapped over several lines when it would exceed :data:`LINE_LENGTH`."""
    line = f"{target} = {py(value)}"
    if indent + len(line) <= LINE_LENGTH:
        return line
    pad = " " * 4
    if isinstance(value, list | tuple):
        return "\n".join([f"{target} = [", *(f"{pad}{py(item)}," for item in value), "]"])
    return f"{target} = (\n{pad}{py(value)}\n)"


# -- render context -------------------------------------------------------------------------------------------


@dataclass
class Context:
    """Everything the templates need, derived from the spec and the stack outputs."""

    spec: FineTuningSpec
    outputs: dict[str, str]
    validate_role: bool
    settings: list[Setting] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.settings = self._settings()

    # -- plain values --
    project = property(lambda self: self.spec.name)
    technique = property(lambda self: self.spec.technique)
    technique_label = property(lambda self: self.spec.technique.upper())
    trainer_class = property(lambda self: TRAINER_CLASSES[self.spec.technique])
    model = property(lambda self: self.spec.hub_content_name)
    model_alias = property(lambda self: self.spec.base_model if self.spec.base_model != self.model else None)
    hub = property(lambda self: self.spec.hub)
    public_hub = models.PUBLIC_HUB
    license = property(lambda self: models.license_for(self.model))
    gated = property(lambda self: models.is_gated(self.spec.base_model))
    nova = property(lambda self: self.spec.is_nova)
    region = property(lambda self: self.spec.region)
    training_type = property(lambda self: self.spec.training_type.upper())
    training_type_label = property(
        lambda self: "LoRA" if self.spec.training_type == "lora" else "full fine-tuning"
    )
    outputs_used = property(lambda self: bool(self.outputs))
    has_validation = property(lambda self: self.spec.data.validation is not None)
    kms_key_arn = property(lambda self: self.spec.output.kms_key_arn)
    mlflow_resource_arn = property(lambda self: self.spec.mlflow.resource_arn)

    @property
    def mlflow_experiment_name(self) -> str | None:
        """With a tracking server the experiment defaults to the group name (as in the training workflow)."""
        mlflow = self.spec.mlflow
        return mlflow.experiment_name or (self.spec.model_package_group_name if mlflow.resource_arn else None)

    mlflow_run_name = property(lambda self: self.spec.mlflow.run_name)
    sequence_length = property(lambda self: self.spec.sequence_length)
    max_runtime_hours = property(lambda self: self.spec.max_runtime_hours)
    tags = property(lambda self: self.spec.tags)
    plot_metrics = property(lambda self: list(PLOT_METRICS[self.spec.technique]))
    overrides = property(lambda self: dict(self.spec.hyperparameters))
    approval_status = property(lambda self: self.spec.approval_status)
    default_approval_status = FineTuningSpec.model_fields["approval_status"].default

    @property
    def model_package_group_name(self) -> str:
        return self.outputs.get("ModelPackageGroupName", self.spec.model_package_group_name)

    @property
    def group_create(self) -> bool:
        """Without stack outputs (and unless the spec imports an existing group) the code creates the group."""
        return not self.outputs and not self.spec.model_package_group.existing

    @property
    def needs_os(self) -> bool:
        return not self.validate_role or self.hub != models.PUBLIC_HUB

    @property
    def placeholders(self) -> list[str]:
        return [s.name for s in self.settings if isinstance(s.value, Placeholder)]

    # -- the spec's optional blocks, for values rendered only when the spec has the block --
    @property
    def _reward(self) -> RewardSpec:
        assert self.spec.reward is not None, "rendered only for a spec with a reward block"
        return self.spec.reward

    @property
    def _evaluation(self) -> EvaluationSpec:
        assert self.spec.evaluation is not None, "rendered only for a spec with an evaluation block"
        return self.spec.evaluation

    # -- technique values --
    @property
    def uses_reward_evaluator(self) -> bool:
        """RLVR with a reward function (not the recipe's preset reward)."""
        return self.technique == "rlvr" and self.spec.reward is not None

    @property
    def reward_description(self) -> str:
        reward = self._reward
        if reward.evaluator_arn:
            return "The spec names an existing reward evaluator (`RewardFunction` hub content)."
        source = (
            f"the built-in reward `{reward.builtin}`"
            if reward.builtin
            else f"the project's reward code `{reward.code}`"
        )
        return (
            f"The stack deploys a reward Lambda running {source} and registers it as a `RewardFunction`\n"
            "evaluator (stack output EvaluatorArn)."
        )

    @property
    def preset_reward_function(self) -> Any:
        return self.spec.hyperparameters.get("preset_reward_function")

    @property
    def skip_reward_validation(self) -> bool:
        """The SDK's reward preflight cannot read samples from a DataSet ARN string (also the registered one)."""
        train = self.value("TRAIN_DATA")
        return self.register_dataset or (isinstance(train, str) and train.startswith("arn:"))

    # -- lineage --
    register_dataset = property(lambda self: self.spec.data.register_dataset)

    @property
    def dataset_technique(self) -> str:
        """``customization_technique=`` of ``DataSet.create``: the SDK's enum has SFT, DPO and RLVR only."""
        return f"CustomizationTechnique.{self.technique.upper()}" if self.technique != "rlaif" else "None"

    judge_model_id = property(lambda self: self.spec.rlaif.judge_model_id if self.spec.rlaif else None)
    judge_prompt = property(lambda self: self.spec.rlaif.prompt if self.spec.rlaif else None)

    @property
    def judge_evaluator_arn(self) -> str | None:
        return self.outputs.get("EvaluatorArn") if self.spec.judge_prompt_path else None

    @property
    def judge_prompt_registration(self) -> bool:
        """Custom judge prompt and no stack-registered evaluator: the code registers the prompt itself."""
        return self.spec.judge_prompt_path is not None and self.judge_evaluator_arn is None

    @property
    def judge_evaluator_name(self) -> str:
        """The name the stack's ``JudgePrompt`` evaluator has, so both register versions of one evaluator."""
        return f"{self.project}-judge"

    # -- evaluation --
    evaluation = property(lambda self: self.spec.evaluation)

    @property
    def evaluator_import(self) -> str:
        """The ``from sagemaker.train.evaluate import ...`` line(s) for the spec's evaluations, isort-formatted."""
        evaluation, names = self._evaluation, []
        if evaluation.benchmarks:
            names += ["BenchMarkEvaluator", "get_benchmarks"]
        if evaluation.judge:
            names.append("LLMAsJudgeEvaluator")
        if evaluation.custom_scorer:
            names.append("CustomScorerEvaluator")
            if evaluation.custom_scorer.builtin:
                names.append("get_builtin_metrics")
        names.sort(key=lambda name: (not name[0].isupper(), name))  # classes first, as isort orders them
        line = f"from sagemaker.train.evaluate import {', '.join(names)}"
        if len(line) <= LINE_LENGTH:
            return line
        return "\n".join(["from sagemaker.train.evaluate import (", *(f"    {n}," for n in names), ")"])

    @property
    def scorer_evaluator(self) -> str:
        """The custom scorer's ``evaluator=`` argument: a preset, the spec's evaluator or the project's reward."""
        scorer = self._evaluation.custom_scorer
        assert scorer is not None, "rendered only for an evaluation with a custom scorer"
        if scorer.builtin:
            return f"BuiltInMetric.{scorer.builtin.upper()}"
        return "SCORER_EVALUATOR_ARN" if scorer.evaluator_arn else "REWARD_EVALUATOR_ARN"

    @property
    def gate_evaluation(self) -> str | None:
        """The evaluation the gate's metric comes from (a benchmark name, ``judge`` or ``custom_scorer``)."""
        gate = self.spec.evaluation.gate if self.spec.evaluation else None
        return gate.metric.split("/", 1)[0] if gate else None

    @property
    def gate_steps(self) -> tuple[str, str]:
        """The SDK pipeline steps holding the new model's and the base model's scores of the gate's evaluation."""
        suffix = "Metrics" if self.gate_evaluation == "judge" else ""
        return f"EvaluateCustomModel{suffix}", f"EvaluateBaseModel{suffix}"

    # -- overrides --
    def overrides_for(self, variable: str, indent: int = 0) -> list[str]:
        """Lines setting the spec's hyperparameters on ``<variable>.hyperparameters`` (checked by the SDK)."""
        lines = []
        for name, value in self.spec.hyperparameters.items():
            if name.isidentifier() and not keyword.iskeyword(name):
                lines.extend(assign(f"{variable}.hyperparameters.{name}", value, indent).splitlines())
            else:
                lines.append(f"setattr({variable}.hyperparameters, {py(name)}, {py(value)})")
        return lines

    def suggestions_for(self, variable: str) -> list[str]:
        """Example overrides to show commented out: the technique's usual knobs the spec does not set."""
        forbidden = set(self.spec.hyperparameters)
        if self.nova:
            forbidden.update(models.NOVA_FORBIDDEN_HYPERPARAMETERS)
        return [
            f"{variable}.hyperparameters.{name} = {py(value)}"
            for name, value in SUGGESTED_OVERRIDES[self.technique]
            if name not in forbidden
        ]

    # -- helpers --
    def value(self, name: str) -> Any:
        """The value of one configuration setting."""
        return next(setting.value for setting in self.settings if setting.name == name)

    def _settings(self) -> list[Setting]:
        spec = self.spec
        train_key = None if spec.data.create_bucket else "data.train"
        settings = [
            Setting("BASE_MODEL", self.model, "SageMaker Hub model id (hub content name)"),
            Setting("JOB_NAME_PREFIX", self.project, "Training job names: <prefix>-<timestamp>"),
            self._stack_value("ROLE_ARN", "ExecutionRoleArn", "Training execution role"),
            Setting("MODEL_PACKAGE_GROUP_NAME", self.model_package_group_name),
            self._stack_value(
                "MODEL_PACKAGE_GROUP",
                "ModelPackageGroupArn",
                "Group name or ARN (the SDK resolves a name)",
                Ref("MODEL_PACKAGE_GROUP_NAME"),
                "the name above",
            ),
            self._stack_value("TRAIN_DATA", "TrainUri", "Training data", spec.data.train, train_key),
            *self._data_settings(),
        ]
        if self.uses_reward_evaluator:
            arn = self._reward.evaluator_arn
            settings.append(
                self._stack_value(
                    "REWARD_EVALUATOR_ARN",
                    "EvaluatorArn",
                    "Reward function evaluator",
                    arn,
                    "reward.evaluator_arn",
                )
            )
        if spec.evaluation:
            settings.extend(self._evaluation_settings())
        return settings + self._job_settings()

    def _data_settings(self) -> list[Setting]:
        """The lineage dataset, the validation data and the job output."""
        spec = self.spec
        settings = []
        if spec.dataset_name:
            settings.append(
                Setting(
                    "DATASET_NAME",
                    spec.dataset_name,
                    "Lineage dataset (AI Registry): spec data.register_dataset",
                )
            )
        if self.has_validation:
            key = None if spec.data.create_bucket else "data.validation"
            settings.append(
                self._stack_value(
                    "VALIDATION_DATA", "ValidationUri", "Validation data", spec.data.validation, key
                )
            )
        # Without outputs the job output is a placeholder too: the SDK's default bucket is not one the
        # stack's execution role may write.
        settings.append(
            self._stack_value(
                "S3_OUTPUT_PATH", "OutputUri", "Job output", spec.output.s3_uri, "output.s3_uri"
            )
        )
        return settings

    def _job_settings(self) -> list[Setting]:
        """The output key, MLflow tracking, the maximum runtime and the tags of the job."""
        spec = self.spec
        settings = []
        if spec.output.kms_key_arn:
            settings.append(
                Setting("KMS_KEY_ARN", spec.output.kms_key_arn, "Job output KMS key: spec output.kms_key_arn")
            )
        mlflow = [
            (name, value)
            for name, value in (
                ("MLFLOW_RESOURCE_ARN", spec.mlflow.resource_arn),
                ("MLFLOW_EXPERIMENT_NAME", self.mlflow_experiment_name),
                ("MLFLOW_RUN_NAME", spec.mlflow.run_name),
            )
            if value
        ]
        for index, (name, value) in enumerate(mlflow):
            settings.append(Setting(name, value, "" if index else "MLflow tracking: spec mlflow"))
        hours = spec.max_runtime_hours
        settings.append(
            Setting("MAX_RUNTIME_SECONDS", int(hours * 3600), f"{hours} h: spec max_runtime_hours")
        )
        if spec.tags:
            tags = [{"key": k, "value": v} for k, v in spec.tags.items()]
            settings.append(Setting("TAGS", tags, "Job tags (with the SDK's own): spec tags"))
        return settings

    def _evaluation_settings(self) -> list[Setting]:
        evaluation = self._evaluation
        settings = []
        if evaluation.dataset:
            settings.append(
                Setting(
                    "EVALUATION_DATASET",
                    evaluation.dataset,
                    "Judge and custom scorer prompts: spec evaluation.dataset",
                )
            )
        scorer = evaluation.custom_scorer
        if scorer and scorer.evaluator_arn:
            settings.append(
                Setting(
                    "SCORER_EVALUATOR_ARN",
                    scorer.evaluator_arn,
                    "Custom scorer: spec evaluation.custom_scorer.evaluator_arn",
                )
            )
        return settings

    def _stack_value(
        self,
        name: str,
        output_key: str,
        label: str,
        fallback: Any = None,
        fallback_source: str | None = None,
    ) -> Setting:
        """A value from the stack outputs, else from the spec (or a default), else a placeholder."""
        if output_key in self.outputs:
            return Setting(name, self.outputs[output_key], f"{label}: stack output {output_key}")
        if fallback is not None and fallback_source:
            return Setting(
                name,
                fallback,
                f"{label}: {fallback_source if isinstance(fallback, Ref) else 'spec ' + fallback_source}",
            )
        return Setting(
            name, Placeholder(output_key), f"{label}: stack output {output_key} (cdk deploy --outputs-file)"
        )
