"""``cdk-finetune metrics JOB``: a training job's technique metrics per step, from its MLflow run.

The job's ``MlflowConfig.MlflowResourceArn`` is the tracking URI (``--tracking-uri`` reads another server, e.g.
a plain ``http://`` one) and ``MlflowDetails.MlflowRunId`` the run. Reading MLflow needs the optional ``mlflow``
package, plus the ``sagemaker-mlflow`` plugin for a SageMaker ARN (it resolves the ARN and signs the
requests); ``--plot`` needs ``matplotlib``. None is a dependency of this library: without them the command says
what to install. Nova jobs log metrics to CloudWatch Logs instead of MLflow.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
from types import ModuleType
from typing import Any

from . import _aws, _term, runs

#: Technique -> (summary metrics, plotted/tabulated metrics).
TECHNIQUE_METRICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "SFT": (("total_loss", "val_eval_total_loss"), ("total_loss", "val_eval_total_loss")),
    "DPO": (
        ("rewards/margins",),
        ("loss_per_batch", "rewards/chosen", "rewards/rejected", "rewards/margins", "acc_per_batch"),
    ),
    "RLVR": (
        ("critic/rewards/mean",),
        (
            "critic/rewards/mean",
            "response_length/mean",
            "actor/entropy_loss",
            "actor/grad_norm",
            "critic/advantages/mean",
        ),
    ),
}
TECHNIQUE_METRICS["RLAIF"] = TECHNIQUE_METRICS["RLVR"]
#: RLVR validation metrics: ``val-core/{data_source}/reward(/acc)/mean@{k}``. MLflow refuses ``@`` in metric
#: names, so verl's MLflow logger writes ``mean_at_{k}``; both spellings are shown.
RLVR_VALIDATION = re.compile(r"^val-core/.+/reward(/acc)?/mean(@|_at_)\d+$")
METRICS_PER_TABLE = 4
VALUE_WIDTH = 10
INSTALL_MLFLOW = "pip install mlflow sagemaker-mlflow"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help="show a training job's metrics per step (from MLflow)",
        description="Show the technique's metrics (losses, rewards) per step from the job's MLflow run, as "
        "tables, and optionally as a PNG plot. Needs the optional mlflow package.",
    )
    parser.add_argument("job", help="training job name")
    parser.add_argument(
        "--all", action="store_true", help="every metric of the run, not only the technique's"
    )
    parser.add_argument("--rows", type=int, default=20, metavar="N", help="steps to show per table (20)")
    parser.add_argument("--plot", metavar="PNG", help="also write a plot of the metrics (needs matplotlib)")
    parser.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="MLflow tracking server to read instead of the job's MlflowResourceArn "
        "(e.g. http://127.0.0.1:5000 for a self-hosted or port-forwarded server)",
    )
    _aws.add_aws_options(parser)
    parser.set_defaults(handler=run)


def optional_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def metric_names(technique: str, available: list[str], everything: bool) -> list[str]:
    """The technique's metrics present in the run (or all of them), in the documented order."""
    if everything:
        return sorted(available)
    wanted = list(TECHNIQUE_METRICS.get(technique, ((), ()))[1])
    if technique == "RLVR":
        wanted += sorted(name for name in available if RLVR_VALIDATION.match(name))
    return [name for name in wanted if name in available]


def sampled(steps: list[int], rows: int) -> list[int]:
    """At most ``rows`` steps, evenly spread, always keeping the first and the last."""
    if len(steps) <= rows:
        return steps
    if rows < 2:
        return steps[-1:]
    return sorted({steps[round(i * (len(steps) - 1) / (rows - 1))] for i in range(rows)})


def tables(histories: dict[str, dict[int, float]], rows: int) -> list[str]:
    """Tables of up to four metrics by step; metric names too long for 80 columns become a numbered legend."""
    names = list(histories)
    blocks = []
    for start in range(0, len(names), METRICS_PER_TABLE):
        chunk = names[start : start + METRICS_PER_TABLE]
        steps = sorted({step for name in chunk for step in histories[name]})
        body = [
            [step, *(_number(histories[name].get(step)) for name in chunk)] for step in sampled(steps, rows)
        ]
        width = len("step") + sum(max(len(name), VALUE_WIDTH) + 2 for name in chunk)
        if width <= _term.WIDTH:
            blocks.append(_term.table(("step", *chunk), body))
            continue
        legend = [f"({start + i + 1}) {name}" for i, name in enumerate(chunk)]
        headers = [f"({start + i + 1})" for i in range(len(chunk))]
        blocks.append("\n".join([*legend, _term.table(("step", *headers), body)]))
    return blocks


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def tracking_client(mlflow: ModuleType, tracking: str) -> Any:
    """An ``MlflowClient`` for ``tracking``, which also becomes the global tracking URI: the sagemaker-mlflow
    plugin's request header provider reads that one (not the client's) to add the ARN routing header."""
    mlflow.set_tracking_uri(tracking)
    if not tracking.startswith("arn:"):
        # That provider runs for every URI and logs a warning when the URI is not a SageMaker ARN.
        logging.getLogger("mlflow.tracking.request_header.registry").setLevel(logging.ERROR)
    return mlflow.MlflowClient(tracking_uri=tracking)


