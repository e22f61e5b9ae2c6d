"""Build every ``CreateTrainingJob`` request of the evaluation step, as the SageMaker Python SDK 3.27 evaluators do.

Pure functions (standard library only); ``cdk-finetune plan --evaluation`` calls
:func:`build_evaluation_jobs`, and so will the workflow's evaluation Lambda. The SDK's ``BenchMarkEvaluator``,
``LLMAsJudgeEvaluator`` and ``CustomScorerEvaluator`` render a SageMaker Pipeline whose ``Training`` steps carry
these arguments (``sagemaker/train/evaluate/pipeline_templates.py``, the ``EvaluateCustomModel*`` steps of the
templates for a model package); we send them directly. By design the requests differ from the SDK's only in:

* ``TrainingJobName``: deterministic per execution (:func:`request.job_name`), so a retry cannot start twice;
  the judge metrics job's ``name`` and ``inference_data_s3_path`` use our names where the SDK's use its own.
* ``Tags``: the spec's tags plus the evaluation tag the SDK puts on its pipeline (the SDK sends no job tags).
* ``MlflowConfig``: the SDK sets the resource ARN and experiment name on the pipeline; we set them on each job.

Inputs
------
``config``
    The training workflow configuration (``workflow_config.runtime_config``) with an ``evaluation`` key made by
    ``EvaluationSpec.runtime_config``: ``dataset``, ``benchmarks`` (``[{"name", "subtasks"}]``), ``judge``
    (``{"modelId", "metrics"}``), ``customScorer`` (``{"preset"}`` | ``{"evaluatorArn"}`` | ``{"reward": true}``,
    the project's RLVR evaluator ``evaluatorArn``) and ``gate``.
``model_package``
    The evaluated package's ``DescribeModelPackage`` answer (the base model and version it was trained from).
``recipe_specs``
    ``{EvaluationType: override spec}`` of the base model's hub evaluation recipes
    (``evaluation_config.recipe_types`` lists the types needed, ``evaluation_config.evaluation_recipe_uri`` where
    each spec is).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import errors, request
from . import evaluation_catalog as catalog
from . import evaluation_config as inputs
from .workflow_contract import WorkflowConfig

EVALUATION_TAG = {"Key": "SagemakerModelEvaluation", "Value": "true"}


_show = request._show  # the runtime's value formatting in messages


# -- the requests ------------------------------------------------------------------------------------------


def _channel(source: Any) -> dict[str, Any]:
    """The ``train`` channel of a judge or scorer dataset, exactly as the SDK's templates write it."""
    if isinstance(source, str) and request.S3_URI_RE.match(source):
        return {
            "ChannelName": "train",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
        }
    if isinstance(source, str) and request.DATASET_ARN_RE.match(source):
        return {"ChannelName": "train", "DataSource": {"DatasetSource": {"DatasetArn": source}}}
    raise errors.InvalidInput(
        f"{_show(source)} must be an S3 URI or a versioned dataset ARN "
        "(arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/DataSet/<name>/<x.y.z>)",
        field="evaluation.dataset",
    )


def job_name(prefix: str, execution_name: str, suffix: str, *, base: bool = False) -> str:
    """The deterministic name of one evaluation job: ``<prefix>-<execution>-eval-[base-]<suffix>``."""
    part = f"base-{suffix}" if base else suffix
    return request.job_name(prefix, f"{execution_name}-eval-{part}")


def job_names(prefix: str, execution_name: str, suffixes: list[str]) -> list[str]:
    """Every evaluation job name an execution can have: each suffix for the package, then for the base model."""
    return [job_name(prefix, execution_name, s, base=base) for base in (False, True) for s in suffixes]


def job_suffixes(evaluation: Mapping[str, Any]) -> list[str]:
    """The name suffixes of every job the evaluation block starts (per model), in start order."""
    suffixes = [bench.name for bench, _ in inputs.benchmarks(evaluation)]
    if evaluation.get("judge"):
        suffixes += ["judge-inference", "judge"]
    if evaluation.get("customScorer"):
        suffixes.append("scorer")
    return suffixes


