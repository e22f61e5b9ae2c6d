"""Evaluation results: the reader (runtime/evaluation_results.py) and cdk-finetune evaluation, via Stubber."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.response import StreamingBody

from cdk_sagemaker_finetuning.runtime import errors
from cdk_sagemaker_finetuning.runtime import evaluation_results as results

PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/support-sft/3"
BASELINE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/support-sft/2"
OUTPUT = "s3://support-output/eval/"
T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
BENCHMARK_RESULTS = {
    "results": {"all": {"accuracy": 0.612, "accuracy_stderr": 0.01, "note": "x", "ok": True}}
}
SCORER_RESULTS = {"results": {"all": {}, "custom|gen_qa_gen_qa|0": {"reward_score": 0.75}}}
JUDGE_RESULTS = {
    "results": {"Builtin.Correctness": {"score": 0.8, "total_evaluations": 10}, "Helpfulness": {"score": 0.7}}
}


def job(
    name: str, evaluation_type: str, task: str = "mmlu", package: str = PACKAGE, status: str = "Completed"
) -> dict:
    return {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
        "TrainingJobStatus": status,
        "SecondaryStatus": status,
        "CreationTime": T0,
        "ModelArtifacts": {"S3ModelArtifacts": "s3://x/"},
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "HyperParameters": {"task": task},
        "OutputDataConfig": {"S3OutputPath": OUTPUT, "CompressionType": "NONE"},
        "ModelPackageConfig": {
            "ModelPackageGroupArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/support-sft",
            "SourceModelPackageArn": package,
        },
        "ServerlessJobConfig": {
            "BaseModelArn": "arn:aws:sagemaker:us-east-1:aws:hub-content/SageMakerPublicHub/Model/m/1.0.0",
            "JobType": "Evaluation",
            "EvaluationType": evaluation_type,
        },
    }


def body(document: Any) -> dict:
    data = json.dumps(document).encode()
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentLength": len(data)}


def stub_results(s3, name: str, key: str, document: Any) -> None:
    prefix = f"eval/{name}/output/output/"
    listed = [
        {"Key": f"{prefix}run/eval_results/details.jsonl", "Size": 1},
        {"Key": f"{prefix}{key}", "Size": 1},
    ]
    s3.add_response(
        "list_objects_v2", {"Contents": listed, "KeyCount": 2}, {"Bucket": "support-output", "Prefix": prefix}
    )
    s3.add_response("get_object", body(document), {"Bucket": "support-output", "Key": f"{prefix}{key}"})


# -- the reader -----------------------------------------------------------------------------------------------


def test_benchmark_scorer_and_judge_layouts_become_evaluation_metric_keys() -> None:
    assert results.parse_results(BENCHMARK_RESULTS, "mmlu", "benchmark", source="f") == {
        "mmlu/accuracy": 0.612,
        "mmlu/accuracy_stderr": 0.01,
    }
    assert results.parse_results(SCORER_RESULTS, "custom_scorer", "scorer", source="f") == {
        "custom_scorer/reward_score": 0.75
    }
    assert results.parse_results(JUDGE_RESULTS, "judge", "metrics", source="f") == {
        "judge/Correctness": 0.8,
        "judge/Helpfulness": 0.7,
    }


@pytest.mark.parametrize(
    ("document", "kind", "expected"),
    [
        ({"results": {}}, "benchmark", "'results': {'all'"),
        ([1, 2], "benchmark", "'results': {'all'"),
        ({"results": {"Correctness": 0.8}}, "metrics", "{'score': <number>}"),
        ({"scores": []}, "metrics", "{'score': <number>}"),
    ],
)
def test_unexpected_layouts_name_the_file_and_the_keys_expected(document, kind, expected) -> None:
    with pytest.raises(errors.EvaluationResultsUnreadable) as raised:
        results.parse_results(document, "x", kind, source="s3://b/k/results_1.json")
    assert raised.value.message.startswith("s3://b/k/results_1.json has no scores")
    assert expected in raised.value.message


def test_job_kinds_and_results_keys() -> None:
    assert results.job_evaluation(job("a", "BenchmarkEvaluation", "gpqa")) == ("gpqa", "benchmark")
    assert results.job_evaluation(job("a", "BenchmarkEvaluation", "inference_only")) == ("judge", "inference")
    assert results.job_evaluation(job("a", "LLMAJEvaluation")) == ("judge", "metrics")
    assert results.job_evaluation(job("a", "CustomScorerEvaluation")) == ("custom_scorer", "scorer")
    training = {**job("a", "BenchmarkEvaluation"), "ServerlessJobConfig": {"JobType": "FineTuning"}}
    with pytest.raises(errors.InvalidInput, match="not an evaluation job"):
        results.job_evaluation(training)
    keys = ["p/x.json", "p/r/results_2026.json", "p/b/bedrock_llm_judge_results.json"]
    assert results.results_key(keys, "benchmark") == "p/r/results_2026.json"
    assert results.results_key(keys, "metrics") == "p/b/bedrock_llm_judge_results.json"
    assert results.results_prefix("s3://b/out", "j") == ("b", "out/j/output/output/")


# -- the command ----------------------------------------------------------------------------------------------


def test_job_scores_as_a_table(stubs, run) -> None:
    sagemaker, s3 = stubs("sagemaker"), stubs("s3")
    sagemaker.add_response(
        "describe_training_job", job("e-mmlu", "BenchmarkEvaluation"), {"TrainingJobName": "e-mmlu"}
    )
    stub_results(s3, "e-mmlu", "run/eval_results/results_2026-11-22.json", BENCHMARK_RESULTS)

    result = run("evaluation", "e-mmlu", "--region", "us-east-1")

    assert result.code == 0, result.err
    assert "mmlu/accuracy         0.6120" in result.out
    assert "mmlu/accuracy_stderr  0.0100" in result.out
    assert (
        "s3://support-output/eval/e-mmlu/output/output/run/eval_results/results_2026-11-22.json" in result.out
    )


def _list(sagemaker, names_and_status: list[tuple[str, str]]) -> None:
    summaries = [
        {
            "TrainingJobName": n,
            "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{n}",
            "CreationTime": T0,
            "TrainingJobStatus": s,
        }
        for n, s in names_and_status
    ]
    sagemaker.add_response(
        "list_training_jobs",
        {"TrainingJobSummaries": summaries},
        {"NameContains": "-eval-", "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 100},
    )


def test_package_scores_side_by_side_with_a_reference_and_a_plot(stubs, run, tmp_path) -> None:
    sagemaker, s3 = stubs("sagemaker"), stubs("s3")
    _list(
        sagemaker,
        [
            ("p3-eval-judge", "Completed"),
            ("p3-eval-judge-inference", "Completed"),
            ("p2-eval-judge", "Completed"),
            ("p3-eval-gpqa", "Failed"),
        ],
    )
    sagemaker.add_response(
        "describe_training_job", job("p3-eval-judge", "LLMAJEvaluation"), {"TrainingJobName": "p3-eval-judge"}
    )
    inference = job("p3-eval-judge-inference", "BenchmarkEvaluation", "inference_only")
    sagemaker.add_response("describe_training_job", inference, {"TrainingJobName": "p3-eval-judge-inference"})
    other = job("p2-eval-judge", "LLMAJEvaluation", package=BASELINE)
    sagemaker.add_response("describe_training_job", other, {"TrainingJobName": "p2-eval-judge"})
    stub_results(s3, "p3-eval-judge", "bedrock-job-1/bedrock_llm_judge_results.json", JUDGE_RESULTS)
    _list(sagemaker, [("p2-eval-judge", "Completed")])
    sagemaker.add_response("describe_training_job", other, {"TrainingJobName": "p2-eval-judge"})
    stub_results(
        s3,
        "p2-eval-judge",
        "bedrock-job-0/bedrock_llm_judge_results.json",
        {"results": {"Correctness": {"score": 0.5}}},
    )
    png = tmp_path / "scores.png"

    result = run("evaluation", PACKAGE, "--compare", BASELINE, "--plot", str(png), "--region", "us-east-1")

    assert result.code == 0, result.err
    assert "judge/Correctness  0.8000  0.5000     +0.3000" in result.out
    assert "judge/Helpfulness  0.7000  -          -" in result.out
    assert png.read_bytes().startswith(b"\x89PNG")


def test_errors_are_one_line_with_exit_codes(stubs, run) -> None:
    sagemaker, s3 = stubs("sagemaker"), stubs("s3")
    sagemaker.add_response(
        "describe_training_job",
        job("e1", "BenchmarkEvaluation", status="InProgress"),
        {"TrainingJobName": "e1"},
    )
    running = run("evaluation", "e1", "--region", "us-east-1")
    assert (running.code, running.flat_err) == (
        1,
        "error: training job e1 is InProgress: scores exist once it has Completed",
    )

    sagemaker.add_client_error(
        "describe_training_job", "ValidationException", "Requested resource not found."
    )
    missing = run("evaluation", "nope", "--region", "us-east-1")
    assert (missing.code, missing.flat_err) == (2, "error: training job 'nope' does not exist")

    sagemaker.add_response(
        "describe_training_job", job("e2", "BenchmarkEvaluation"), {"TrainingJobName": "e2"}
    )
    s3.add_response(
        "list_objects_v2", {"KeyCount": 0}, {"Bucket": "support-output", "Prefix": "eval/e2/output/output/"}
    )
    unreadable = run("evaluation", "e2", "--region", "us-east-1")
    assert unreadable.code == 1
    assert "no results_*.json under s3://support-output/eval/e2/output/output/" in unreadable.flat_err

    _list(sagemaker, [])
    none = run("evaluation", PACKAGE, "--region", "us-east-1")
    assert none.code == 2 and "no completed evaluation job" in none.flat_err
    assert "Traceback" not in running.err + missing.err + unreadable.err + none.err

    bad = run("evaluation", "e1", "--plot", "scores.svg", "--region", "us-east-1")
    assert bad.code == 2 and "only PNG" in bad.flat_err


def test_the_judge_inference_job_points_at_its_metrics_job(stubs, run) -> None:
    sagemaker = stubs("sagemaker")
    stubs("s3")
    inference = job("p3-eval-judge-inference", "BenchmarkEvaluation", "inference_only")
    sagemaker.add_response("describe_training_job", inference, {"TrainingJobName": "p3-eval-judge-inference"})
    result = run("evaluation", "p3-eval-judge-inference", "--region", "us-east-1")
    assert result.code == 2 and "its scores are in the metrics job" in result.flat_err
