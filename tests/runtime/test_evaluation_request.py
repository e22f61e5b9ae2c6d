"""Evaluation request builder: per-evaluation rules, named errors, botocore-valid requests, stable names."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import validate_parameters
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cdk_sagemaker_finetuning.runtime import errors
from cdk_sagemaker_finetuning.runtime import evaluation_config as ec
from cdk_sagemaker_finetuning.runtime import evaluation_request as er
from tests import workflow_data as wd

SHAPE = (
    botocore.session.get_session()
    .get_service_model("sagemaker")
    .operation_model("CreateTrainingJob")
    .input_shape
)
PACKAGE = f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:model-package/demo/4"
SPEC = {
    "max_new_tokens": {"default": 8192, "type": "integer"},
    "temperature": {"default": 0, "type": "float"},
    "top_k": {"default": -1, "type": "integer"},
    "top_p": {"default": 1.0, "type": "float"},
    "aggregation": {"default": None, "type": "string"},
    "seed": {"default": 1, "type": "integer"},
}
SPECS = dict.fromkeys(("DeterministicEvaluation", "DeterministicTextBenchmark"), SPEC)


def package(model: str = wd.LLAMA, version: str = "1.0.4", **base: Any) -> dict[str, Any]:
    base_model = {"HubContentName": model, "HubContentVersion": version, **base}
    return {"ModelPackageArn": PACKAGE, "InferenceSpecification": {"Containers": [{"BaseModel": base_model}]}}


def config(**evaluation: Any) -> dict[str, Any]:
    block = {
        "dataset": None,
        "benchmarks": [],
        "judge": None,
        "customScorer": None,
        "gate": None,
        **evaluation,
    }
    return {**wd.config(), "tags": {"team": "ml"}, "evaluation": block}


def jobs(cfg: dict[str, Any], pkg: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    result = er.build_evaluation_jobs(cfg, pkg or package(), SPECS, "nightly-3", **kwargs)
    for job in result:
        validate_parameters(job["request"], SHAPE)
    return result


def test_benchmark_job_pins_the_trained_version_and_mirrors_the_sdk_fields() -> None:
    [job] = jobs(config(benchmarks=[{"name": "math", "subtasks": ["algebra", "geometry"]}]))
    req = job["request"]
    assert job["evaluation"] == "math" and job["kind"] == "benchmark" and job["after"] is None
    assert req["ServerlessJobConfig"] == {
        "BaseModelArn": f"{wd.PUBLIC_MODEL_ARN}/{wd.LLAMA}/1.0.4",
        "AcceptEula": True,
        "JobType": "Evaluation",
        "EvaluationType": "BenchmarkEvaluation",
    }
    assert req["HyperParameters"] == {
        "task": "math",
        "strategy": "zs_cot",
        "evaluation_metric": "exact_match",
        "max_new_tokens": "8192",
        "temperature": "0",
        "top_k": "-1",
        "top_p": "1.0",
        "subtask": "algebra,geometry",
    }
    assert req["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert req["OutputDataConfig"] == {"S3OutputPath": "s3://demo-output/out/", "CompressionType": "NONE"}
    assert req["ModelPackageConfig"] == {
        "ModelPackageGroupArn": f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:model-package-group/demo",
        "SourceModelPackageArn": PACKAGE,
    }
    assert req["Tags"] == [{"Key": "team", "Value": "ml"}, er.EVALUATION_TAG]
    assert "InputDataConfig" not in req and "MlflowConfig" not in req


def test_names_are_deterministic_unique_and_within_the_api_limit() -> None:
    cfg = config(
        dataset="s3://demo-data/eval.jsonl",
        benchmarks=[{"name": "mmlu_pro"}, {"name": "ifeval"}],
        judge={"modelId": "anthropic.claude-3-5-haiku-20241022-v1:0", "metrics": ["Correctness"]},
        customScorer={"preset": "prime_code"},
    )
    long = er.build_evaluation_jobs(cfg, package(), SPECS, "x" * 80)
    names = [j["request"]["TrainingJobName"] for j in long]
    assert len(set(names)) == len(names) == 5 and all(len(n) <= 63 for n in names)
    assert names == [
        j["request"]["TrainingJobName"] for j in er.build_evaluation_jobs(cfg, package(), SPECS, "x" * 80)
    ]
    short = [j["request"]["TrainingJobName"] for j in jobs(cfg)]
    assert short[0] == "demo-nightly-3-eval-mmlu-pro"


def test_judge_pair_runs_in_order_and_points_the_metrics_job_at_the_inference_output() -> None:
    cfg = config(
        dataset=wd.DATASET_ARN,
        judge={
            "modelId": "anthropic.claude-3-5-haiku-20241022-v1:0",
            "metrics": ["Builtin.Correctness", "Refusal"],
        },
    )
    cfg["mlflow"] = {
        "resourceArn": "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-1",
        "runName": "r",
    }
    inference, metrics = jobs(cfg, judge_models={"anthropic.claude-3-5-haiku-20241022-v1:0"})
    assert (inference["kind"], metrics["kind"], metrics["after"]) == (
        "inference",
        "metrics",
        inference["request"]["TrainingJobName"],
    )
    assert inference["request"]["InputDataConfig"] == [
        {"ChannelName": "train", "DataSource": {"DatasetSource": {"DatasetArn": wd.DATASET_ARN}}}
    ]
    assert inference["request"]["HyperParameters"] == {"name": "CustomInference", "task": "inference_only"}
    hp = metrics["request"]["HyperParameters"]
    assert metrics["request"]["ServerlessJobConfig"]["EvaluationType"] == "LLMAJEvaluation"
    assert json.loads(hp["llmaj_metrics"]) == ["Correctness", "Refusal"]
    assert hp["inference_data_s3_path"] == (
        f"s3://demo-output/out/{inference['request']['TrainingJobName']}/output/output/CustomInference/"
        "eval_results/inference_output.jsonl"
    )
    assert (
        hp["output_path"] == metrics["request"]["OutputDataConfig"]["S3OutputPath"] == "s3://demo-output/out"
    )
    assert "InputDataConfig" not in metrics["request"]
    assert metrics["request"]["MlflowConfig"] == {"MlflowResourceArn": cfg["mlflow"]["resourceArn"]}


def test_judge_outside_the_service_allow_list_is_rejected_with_the_list() -> None:
    cfg = config(
        dataset="s3://demo-data/eval.jsonl", judge={"modelId": "acme.judge-v1:0", "metrics": ["Correctness"]}
    )
    with pytest.raises(errors.InvalidJudgeModel, match="supported: a.b-v1:0") as raised:
        jobs(cfg, judge_models={"a.b-v1:0"})
    assert raised.value.field == "evaluation.judge.model_id"
    assert len(jobs(cfg, judge_models=None)) == 2  # the list could not be read: not checked, as in the SDK


def test_nova_uses_metric_and_rft_and_refuses_the_judge() -> None:
    nova = package(wd.NOVA)
    cfg = config(
        benchmarks=[{"name": "mmlu"}], dataset="s3://demo-data/e.jsonl", customScorer={"preset": "prime_math"}
    )
    bench, scorer = jobs(cfg, nova)
    assert bench["request"]["HyperParameters"]["metric"] == "accuracy"
    assert "evaluation_metric" not in bench["request"]["HyperParameters"]
    assert scorer["request"]["HyperParameters"]["lambda_type"] == "rft"
    with pytest.raises(errors.InvalidInput, match="only offered for Nova"):
        jobs(config(benchmarks=[{"name": "mmmu"}]))
    judge = config(
        dataset="s3://demo-data/eval.jsonl", judge={"modelId": "a.b-v1:0", "metrics": ["Correctness"]}
    )
    with pytest.raises(errors.InvalidJudgeModel, match="InspectAI"):
        jobs(judge, nova)


def test_custom_scorer_with_an_evaluator_turns_on_postprocessing() -> None:
    cfg = config(dataset="s3://demo-data/eval.jsonl", customScorer={"evaluatorArn": wd.EVALUATOR_ARN})
    [job] = jobs(cfg)
    req = job["request"]
    assert req["ServerlessJobConfig"]["EvaluatorArn"] == wd.EVALUATOR_ARN
    assert req["ServerlessJobConfig"]["EvaluationType"] == "CustomScorerEvaluation"
    hp = req["HyperParameters"]
    assert (hp["task"], hp["strategy"], hp["evaluation_metric"]) == ("gen_qa", "gen_qa", "all")
    assert (hp["postprocessing"], hp["aggregation"]) == ("True", "mean")
    assert "preset_reward_function" not in hp
    assert req["InputDataConfig"][0]["DataSource"] == {
        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://demo-data/eval.jsonl"}
    }


def test_reward_scorer_uses_the_projects_evaluator_or_fails_named() -> None:
    cfg = config(dataset="s3://demo-data/eval.jsonl", customScorer={"reward": True})
    cfg["evaluatorArn"] = wd.EVALUATOR_ARN
    [job] = jobs(cfg)
    assert job["request"]["ServerlessJobConfig"]["EvaluatorArn"] == wd.EVALUATOR_ARN
    cfg["evaluatorArn"] = None
    with pytest.raises(errors.RewardMissing) as raised:
        jobs(cfg)
    assert raised.value.field == "evaluation.custom_scorer.reward"


@pytest.mark.parametrize(
    ("evaluation", "error", "field"),
    [
        ({"benchmarks": [{"name": "nope"}]}, errors.InvalidInput, "evaluation.benchmarks.0"),
        (
            {"benchmarks": [{"name": "gpqa", "subtasks": ["x"]}]},
            errors.InvalidInput,
            "evaluation.subtasks.gpqa",
        ),
        (
            {"benchmarks": [{"name": "mmlu", "subtasks": ["nope"]}]},
            errors.InvalidInput,
            "evaluation.subtasks.mmlu",
        ),
        ({"customScorer": {"preset": "prime_math"}}, errors.InvalidInput, "evaluation.dataset"),
        (
            {"dataset": "ftp://x", "customScorer": {"preset": "prime_math"}},
            errors.InvalidInput,
            "evaluation.dataset",
        ),
        (
            {"dataset": "s3://demo-data/e.jsonl", "customScorer": {"preset": "x"}},
            errors.InvalidInput,
            "evaluation.custom_scorer",
        ),
        ({}, errors.InvalidInput, "evaluation"),
    ],
)
def test_malformed_evaluation_configuration_raises_named_errors(evaluation, error, field) -> None:
    with pytest.raises(error) as raised:
        jobs(config(**evaluation))
    assert raised.value.field == field


def test_packages_not_made_by_customization_are_refused() -> None:
    cfg = config(benchmarks=[{"name": "gpqa"}])
    for bad in (
        {"ModelPackageArn": PACKAGE},
        {"ModelPackageArn": PACKAGE, "InferenceSpecification": {"Containers": [{"Image": "x"}]}},
    ):
        with pytest.raises(errors.ModelNotFound, match="serverless customization"):
            jobs(cfg, bad)
    with pytest.raises(errors.InvalidInput, match="not a model package ARN"):
        jobs(cfg, {"ModelPackageArn": "arn:aws:sagemaker:us-east-1:1:model-package-group/x"})


def test_base_model_arn_from_the_package_or_a_private_hub() -> None:
    pinned = f"{wd.PUBLIC_MODEL_ARN}/{wd.LLAMA}/9.9.9"
    assert ec.base_model(package(HubContentArn=pinned)) == (wd.LLAMA, pinned)
    name, arn = ec.base_model(package(), hub="team-hub")
    assert arn == f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:hub-content/team-hub/Model/{wd.LLAMA}/1.0.4"


def test_evaluation_recipe_lookup_names_what_the_model_offers() -> None:
    document = {
        "RecipeCollection": [
            {"Type": "Evaluation", "EvaluationType": "LLMAJ", "SmtjOverrideParamsS3Uri": "s3://b/k"}
        ]
    }
    with pytest.raises(
        errors.UnsupportedTechnique, match="DeterministicEvaluation .* evaluation recipes: LLMAJ"
    ):
        ec.evaluation_recipe_uri(document, "DeterministicEvaluation", wd.ACCOUNT)
    document["RecipeCollection"].append(
        {
            "Type": "Evaluation",
            "EvaluationType": "DeterministicEvaluation",
            "SmtjOverrideParamsS3Uri": "s3://b/{customer_id}/p.json",
        }
    )
    assert (
        ec.evaluation_recipe_uri(document, "DeterministicEvaluation", wd.ACCOUNT)
        == f"s3://b/{wd.ACCOUNT}/p.json"
    )
    cfg = config(
        benchmarks=[{"name": "gpqa"}], dataset="s3://demo-data/e.jsonl", customScorer={"preset": "prime_math"}
    )
    assert ec.recipe_types(cfg, wd.LLAMA) == ["DeterministicEvaluation"]
    assert ec.recipe_types(cfg, wd.NOVA) == ["DeterministicTextBenchmark", "DeterministicEvaluation"]


def test_produced_metrics_name_what_the_gate_can_compare() -> None:
    evaluation = config(
        benchmarks=[{"name": "mmlu"}, {"name": "math"}],
        judge={"modelId": "a.b", "metrics": ["Builtin.Correctness"]},
        customScorer={"preset": "prime_math"},
    )["evaluation"]
    assert ec.produced_metrics(evaluation) == (
        {"mmlu/accuracy", "math/exact_match", "judge/Correctness"},
        {"custom_scorer"},
    )


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["mmlu", "s3://demo-data/e.jsonl"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
KEYS = st.sampled_from(
    [
        "dataset",
        "benchmarks",
        "judge",
        "customScorer",
        "gate",
        "name",
        "subtasks",
        "modelId",
        "metrics",
        "preset",
        "evaluatorArn",
        "reward",
    ]
)


@example({"customScorer": {"evaluatorArn": [None]}, "dataset": "s3://demo-data/e.jsonl"})
@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        KEYS,
        JSON
        | st.dictionaries(KEYS, JSON, max_size=3)
        | st.lists(st.dictionaries(KEYS, JSON, max_size=2), max_size=2),
        max_size=5,
    )
)
def test_malformed_configuration_never_crashes(evaluation) -> None:
    """Whatever the baked block holds, the builder answers requests or a named PreflightError."""
    try:
        for job in er.build_evaluation_jobs(config(**evaluation), package(), SPECS, "run-1"):
            validate_parameters(job["request"], SHAPE)
    except errors.PreflightError as exc:
        assert exc.field and exc.field.startswith(("evaluation", "config"))


PACKAGED = """
import json, sys
from runtime import evaluation_inputs, evaluation_request, evaluation_results
config = json.loads(sys.argv[1])
package = json.loads(sys.argv[2])
jobs = evaluation_request.build_evaluation_jobs(config, package, {}, "run-1")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "aws_cdk", "cdk_sagemaker_finetuning"))
print(json.dumps({"jobs": len(jobs), "loaded": loaded}))
"""


def test_runtime_modules_run_from_the_lambda_package_with_stdlib_and_boto3_only(tmp_path) -> None:
    runtime = Path(er.__file__).resolve().parent
    (tmp_path / "runtime").mkdir()
    for source in runtime.glob("*.py"):  # as the asset stages them: the package ``runtime``
        shutil.copy(source, tmp_path / "runtime" / source.name)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    cfg = config(
        benchmarks=[{"name": "gpqa"}], dataset="s3://demo-data/e.jsonl", customScorer={"preset": "prime_math"}
    )
    answer = subprocess.run(
        [sys.executable, "-s", "-c", PACKAGED, json.dumps(cfg), json.dumps(package())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(answer.stdout) == {"jobs": 2, "loaded": []}


def test_base_model_jobs_evaluate_the_pinned_hub_model_without_the_package() -> None:
    cfg = config(
        dataset="s3://demo-data/e.jsonl",
        benchmarks=[{"name": "gpqa"}],
        judge={"modelId": "a.b-v1:0", "metrics": ["Correctness"]},
    )
    package_jobs = jobs(cfg)
    base_jobs = er.build_evaluation_jobs(cfg, package(), SPECS, "nightly-3", base_model=True)
    assert [j["model"] for j in package_jobs] == ["package"] * 3 and [j["model"] for j in base_jobs] == [
        "base"
    ] * 3
    assert [j["request"]["TrainingJobName"] for j in base_jobs] == [
        "demo-nightly-3-eval-base-gpqa",
        "demo-nightly-3-eval-base-judge-inference",
        "demo-nightly-3-eval-base-judge",
    ]
    for mine, base in zip(package_jobs, base_jobs, strict=True):
        validate_parameters(base["request"], SHAPE)
        assert "ModelPackageConfig" not in base["request"]
        assert base["request"]["ServerlessJobConfig"] == mine["request"]["ServerlessJobConfig"]
    assert base_jobs[1]["request"]["HyperParameters"]["name"] == "BaseInference"
    assert (
        "/BaseInference/eval_results/" in base_jobs[2]["request"]["HyperParameters"]["inference_data_s3_path"]
    )