class _Builder:
    def __init__(
        self, config: WorkflowConfig, model_package: Mapping[str, Any], execution_name: str, base: bool
    ):
        missing = [k for k in ("roleArn", "outputUri", "jobNamePrefix") if not config.get(k)]
        if missing:
            raise errors.InvalidInput(f"workflow configuration lacks {', '.join(missing)}", field="config")
        self.config = config
        self.package_arn = model_package.get("ModelPackageArn")
        self.model_name, self.base_arn = inputs.base_model(model_package, hub=config.get("hubName"))
        self.group_arn = inputs.model_group_arn(self.package_arn)
        self.execution_name = execution_name
        self.base = base
        self.model = "base" if base else "package"

    def name(self, suffix: str) -> str:
        return job_name(self.config["jobNamePrefix"], self.execution_name, suffix, base=self.base)

    def job(
        self,
        name: str,
        evaluation_type: str,
        hyperparameters: dict[str, str],
        *,
        output_uri: str | None = None,
        dataset: str | None = None,
        evaluator_arn: str | None = None,
    ) -> dict[str, Any]:
        serverless = {
            "BaseModelArn": self.base_arn,
            "AcceptEula": True,
            "JobType": "Evaluation",
            "EvaluationType": evaluation_type,
        }
        if evaluator_arn:
            serverless["EvaluatorArn"] = evaluator_arn
        output = {**request.output_config(self.config), "CompressionType": "NONE"}
        if output_uri:
            output["S3OutputPath"] = output_uri
        job: dict[str, Any] = {
            "TrainingJobName": name,
            "RoleArn": self.config["roleArn"],
            "ServerlessJobConfig": serverless,
            "StoppingCondition": {"MaxRuntimeInSeconds": catalog.MAX_RUNTIME_SECONDS},
            "HyperParameters": hyperparameters,
            "OutputDataConfig": output,
            "Tags": request.user_tags(self.config) + [EVALUATION_TAG],
        }
        if not self.base:  # the base model's jobs evaluate the hub model itself
            job["ModelPackageConfig"] = {
                "ModelPackageGroupArn": self.group_arn,
                "SourceModelPackageArn": self.package_arn,
            }
        if dataset:
            job["InputDataConfig"] = [_channel(dataset)]
        mlflow = request.mlflow_config(self.config, {})
        if mlflow:
            mlflow.pop("MlflowRunName", None)  # the SDK's pipeline sets no run name
            job["MlflowConfig"] = mlflow
        return job


def _entry(
    b: _Builder, evaluation: str, kind: str, job: dict[str, Any], after: str | None = None
) -> dict[str, Any]:
    return {"evaluation": evaluation, "kind": kind, "model": b.model, "after": after, "request": job}


def _dataset(evaluation: Mapping[str, Any], what: str) -> str:
    dataset = evaluation.get("dataset")
    if not dataset:
        raise errors.InvalidInput(f"{what} needs evaluation.dataset", field="evaluation.dataset")
    return dataset


def _judge_jobs(b: _Builder, evaluation: Mapping[str, Any], judge_models: set[str] | None) -> list[dict]:
    judge = evaluation["judge"]
    model_id, metrics = judge.get("modelId"), judge.get("metrics") or []
    if catalog.is_nova(b.model_name):
        raise errors.InvalidJudgeModel(
            "LLM-as-judge of a Nova model runs on the SDK's InspectAI path, which is not supported",
            field="evaluation.judge",
        )
    if not isinstance(model_id, str) or (judge_models is not None and model_id not in judge_models):
        allowed = ", ".join(sorted(judge_models or [])) or "see the Bedrock documentation"
        raise errors.InvalidJudgeModel(
            f"judge model {_show(model_id)} is not a supported LLM-as-judge model; supported: {allowed}",
            field="evaluation.judge.model_id",
        )
    output = b.config["outputUri"].rstrip("/")  # the SDK strips it for both judge jobs
    dataset = _dataset(evaluation, "LLM-as-judge")
    inference_name, metrics_name = b.name("judge-inference"), b.name("judge")
    name = catalog.JUDGE_BASE_INFERENCE_NAME if b.base else catalog.JUDGE_INFERENCE_NAME
    inference = b.job(
        inference_name,
        "BenchmarkEvaluation",
        {"name": name, "task": "inference_only"},
        output_uri=output,
        dataset=dataset,
    )
    hyperparameters = {
        "name": metrics_name,
        "judge_model_id": model_id,
        "inference_data_s3_path": f"{output}/{inference_name}/output/output/{name}/eval_results/inference_output.jsonl",
        "output_path": output,
        "llmaj_metrics": json.dumps([m.removeprefix("Builtin.") for m in metrics]),
        **catalog.JUDGE_GENERATION,
    }
    metrics_job = b.job(metrics_name, "LLMAJEvaluation", hyperparameters, output_uri=output)
    return [
        _entry(b, catalog.JUDGE, "inference", inference),
        _entry(b, catalog.JUDGE, "metrics", metrics_job, after=inference_name),
    ]