def read_run(
    mlflow: ModuleType, tracking: str, run_id: str, technique: str, everything: bool
) -> tuple[list[str], dict[str, dict[int, float]]]:
    """The run's metric names and the history (step -> value) of each metric to show."""
    try:
        client = tracking_client(mlflow, tracking)
        available = list(client.get_run(run_id).data.metrics)
        return available, {
            name: {int(m.step): float(m.value) for m in client.get_metric_history(run_id, name)}
            for name in metric_names(technique, available, everything)
        }
    except Exception as exc:  # MlflowException, auth and HTTP errors: report them, never a traceback
        raise _aws.CommandError(f"MLflow request failed ({type(exc).__name__}): {exc}") from None


@_aws.friendly_errors
def run(args: argparse.Namespace) -> int:
    if args.plot and not args.plot.lower().endswith(".png"):
        raise _aws.CommandError(f"--plot {args.plot!r}: only PNG files are written (use a .png name).", 2)
    job = runs.describe_job(args, args.job)
    serverless = job.get("ServerlessJobConfig") or {}
    technique = str(serverless.get("CustomizationTechnique", "")).upper()
    tracking = args.tracking_uri or (job.get("MlflowConfig") or {}).get("MlflowResourceArn")
    run_id = (job.get("MlflowDetails") or {}).get("MlflowRunId")
    print(
        _term.field(
            "Training job",
            f"{args.job} ({technique or 'technique unknown'}, {job.get('TrainingJobStatus', '?')})",
            12,
        )
    )
    if "nova" in str(serverless.get("BaseModelArn", "")):
        raise _aws.CommandError(
            "Nova jobs write metrics to CloudWatch Logs (log group /aws/sagemaker/TrainingJobs, "
            f"streams {args.job}/...), not to MLflow."
        )
    if not tracking or not run_id:
        raise _aws.CommandError(
            "The job has no MLflow run (no MlflowConfig, or the run has not started yet); metrics are only "
            "available through MLflow."
        )
    mlflow = optional_module("mlflow")
    if mlflow is None:
        print(_term.field("MLflow run", run_id, 12))
        print("Tracking server:")
        print(tracking)
        raise _aws.CommandError(f"Reading metrics needs the optional mlflow package: {INSTALL_MLFLOW}")
    if tracking.startswith("arn:") and optional_module("sagemaker_mlflow") is None:
        raise _aws.CommandError(
            "Reading a SageMaker MLflow ARN needs the sagemaker-mlflow plugin: pip install sagemaker-mlflow "
            "(or pass --tracking-uri for a server MLflow reaches directly)"
        )
    available, histories = read_run(mlflow, tracking, run_id, technique, args.all)
    if not histories:
        print(
            _term.wrap(
                f"No {technique} metrics in MLflow run {run_id} yet (the run has: "
                f"{', '.join(sorted(available)) or 'nothing'})."
            )
        )
        return 0
    summary = [n for n in TECHNIQUE_METRICS.get(technique, ((), ()))[0] if histories.get(n)]
    if summary:
        latest = ", ".join(f"{n}={_number(histories[n][max(histories[n])])}" for n in summary)
        print(_term.wrap(f"Latest: {latest}", "", "  "))
    for block in tables(histories, args.rows):
        print()
        print(block)
    if args.plot:
        return plot(histories, args.plot, f"{args.job} ({technique})")
    return 0


def plot(histories: dict[str, dict[int, float]], path: str, title: str) -> int:
    """One panel per metric; PNG only. Exit code 1 when matplotlib is missing."""
    matplotlib = optional_module("matplotlib")
    if matplotlib is None:
        raise _aws.CommandError("--plot needs matplotlib: pip install matplotlib")
    matplotlib.use("Agg")
    pyplot = importlib.import_module("matplotlib.pyplot")
    figure, axes = pyplot.subplots(len(histories), 1, figsize=(8, 2.5 * len(histories)), squeeze=False)
    for axis, (name, points) in zip(axes[:, 0], histories.items(), strict=True):
        steps = sorted(points)
        axis.plot(steps, [points[s] for s in steps])
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("step")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, format="png")
    pyplot.close(figure)
    print("\n" + _term.wrap(f"Plot written to {path}"))
    return 0
