"""Read the scores an evaluation job writes, as ``{"<evaluation>/<metric>": value}`` (standard library + a client).

Layout, as the SDK's ``sagemaker/train/common_utils/show_results_utils.py`` reads it, under
``<S3OutputPath>/<job name>/output/output/``:

* benchmark and custom scorer jobs: the first ``results_*.json``; its ``results`` object holds the metrics under
  ``all`` (benchmarks) or under the first non-empty task key (``custom|gen_qa_gen_qa|0``, custom scorer);
* LLM-as-judge metrics jobs: ``<bedrock job>/.../bedrock_llm_judge_results.json`` whose ``results`` maps each
  metric to ``{"score": ...}``; judge metric names lose their ``Builtin.`` prefix.

AWS has not documented these files; anything else raises ``PreflightError.EvaluationResultsUnreadable``
naming the file and the keys expected. Non-numeric values (and booleans) are skipped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from . import errors, request
from . import evaluation_catalog as catalog

JUDGE_RESULTS_FILE = "bedrock_llm_judge_results.json"


def job_evaluation(job: Mapping[str, Any]) -> tuple[str, str]:
    """``(evaluation name, kind)`` of a ``DescribeTrainingJob`` answer; kind ``inference`` has no scores."""
    serverless = job.get("ServerlessJobConfig") or {}
    hyperparameters = job.get("HyperParameters") or {}
    evaluation_type = serverless.get("EvaluationType")
    if serverless.get("JobType") != "Evaluation" or not evaluation_type:
        raise errors.InvalidInput(
            f"training job {job.get('TrainingJobName')} is not an evaluation job "
            f"(ServerlessJobConfig.JobType {serverless.get('JobType')!r})",
            field="job",
        )
    if evaluation_type == "LLMAJEvaluation":
        return catalog.JUDGE, "metrics"
    if evaluation_type == "CustomScorerEvaluation":
        return catalog.CUSTOM_SCORER, "scorer"
    task = str(hyperparameters.get("task") or "benchmark")
    return (catalog.JUDGE, "inference") if task == "inference_only" else (task, "benchmark")


def results_prefix(output_uri: str, job_name: str) -> tuple[str, str]:
    """``(bucket, key prefix)`` under which the job's results are written."""
    bucket, key = request.split_s3_uri(output_uri)
    base = key.rstrip("/")
    return bucket, f"{base}/{job_name}/output/output/" if base else f"{job_name}/output/output/"


def results_key(keys: Iterable[str], kind: str) -> str | None:
    """The results file among the job's output keys (the first match, as the SDK picks it)."""
    for key in keys:
        name = key.rsplit("/", 1)[-1]
        if kind == "metrics" and name == JUDGE_RESULTS_FILE:
            return key
        if kind != "metrics" and name.startswith("results_") and name.endswith(".json"):
            return key
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def parse_results(document: Any, evaluation: str, kind: str, *, source: str) -> dict[str, float]:
    """Scores of one results document; ``source`` (its S3 URI or path) is named in errors."""
    if kind == "inference":
        return {}
    results = document.get("results") if isinstance(document, Mapping) else None
    if kind == "metrics":
        expected = "'results': {<metric>: {'score': <number>}}"
        scores = {}
        for metric, entry in (results or {}).items() if isinstance(results, Mapping) else ():
            score = _number(entry.get("score")) if isinstance(entry, Mapping) else None
            if score is not None:
                scores[f"{evaluation}/{str(metric).removeprefix('Builtin.')}"] = score
    else:
        expected = "'results': {'all': {<metric>: <number>}} or {'<task>': {<metric>: <number>}}"
        metrics: Any = None
        if isinstance(results, Mapping):
            metrics = results.get("all") or next(
                (v for v in results.values() if isinstance(v, Mapping) and v), None
            )
        scores = {}
        for metric, value in (metrics or {}).items() if isinstance(metrics, Mapping) else ():
            number = _number(value)
            if number is not None:
                scores[f"{evaluation}/{metric}"] = number
    if not scores:
        raise errors.EvaluationResultsUnreadable(
            f"{source} has no scores: expected {expected} (the layout the SageMaker SDK reads; unconfirmed by AWS)",
            field="results",
        )
    return scores


def read_job_scores(s3: Any, job: Mapping[str, Any]) -> tuple[dict[str, float], str | None]:
    """``(scores, results file URI)`` of a finished evaluation job (``DescribeTrainingJob`` answer)."""
    evaluation, kind = job_evaluation(job)
    if kind == "inference":
        return {}, None
    output = (job.get("OutputDataConfig") or {}).get("S3OutputPath")
    if not output:
        raise errors.InvalidInput(
            f"training job {job.get('TrainingJobName')} has no S3OutputPath", field="job"
        )
    bucket, prefix = results_prefix(output, str(job.get("TrainingJobName")))
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    ]
    key = results_key(keys, kind)
    wanted = JUDGE_RESULTS_FILE if kind == "metrics" else "results_*.json"
    if key is None:
        raise errors.EvaluationResultsUnreadable(
            f"no {wanted} under s3://{bucket}/{prefix} (the job may not have finished)", field="results"
        )
    uri = f"s3://{bucket}/{key}"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise errors.EvaluationResultsUnreadable(f"{uri} is not JSON: {exc}", field="results") from None
    return parse_results(document, evaluation, kind, source=uri), uri