def _scorer_job(b: _Builder, evaluation: Mapping[str, Any], settings: dict[str, str]) -> dict[str, Any]:
    scorer = evaluation["customScorer"]
    preset = scorer.get("preset")
    evaluator = b.config.get("evaluatorArn") if scorer.get("reward") else scorer.get("evaluatorArn")
    if scorer.get("reward") and not evaluator:
        raise errors.RewardMissing(
            "custom_scorer reward: true needs the project's RLVR reward evaluator (evaluatorArn)",
            field="evaluation.custom_scorer.reward",
        )
    if bool(preset) == bool(evaluator) or (preset and preset not in catalog.PRESET_SCORERS):
        raise errors.InvalidInput(
            f"custom scorer {_show(dict(scorer))} needs exactly one of a preset "
            f"({', '.join(catalog.PRESET_SCORERS)}), an evaluator ARN or reward: true",
            field="evaluation.custom_scorer",
        )
    if evaluator and not (isinstance(evaluator, str) and request.EVALUATOR_ARN_RE.match(evaluator)):
        raise errors.InvalidInput(
            f"{_show(evaluator)} is not a versioned evaluator ARN",
            field="evaluation.custom_scorer.evaluator_arn",
        )
    hyperparameters = {"task": "gen_qa", "strategy": "gen_qa", catalog.metric_key(b.model_name): "all"}
    if catalog.is_nova(b.model_name):
        hyperparameters["lambda_type"] = "rft"
    if preset:
        hyperparameters["preset_reward_function"] = preset
    hyperparameters.update(settings)
    if evaluator:  # the SDK turns on postprocessing for a reward Lambda, aggregating by mean unless set
        hyperparameters["postprocessing"] = "True"
        hyperparameters["aggregation"] = settings.get("aggregation") or "mean"
    job = b.job(
        b.name("scorer"),
        "CustomScorerEvaluation",
        hyperparameters,
        dataset=_dataset(evaluation, "the custom scorer"),
        evaluator_arn=evaluator,
    )
    return _entry(b, catalog.CUSTOM_SCORER, "scorer", job)


def build_evaluation_jobs(
    config: WorkflowConfig,
    model_package: Mapping[str, Any],
    recipe_specs: Mapping[str, Any],
    execution_name: str,
    *,
    judge_models: set[str] | None = None,
    base_model: bool = False,
) -> list[dict[str, Any]]:
    """Every evaluation job for the package, in start order.

    Each entry is ``{"evaluation": <benchmark name | "judge" | "custom_scorer">, "kind": "benchmark" |
    "inference" | "metrics" | "scorer", "model": "package" | "base", "after": <job that must complete first, or
    None>, "request": ...}``. ``judge_models`` is the service's allow-list (``None`` when it could not be read: not
    checked, as in the SDK). ``base_model=True`` builds the jobs that evaluate the hub model the package was
    trained from instead (the SDK's ``evaluate_base_model`` steps: no ``ModelPackageConfig``, the judge's
    inference named ``BaseInference``), the gate's reference on a first round or with ``compare_to: base``.
    """
    evaluation = inputs.evaluation_block(config)
    b = _Builder(config, model_package, execution_name, base_model)
    jobs = []
    for bench, subtasks in inputs.benchmarks(evaluation):
        if bench.nova_only and not catalog.is_nova(b.model_name):
            raise errors.InvalidInput(
                f"benchmark {bench.name} is only offered for Nova models", field="evaluation.benchmarks"
            )
        settings = inputs.recipe_settings(
            recipe_specs.get(catalog.recipe_type("benchmark", b.model_name, bench.name))
        )
        hyperparameters = {
            "task": bench.name,
            "strategy": bench.strategy,
            catalog.metric_key(b.model_name): bench.metric,
            **settings,
        }
        if subtasks:
            hyperparameters["subtask"] = ",".join(subtasks)
        job = b.job(b.name(bench.name), "BenchmarkEvaluation", hyperparameters)
        jobs.append(_entry(b, bench.name, "benchmark", job))
    if evaluation.get("judge"):
        jobs.extend(_judge_jobs(b, evaluation, judge_models))
    if evaluation.get("customScorer"):
        settings = inputs.recipe_settings(
            recipe_specs.get(catalog.recipe_type("custom_scorer", b.model_name))
        )
        jobs.append(_scorer_job(b, evaluation, settings))
    if not jobs:
        raise errors.InvalidInput(
            "the evaluation block chooses no evaluation (benchmarks, judge or custom_scorer)",
            field="evaluation",
        )
    return jobs
