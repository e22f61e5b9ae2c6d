"""cdk-finetune metrics: DescribeTrainingJob via Stubber, metrics from a real MLflow tracking server.

The module starts a real MLflow tracking server once (the installed package, SQLite store in a temporary
folder, 127.0.0.1 on a free port), logs each test's technique metrics into a run with the real MLflow client
over HTTP, and points the job at it: ``MlflowDetails.MlflowRunId`` is that run,
``MlflowConfig.MlflowResourceArn`` a SageMaker ARN (the API accepts nothing else) and ``--tracking-uri`` the
local server.

The server is ``mlflow_server.py`` next to this file: MLflow's Flask app (``mlflow.server.app``, the tracking
REST handlers every ``mlflow server`` flavour serves) after ``initialize_backend_stores`` creates and migrates
the store, served by werkzeug in one dedicated process. ``mlflow server`` costs ~8.5 CPU-s to start and stop:
its CLI process imports MLflow and migrates the store, then uvicorn imports MLflow and the FastAPI app again in
a second process. This one process costs ~3.5 CPU-s, and SIGTERM ends it at once. Not in the test process:
MLflow's server code sets the process's global tracking and registry URIs to the SQLite store, which the
commands under test read. MLflow, its plugin and Pillow are imported when the module's tests run, not at
collection (every test worker collects every module; one runs these).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

from cdk_sagemaker_finetuning.commands import metrics

JOB = "llama-sft-1"
TRACKING = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-ABC"
T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
SERVER_START_SECONDS = 180


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(uri: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"mlflow server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(
        f"mlflow server not healthy after {SERVER_START_SECONDS} s:\n{log.read_text()[-3000:]}"
    )


@pytest.fixture(scope="module", autouse=True)
def mlflow() -> ModuleType:
    """MLflow, imported before any test hides it or its SageMaker plugin (``import mlflow`` registers the
    plugin's stores once), in the worker that runs this module rather than at collection."""
    import mlflow

    return mlflow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MLflow tracking server for this module (``mlflow_server.py``); stopped afterwards."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"http://127.0.0.1:{free_port()}"
    log = root / "server.log"
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    command = [sys.executable, str(Path(__file__).with_name("mlflow_server.py")), "127.0.0.1"]
    command += [uri.rsplit(":", 1)[1], f"sqlite:///{root / 'mlflow.db'}", str(root / "artifacts")]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        wait_until_healthy(uri, process, log)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
            yield uri
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


@pytest.fixture
def log_run(
    mlflow: ModuleType, server: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
):
    """``log_run({"total_loss": [(step, value), ...]})`` logs a run on the server and returns its id.

    What the logging client prints is discarded, and the header-provider logger is reset, so each test sees
    only what the command itself prints."""
    from mlflow.entities import Metric

    client = mlflow.MlflowClient(tracking_uri=server)
    experiment = client.get_experiment_by_name("metrics-tests") or client.get_experiment(
        client.create_experiment("metrics-tests")
    )

    def log(histories: dict[str, list[tuple[int, float]]]) -> str:
        run = client.create_run(experiment.experiment_id, run_name=request.node.name[:200])
        now = int(time.time() * 1000)
        entities = [Metric(n, v, now + s, s) for n, points in histories.items() for s, v in points]
        for start in range(0, len(entities), 1000):  # LogBatch takes at most 1,000 metrics
            client.log_batch(run.info.run_id, metrics=entities[start : start + 1000])
        capsys.readouterr()
        logging.getLogger("mlflow.tracking.request_header.registry").setLevel(logging.NOTSET)
        return run.info.run_id  # left running, like the run of a job in progress

    return log


def job(
    technique: str = "SFT", base: str = "meta-textgeneration-llama-3-2-1b-instruct", **extra: object
) -> dict:
    return {
        "TrainingJobName": JOB,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{JOB}",
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "CreationTime": T0,
        "ModelArtifacts": {"S3ModelArtifacts": "s3://out/"},
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "ServerlessJobConfig": {
            "JobType": "FineTuning",
            "CustomizationTechnique": technique,
            "BaseModelArn": f"arn:aws:sagemaker:us-east-1:aws:hub-content/SageMakerPublicHub/Model/{base}/1.0.0",
        },
        **extra,
    }


def mlflow_job(run_id: str, technique: str = "SFT", **extra: object) -> dict:
    return job(
        technique,
        MlflowConfig={"MlflowResourceArn": TRACKING, "MlflowExperimentName": "metrics-tests"},
        MlflowDetails={"MlflowRunId": run_id},
        **extra,
    )


def describe(stubs, answer: dict) -> None:
    stubs("sagemaker").add_response("describe_training_job", answer, {"TrainingJobName": JOB})


def test_sft_metrics_table(stubs, run, server, log_run) -> None:
    run_id = log_run(
        {
            "total_loss": [(s, 2.0 - s / 100) for s in range(0, 100, 10)],
            "val_eval_total_loss": [(50, 1.7), (90, 1.25)],
            "learning_rate": [(0, 1e-4)],
        }
    )
    describe(stubs, mlflow_job(run_id))
    result = run("metrics", JOB, "--tracking-uri", server)
    assert result.code == 0, result.err
    assert result.err == ""  # no MLflow or plugin warnings for a plain http server
    lines = result.out.splitlines()
    assert lines[0] == f"Training job: {JOB} (SFT, Completed)"
    assert lines[1] == "Latest: total_loss=1.1, val_eval_total_loss=1.25"
    assert lines[3].split() == ["step", "total_loss", "val_eval_total_loss"]
    assert lines[5].split() == ["0", "2"]
    assert lines[10].split() == ["50", "1.5", "1.7"]
    assert lines[-1].split() == ["90", "1.1", "1.25"]
    assert "learning_rate" not in result.out


def test_rlvr_metrics_include_validation_and_split_into_80_column_tables(stubs, run, server, log_run) -> None:
    names = [
        "critic/rewards/mean",
        "response_length/mean",
        "actor/entropy_loss",
        "actor/grad_norm",
        "critic/advantages/mean",
        "val-core/gsm8k/reward/mean_at_1",  # verl's MLflow spelling of mean@1 (MLflow refuses "@")
        "val-core/gsm8k/reward/acc/mean_at_4",
        "val-core/gsm8k/other",
    ]
    run_id = log_run({name: [(s, float(s)) for s in range(1, 101)] for name in names})
    describe(stubs, mlflow_job(run_id, "RLVR"))
    result = run("metrics", JOB, "--rows", "5", "--tracking-uri", server)
    assert result.code == 0, result.err
    first, second = result.out.split("\n\n")[1:]
    assert first.splitlines()[:4] == [f"({i + 1}) {name}" for i, name in enumerate(names[:4])]
    assert first.splitlines()[4].split() == ["step", "(1)", "(2)", "(3)", "(4)"]
    assert [row.split()[0] for row in first.splitlines()[6:]] == ["1", "26", "51", "75", "100"]
    assert first.splitlines()[-1].split() == ["100", "100", "100", "100", "100"]
    assert second.splitlines()[:3] == [
        "(5) critic/advantages/mean",
        "(6) val-core/gsm8k/reward/acc/mean_at_4",
        "(7) val-core/gsm8k/reward/mean_at_1",
    ]
    assert second.splitlines()[3].split() == ["step", "(5)", "(6)", "(7)"]
    assert "val-core/gsm8k/other" not in result.out


def test_all_flag_lists_every_metric(stubs, run, server, log_run) -> None:
    run_id = log_run({"loss_per_batch": [(1, 0.5)], "custom": [(1, 3.0)]})
    describe(stubs, mlflow_job(run_id, "DPO"))
    result = run("metrics", JOB, "--all", "--tracking-uri", server)
    assert result.code == 0, result.err
    assert [line.split() for line in result.out.splitlines() if line.startswith("step")] == [
        ["step", "custom", "loss_per_batch"]
    ]


def test_dpo_metrics_in_the_documented_order(stubs, run, server, log_run) -> None:
    dpo = ["loss_per_batch", "rewards/chosen", "rewards/rejected", "rewards/margins", "acc_per_batch"]
    run_id = log_run({name: [(1, 0.25), (2, 0.5)] for name in reversed(dpo)})
    describe(stubs, mlflow_job(run_id, "DPO"))
    result = run("metrics", JOB, "--tracking-uri", server)
    assert result.code == 0, result.err
    assert "Latest: rewards/margins=0.5" in result.out
    headers = [line.split()[1:] for line in result.out.splitlines() if line.startswith("step")]
    assert headers == [dpo[:4], dpo[4:]]  # four metrics per table


def test_no_metrics_yet(stubs, run, server, log_run) -> None:
    run_id = log_run({"system/cpu": [(0, 1.0)]})
    describe(stubs, mlflow_job(run_id, "DPO"))
    result = run("metrics", JOB, "--tracking-uri", server)
    assert result.code == 0, result.err
    assert f"No DPO metrics in MLflow run {run_id} yet (the run has: system/cpu)." in result.flat_out


def test_unknown_run_is_reported_without_traceback(stubs, run, server) -> None:
    describe(stubs, mlflow_job("0" * 32))
    result = run("metrics", JOB, "--tracking-uri", server)
    assert result.code == 1
    assert result.flat_err.startswith("error: MLflow request failed (")
    assert "RESOURCE_DOES_NOT_EXIST" in result.flat_err and "Traceback" not in result.err


def test_plot_writes_a_png_with_one_panel_per_metric(stubs, run, server, log_run, tmp_path) -> None:
    from PIL import Image

    run_id = log_run({"total_loss": [(s, 2.0 / s) for s in range(1, 30)], "val_eval_total_loss": [(10, 0.3)]})
    describe(stubs, mlflow_job(run_id))
    path = tmp_path / "loss.png"
    result = run("metrics", JOB, "--plot", str(path), "--tracking-uri", server)
    assert result.code == 0, result.err
    assert "Plot written to" in result.out
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (800, 500)  # 8 x 2.5 inches per panel at 100 dpi, two panels
        colors = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colors is not None and len(colors) > 20  # axes, labels and curves, not a blank canvas


def test_plot_without_matplotlib(stubs, run, server, log_run, monkeypatch, tmp_path) -> None:
    run_id = log_run({"total_loss": [(1, 2.0)]})
    describe(stubs, mlflow_job(run_id))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = run("metrics", JOB, "--plot", str(tmp_path / "x.png"), "--tracking-uri", server)
    assert result.code == 1
    assert "total_loss" in result.out  # the table is still shown
    assert result.err == "error: --plot needs matplotlib: pip install matplotlib\n"
    assert not (tmp_path / "x.png").exists()


def test_without_mlflow_installed_says_what_to_install(stubs, run, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    describe(stubs, mlflow_job("run-42"))
    result = run("metrics", JOB)
    assert result.code == 1
    assert "MLflow run:   run-42" in result.out
    assert TRACKING in result.out
    assert result.flat_err == (
        "error: Reading metrics needs the optional mlflow package: pip install mlflow sagemaker-mlflow"
    )


def test_a_sagemaker_arn_without_the_plugin_says_what_to_install(stubs, run, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sagemaker_mlflow", None)
    describe(stubs, mlflow_job("run-42"))
    result = run("metrics", JOB)
    assert result.code == 1
    assert result.flat_err.startswith(
        "error: Reading a SageMaker MLflow ARN needs the sagemaker-mlflow plugin: pip install sagemaker-mlflow"
    )


def test_the_sagemaker_plugin_sends_the_jobs_arn(mlflow: ModuleType) -> None:
    """The plugin's header provider reads the global tracking URI: the client must set it to the ARN."""
    from sagemaker_mlflow.mlflow_sagemaker_request_header_provider import MlflowSageMakerRequestHeaderProvider

    previous = mlflow.get_tracking_uri()
    try:
        metrics.tracking_client(mlflow, TRACKING)
        assert MlflowSageMakerRequestHeaderProvider().request_headers() == {"x-sm-mlflow-app-arn": TRACKING}
    finally:
        mlflow.set_tracking_uri(previous)


def test_job_without_mlflow_run(stubs, run) -> None:
    describe(stubs, job())
    result = run("metrics", JOB)
    assert result.code == 1
    assert "The job has no MLflow run" in result.flat_err


def test_nova_job_points_to_cloudwatch(stubs, run) -> None:
    describe(stubs, job(base="nova-textgeneration-lite-v2", MlflowDetails={"MlflowRunId": "r"}))
    result = run("metrics", JOB)
    assert result.code == 1
    assert "Nova jobs write metrics to CloudWatch Logs" in result.flat_err


def test_unknown_job(stubs, run) -> None:
    stubs("sagemaker").add_client_error(
        "describe_training_job",
        "ValidationException",
        "Requested resource not found.",
        expected_params={"TrainingJobName": JOB},
    )
    result = run("metrics", JOB)
    assert result.code == 2
    assert "No training job named 'llama-sft-1' in us-east-1" in result.flat_err


def test_plot_must_be_png(run) -> None:
    result = run("metrics", JOB, "--plot", "loss.svg")
    assert result.code == 2
    assert "only PNG files are written" in result.flat_err


def test_sampled_keeps_first_and_last() -> None:
    assert metrics.sampled(list(range(10)), 3) == [0, 4, 9]
    assert metrics.sampled([1, 2], 5) == [1, 2]
    assert metrics.sampled([1, 2, 3], 1) == [3]
