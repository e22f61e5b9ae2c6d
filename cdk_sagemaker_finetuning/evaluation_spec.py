"""The spec's optional ``evaluation`` block: which serverless evaluations measure each new model, and the gate.

``FineTuningSpec.evaluation`` holds an :class:`EvaluationSpec`; its cross-field rules (:meth:`EvaluationSpec.
problems`) are reported with the spec's other problems. Benchmarks, subtasks, presets and judge metrics are the
SageMaker SDK's (``runtime/evaluation_catalog.py``). :meth:`EvaluationSpec.runtime_config` is the ``evaluation``
key of the workflow configuration read by ``runtime/evaluation_request.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from .runtime import errors, evaluation_config
from .runtime import evaluation_catalog as catalog
from .runtime.workflow_contract import WorkflowConfig

if TYPE_CHECKING:
    from .spec import FineTuningSpec

#: A Bedrock model id: provider, a dot, then the model (``anthropic.claude-3-5-haiku-20241022-v1:0``).
BEDROCK_MODEL_ID_RE = re.compile(r"^([a-z]{2}\.)?[a-z0-9\-]+\.[A-Za-z0-9.\-:]+$")
GATE_METRIC_RE = re.compile(r"^[a-z][a-z0-9_]*/[A-Za-z0-9_.\-]+$")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Block(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JudgeSpec(_Block):
    """LLM-as-judge: a Bedrock judge model and Bedrock built-in metrics (``Builtin.`` prefix optional)."""

    model_id: StrictStr = Field(min_length=1)
    metrics: list[StrictStr] = Field(min_length=1)


class CustomScorerSpec(_Block):
    """Custom scorer: exactly one of a preset (``builtin``), a reward evaluator ARN, or ``reward: true``."""

    builtin: StrictStr | None = None
    evaluator_arn: StrictStr | None = None
    lambda_arn: StrictStr | None = None
    """With ``evaluator_arn``: the evaluator's Lambda (unqualified function ARN), for evaluators the deployment
    cannot read. Default: looked up from the evaluator at deploy time (as ``reward.lambda_arn``)."""
    reward: StrictBool | None = None
    """``true``: score with the project's RLVR reward evaluator."""


class GateSpec(_Block):
    """Promotion gate: approve a new package only if ``metric`` beats the reference by ``min_delta``."""

    metric: StrictStr
    """``<evaluation>/<metric>`` as the results name it, e.g. ``mmlu/accuracy`` or ``judge/Correctness``."""
    compare_to: Literal["approved", "base"] = "approved"
    """The newest Approved package (the first round: the base model), or always the base model."""
    min_delta: StrictInt | StrictFloat = 0.0
    on_fail: Literal["PendingManualApproval", "Rejected"] = "PendingManualApproval"


