"""``cdk-finetune evaluation PACKAGE_ARN|JOB``: the scores of a model's evaluation jobs, as an 80-column table.

A job name reads that job's results; a model package ARN finds its completed evaluation jobs (names containing
``-eval-``, as ``plan --evaluation`` and the workflow name them, among the newest ``--max-jobs`` training jobs)
and keeps the newest per evaluation. Scores are read by ``runtime/evaluation_results.py``; ``--compare`` puts a
reference model's scores side by side; ``--plot`` writes a bar chart (needs ``matplotlib``).
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from ..runtime import errors, evaluation_config, evaluation_results
from . import _aws, _term
from .metrics import optional_module

EVAL_NAME_PART = "-eval-"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluation",
        help="show the evaluation scores of a model package or an evaluation job",
        description="Read the results files of serverless evaluation jobs and show every score as "
        "<evaluation>/<metric>. TARGET is an evaluation training job name or a model package ARN.",
    )
    parser.add_argument("target", metavar="PACKAGE_ARN|JOB", help="model package ARN or evaluation job name")
    parser.add_argument(
        "--compare", metavar="PACKAGE_ARN|JOB", help="a reference model's scores, side by side"
    )
    parser.add_argument(
        "--plot", metavar="PNG", help="also write a bar chart of the scores (needs matplotlib)"
    )
    parser.add_argument(
        "--max-jobs",
        type=int,
        default=100,
        metavar="N",
        help="newest training jobs searched for a package (100)",
    )
    _aws.add_aws_options(parser)
    parser.set_defaults(handler=run)


def _is_package(target: str) -> bool:
    return ":model-package/" in target


def _describe(sagemaker: Any, name: str) -> dict[str, Any]:
    try:
        return sagemaker.describe_training_job(TrainingJobName=name)
    except _aws.ClientError as exc:
        if _aws.is_not_found(exc):
            raise _aws.CommandError(f"training job {name!r} does not exist", _aws.INVALID) from None
        raise


def package_jobs(sagemaker: Any, package_arn: str, max_jobs: int) -> list[dict[str, Any]]:
    """The package's completed evaluation jobs, newest first, one per evaluation and kind."""
    evaluation_config.model_group_arn(package_arn)  # a well-formed package ARN, or InvalidInput
    summaries: list[dict[str, Any]] = []
    params: dict[str, Any] = {
        "NameContains": EVAL_NAME_PART,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": min(100, max_jobs),
    }
    while len(summaries) < max_jobs:
        page = sagemaker.list_training_jobs(**params)
        summaries.extend(page.get("TrainingJobSummaries", []))
        if not page.get("NextToken"):
            break
        params["NextToken"] = page["NextToken"]
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for summary in summaries[:max_jobs]:
        if summary.get("TrainingJobStatus") != "Completed":
            continue
        job = _describe(sagemaker, summary["TrainingJobName"])
        if (job.get("ModelPackageConfig") or {}).get("SourceModelPackageArn") != package_arn:
            continue
        try:
            key = evaluation_results.job_evaluation(job)
        except errors.PreflightError:
            continue
        found.setdefault(key, job)
    return list(found.values())


def scores_of(args: argparse.Namespace, target: str) -> tuple[dict[str, float], list[str]]:
    """``(scores, results file URIs)`` of a package or a job."""
    sagemaker, s3 = _aws.client(args, "sagemaker"), _aws.client(args, "s3")
    if _is_package(target):
        jobs = package_jobs(sagemaker, target, args.max_jobs)
        if not jobs:
            raise _aws.CommandError(
                f"no completed evaluation job (name containing {EVAL_NAME_PART!r}) of {target} among the "
                f"newest {args.max_jobs} training jobs; pass a job name or a larger --max-jobs",
                _aws.INVALID,
            )
    else:
        jobs = [_describe(sagemaker, target)]
        status = jobs[0].get("TrainingJobStatus")
        if evaluation_results.job_evaluation(jobs[0])[1] == "inference":
            raise _aws.CommandError(
                f"{target} is an LLM-as-judge inference job: its scores are in the metrics job that follows it "
                "(the same name without '-inference')",
                _aws.INVALID,
            )
        if status != "Completed":
            raise _aws.CommandError(f"training job {target} is {status}: scores exist once it has Completed")
    scores: dict[str, float] = {}
    files = []
    for job in jobs:
        job_scores, uri = evaluation_results.read_job_scores(s3, job)
        scores.update(job_scores)
        if uri:
            files.append(uri)
    return scores, files


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def render(scores: dict[str, float], reference: dict[str, float] | None) -> str:
    """The scores table, with reference and delta columns when a reference is given."""
    metrics = sorted(set(scores) | set(reference or {}))
    if reference is None:
        return _term.table(["Metric", "Score"], [[m, _value(scores.get(m))] for m in metrics])
    rows = []
    for metric in metrics:
        mine, theirs = scores.get(metric), reference.get(metric)
        delta = f"{mine - theirs:+.4f}" if mine is not None and theirs is not None else "-"
        rows.append([metric, _value(mine), _value(theirs), delta])
    return _term.table(["Metric", "Score", "Reference", "Delta"], rows)


def plot(scores: dict[str, float], reference: dict[str, float] | None, path: str) -> None:
    matplotlib = optional_module("matplotlib")
    if matplotlib is None:
        raise _aws.CommandError("--plot needs matplotlib: pip install matplotlib")
    matplotlib.use("Agg")
    pyplot = importlib.import_module("matplotlib.pyplot")
    metrics = sorted(set(scores) | set(reference or {}))
    positions = range(len(metrics))
    figure, axis = pyplot.subplots(figsize=(max(6, 1.2 * len(metrics)), 4))
    width = 0.4 if reference is not None else 0.8
    axis.bar(
        [p - (width / 2 if reference is not None else 0) for p in positions],
        [scores.get(m, 0.0) for m in metrics],
        width,
        label="model",
    )
    if reference is not None:
        axis.bar(
            [p + width / 2 for p in positions],
            [reference.get(m, 0.0) for m in metrics],
            width,
            label="reference",
        )
        axis.legend()
    axis.set_xticks(list(positions), metrics, rotation=30, ha="right")
    axis.set_ylabel("score")
    figure.tight_layout()
    figure.savefig(path, format="png")
    pyplot.close(figure)


@_aws.friendly_errors
def run(args: argparse.Namespace) -> int:
    if args.plot and not args.plot.lower().endswith(".png"):
        raise _aws.CommandError(f"--plot {args.plot!r}: only PNG files are written (use a .png name).", 2)
    if args.max_jobs < 1:
        raise _aws.CommandError(f"--max-jobs {args.max_jobs} must be at least 1", _aws.INVALID)
    try:
        scores, files = scores_of(args, args.target)
        reference, reference_files = scores_of(args, args.compare) if args.compare else (None, [])
    except errors.PreflightError as exc:
        raise _aws.CommandError(
            exc.message, _aws.INVALID if exc.field == "modelPackageArn" else _aws.FAILED
        ) from None
    print(_term.field("Evaluation of", args.target))
    if args.compare:
        print(_term.field("Reference", args.compare))
    print()
    print(render(scores, reference))
    print()
    print("Results files:")
    for uri in files + reference_files:
        print(uri if len(uri) + 2 > _term.WIDTH else f"  {uri}")
    if args.plot:
        plot(scores, reference, args.plot)
        print(_term.field("Plot", args.plot))
    return 0