class EvaluationSpec(_Block):
    """Evaluations of every new model package; without ``gate`` the scores are only recorded."""

    dataset: StrictStr | None = None
    """S3 URI or versioned AI Registry DataSet ARN: the prompts for the judge and the custom scorer."""
    benchmarks: list[StrictStr] = Field(default_factory=list)
    subtasks: dict[StrictStr, list[StrictStr]] = Field(default_factory=dict)
    judge: JudgeSpec | None = None
    custom_scorer: CustomScorerSpec | None = None
    gate: GateSpec | None = None

    # -- rules ----------------------------------------------------------------------------------------------

    def problems(self, spec: FineTuningSpec) -> Iterator[tuple[str, str]]:
        """Every cross-field problem as ``(dotted field, message)``."""
        if not (self.benchmarks or self.judge or self.custom_scorer):
            yield (
                "evaluation",
                "chooses no evaluation: set benchmarks (e.g. [mmlu]), judge or custom_scorer",
            )
        yield from self._benchmark_problems(spec)
        yield from self._dataset_problems()
        if self.judge is not None:
            yield from self._judge_problems(self.judge, spec)
        if self.custom_scorer is not None:
            yield from self._scorer_problems(self.custom_scorer, spec)
        if self.gate is not None:
            yield from self._gate_problems(self.gate)

    def _benchmark_problems(self, spec: FineTuningSpec) -> Iterator[tuple[str, str]]:
        seen = set()
        for i, name in enumerate(self.benchmarks):
            field = f"evaluation.benchmarks.{i}"
            if name in seen:
                yield (field, f"{_show(name)} is listed twice")
            seen.add(name)
            if name == catalog.JUDGE_BENCHMARK:
                yield (field, "'llm_judge' is not a benchmark here: use the judge block for LLM-as-judge")
            elif name not in catalog.BENCHMARKS:
                yield (
                    field,
                    f"{_show(name)} is not a benchmark; use one of {', '.join(catalog.BENCHMARKS)}",
                )
            elif catalog.BENCHMARKS[name].nova_only and not spec.is_nova:
                yield (field, f"{name!r} is only offered for Nova models, not {spec.base_model!r}")
        with_subtasks = [b.name for b in catalog.BENCHMARKS.values() if b.takes_subtasks]
        for name, subtasks in self.subtasks.items():
            field = f"evaluation.subtasks.{name}"
            bench = catalog.BENCHMARKS.get(name)
            if name not in self.benchmarks:
                yield (
                    field,
                    f"{_show(name)} is not in evaluation.benchmarks; add it there first or remove it",
                )
            elif bench is None:
                continue  # reported on the benchmark
            elif not bench.takes_subtasks:
                yield (
                    field,
                    f"{name!r} takes no subtasks (remove them); benchmarks with subtasks: {', '.join(with_subtasks)}",
                )
            elif not subtasks:
                yield (field, "must list at least one subtask, e.g. [abstract_algebra]; omit it for all")
            else:
                for j, subtask in enumerate(subtasks):
                    if bench.subtasks is not None and subtask not in bench.subtasks:
                        yield (
                            f"{field}.{j}",
                            f"{_show(subtask)} is not a {name} subtask; for example: {', '.join(bench.subtasks[:4])}",
                        )
                if len(set(subtasks)) != len(subtasks):
                    yield (field, "lists a subtask twice")

    def _dataset_problems(self) -> Iterator[tuple[str, str]]:
        from .spec import DATASET_ARN_RE, S3_URI_RE

        needs = self.judge is not None or self.custom_scorer is not None
        if self.dataset is None:
            if needs:
                yield (
                    "evaluation.dataset",
                    "is required for judge and custom_scorer (the prompts to answer)",
                )
            return
        if not needs:
            yield (
                "evaluation.dataset",
                "is only used by judge and custom_scorer; remove it or add one of them",
            )
        if not (re.match(S3_URI_RE, self.dataset) or re.match(DATASET_ARN_RE, self.dataset)):
            yield (
                "evaluation.dataset",
                f"{_show(self.dataset)} must be an S3 URI (s3://bucket/eval.jsonl) or a versioned AI Registry "
                "dataset ARN (arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/DataSet/<name>/<x.y.z>)",
            )

    def _judge_problems(self, judge: JudgeSpec, spec: FineTuningSpec) -> Iterator[tuple[str, str]]:
        if spec.is_nova:
            yield (
                "evaluation.judge",
                f"LLM-as-judge of a Nova model ({spec.base_model!r}) runs on the SDK's InspectAI path, "
                "which this library does not build; use benchmarks or custom_scorer",
            )
        if not BEDROCK_MODEL_ID_RE.match(judge.model_id):
            yield (
                "evaluation.judge.model_id",
                f"{_show(judge.model_id)} must be a Bedrock model id such as "
                "anthropic.claude-3-5-haiku-20241022-v1:0 (the service's allow-list is checked at run time)",
            )
        names = [m.removeprefix("Builtin.") for m in judge.metrics]
        for i, name in enumerate(names):
            if name not in catalog.JUDGE_METRICS:
                yield (
                    f"evaluation.judge.metrics.{i}",
                    f"{_show(judge.metrics[i])} is not a built-in judge metric; use one of "
                    f"{', '.join(catalog.JUDGE_METRICS)}",
                )
        if len(set(names)) != len(names):
            yield ("evaluation.judge.metrics", "lists a metric twice")

    def _scorer_problems(self, scorer: CustomScorerSpec, spec: FineTuningSpec) -> Iterator[tuple[str, str]]:
        from .spec import EVALUATOR_ARN_RE, LAMBDA_FUNCTION_ARN_RE

        chosen = [k for k in ("builtin", "evaluator_arn", "reward") if getattr(scorer, k) is not None]
        if len(chosen) != 1:
            yield (
                "evaluation.custom_scorer",
                f"needs exactly one of builtin, evaluator_arn or reward; got {chosen or 'none'} "
                "(e.g. {builtin: prime_math})",
            )
        if scorer.builtin is not None and scorer.builtin not in catalog.PRESET_SCORERS:
            yield (
                "evaluation.custom_scorer.builtin",
                f"{_show(scorer.builtin)} is not a preset scorer; use one of {', '.join(catalog.PRESET_SCORERS)}",
            )
        if scorer.evaluator_arn is not None and not re.match(EVALUATOR_ARN_RE, scorer.evaluator_arn):
            yield (
                "evaluation.custom_scorer.evaluator_arn",
                f"{_show(scorer.evaluator_arn)} must be a versioned evaluator ARN "
                "(arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/JsonDoc/<name>/<x.y.z>)",
            )
        if scorer.lambda_arn is not None and scorer.evaluator_arn is None:
            yield (
                "evaluation.custom_scorer.lambda_arn",
                "is only allowed with evaluation.custom_scorer.evaluator_arn (the Lambda of that evaluator)",
            )
        elif scorer.lambda_arn is not None and not re.match(LAMBDA_FUNCTION_ARN_RE, scorer.lambda_arn):
            yield (
                "evaluation.custom_scorer.lambda_arn",
                f"{_show(scorer.lambda_arn)} must be an unqualified Lambda function ARN (no alias or version), "
                "e.g. arn:aws:lambda:us-east-1:123456789012:function:my-scorer",
            )
        if scorer.reward is False:
            yield ("evaluation.custom_scorer.reward", "false means nothing: set reward: true or remove it")
        elif scorer.reward and (spec.technique != "rlvr" or spec.reward is None):
            yield (
                "evaluation.custom_scorer.reward",
                "true scores with the project's RLVR reward, so it needs technique 'rlvr' with a reward block "
                f"(technique is {spec.technique!r}{'' if spec.reward else ', no reward block'})",
            )

    def _gate_problems(self, gate: GateSpec) -> Iterator[tuple[str, str]]:
        if isinstance(gate.min_delta, float) and not math.isfinite(gate.min_delta):
            yield ("evaluation.gate.min_delta", f"{_show(gate.min_delta)} must be a finite number, e.g. 0.01")
        if not GATE_METRIC_RE.match(gate.metric):
            yield (
                "evaluation.gate.metric",
                f"{_show(gate.metric)} must be <evaluation>/<metric> as the results name it, e.g. mmlu/accuracy",
            )
            return
        try:
            problem = evaluation_config.gate_metric_problem(self.runtime_config(), gate.metric)
        except errors.PreflightError:  # an unknown benchmark or subtask, reported above
            return
        if problem:
            yield ("evaluation.gate.metric", problem)

    # -- the workflow configuration -------------------------------------------------------------------------

    def runtime_config(self) -> dict[str, Any]:
        """The ``evaluation`` key of the workflow configuration (see ``runtime/evaluation_request.py``)."""
        scorer = self.custom_scorer
        custom: dict[str, str | bool] | None
        if scorer is None:
            custom = None
        elif scorer.builtin is not None:
            custom = {"preset": scorer.builtin}
        elif scorer.evaluator_arn is not None:
            custom = {"evaluatorArn": scorer.evaluator_arn}
        else:
            custom = {"reward": bool(scorer.reward)}
        gate = self.gate
        return {
            "dataset": self.dataset,
            "benchmarks": [{"name": b, "subtasks": list(self.subtasks.get(b, []))} for b in self.benchmarks],
            "judge": {"modelId": self.judge.model_id, "metrics": list(self.judge.metrics)}
            if self.judge
            else None,
            "customScorer": custom,
            "gate": (
                {
                    "metric": gate.metric,
                    "compareTo": gate.compare_to,
                    "minDelta": gate.min_delta,
                    "onFail": gate.on_fail,
                }
                if gate
                else None
            ),
        }


def with_evaluation(config: WorkflowConfig, spec: FineTuningSpec) -> WorkflowConfig:
    """The workflow configuration ``config`` of ``spec`` with its ``evaluation`` key (``None`` without a block)."""
    return {**config, "evaluation": spec.evaluation.runtime_config() if spec.evaluation else None}
