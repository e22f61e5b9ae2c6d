"""cdk-finetune metrics: DescribeTrainingJob via Stubber, MLflow through a fake client module."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from types import ModuleType, SimpleNamespace

import pytest

from cdk_sagemaker_finetuning.commands import metrics

JOB = "llama-sft-1"
TRACKING = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-ABC"
T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


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


MLFLOW = {"MlflowConfig": {"MlflowResourceArn": TRACKING}, "MlflowDetails": {"MlflowRunId": "run-42"}}


class FakeClient:
    """The two MlflowClient methods the command uses, recording every call."""

    calls: list[tuple] = []
    histories: dict[str, list[tuple[int, float]]] = {}

    def __init__(self, tracking_uri: str) -> None:
        self.calls.append(("client", tracking_uri))

    def get_run(self, run_id: str) -> SimpleNamespace:
        self.calls.append(("get_run", run_id))
        metrics_now = {name: points[-1][1] for name, points in self.histories.items()}
        return SimpleNamespace(data=SimpleNamespace(metrics=metrics_now))

    def get_metric_history(self, run_id: str, key: str) -> list[SimpleNamespace]:
        self.calls.append(("history", run_id, key))
        return [SimpleNamespace(key=key, step=s, value=v, timestamp=0) for s, v in self.histories[key]]


@pytest.fixture
def mlflow(monkeypatch: pytest.MonkeyPatch) -> type[FakeClient]:
    module = ModuleType("mlflow")
    module.MlflowClient = FakeClient
    monkeypatch.setitem(sys.modules, "mlflow", module)
    monkeypatch.setattr(FakeClient, "calls", [])
    monkeypatch.setattr(FakeClient, "histories", {})
    return FakeClient


def test_sft_metrics_table(stubs, run, mlflow) -> None:
    mlflow.histories = {
        "total_loss": [(s, 2.0 - s / 100) for s in range(0, 100, 10)],
        "val_eval_total_loss": [(50, 1.7), (90, 1.25)],
        "learning_rate": [(0, 1e-4)],
    }
    stubs("sagemaker").add_response("describe_training_job", job(**MLFLOW), {"TrainingJobName": JOB})
    result = run("metrics", JOB)
    assert result.code == 0, result.err
    assert mlflow.calls == [
        ("client", TRACKING),
        ("get_run", "run-42"),
        ("history", "run-42", "total_loss"),
        ("history", "run-42", "val_eval_total_loss"),
    ]
    lines = result.out.splitlines()
    assert lines[0] == f"Training job: {JOB} (SFT, Completed)"
    assert lines[1] == "Latest: total_loss=1.1, val_eval_total_loss=1.25"
    assert lines[3].split() == ["step", "total_loss", "val_eval_total_loss"]
    assert lines[5].split() == ["0", "2"]
    assert lines[10].split() == ["50", "1.5", "1.7"]
    assert lines[-1].split() == ["90", "1.1", "1.25"]
    assert "learning_rate" not in result.out


def test_rlvr_metrics_include_validation_and_split_into_80_column_tables(stubs, run, mlflow) -> None:
    names = [
        "critic/rewards/mean",
        "response_length/mean",
        "actor/entropy_loss",
        "actor/grad_norm",
        "critic/advantages/mean",
        "val-core/gsm8k/reward/mean@1",
        "val-core/gsm8k/reward/acc/mean@4",
        "val-core/gsm8k/other",
    ]
    mlflow.histories = {name: [(s, float(s)) for s in range(1, 101)] for name in names}
    stubs("sagemaker").add_response("describe_training_job", job("RLVR", **MLFLOW), {"TrainingJobName": JOB})
    result = run("metrics", JOB, "--rows", "5")
    assert result.code == 0
    first, second = result.out.split("\n\n")[1:]
    assert first.splitlines()[:4] == [f"({i + 1}) {name}" for i, name in enumerate(names[:4])]
    assert first.splitlines()[4].split() == ["step", "(1)", "(2)", "(3)", "(4)"]
    assert [row.split()[0] for row in first.splitlines()[6:]] == ["1", "26", "51", "75", "100"]
    assert first.splitlines()[-1].split() == ["100", "100", "100", "100", "100"]
    assert second.splitlines()[:3] == [
        "(5) critic/advantages/mean",
        "(6) val-core/gsm8k/reward/acc/mean@4",
        "(7) val-core/gsm8k/reward/mean@1",
    ]
    assert second.splitlines()[3].split() == ["step", "(5)", "(6)", "(7)"]
    assert "val-core/gsm8k/other" not in result.out


def test_all_flag_lists_every_metric(stubs, run, mlflow) -> None:
    mlflow.histories = {"loss_per_batch": [(1, 0.5)], "custom": [(1, 3.0)]}
    stubs("sagemaker").add_response("describe_training_job", job("DPO", **MLFLOW), {"TrainingJobName": JOB})
    result = run("metrics", JOB, "--all")
    assert result.code == 0
    assert [line.split() for line in result.out.splitlines() if line.startswith("step")] == [
        ["step", "custom", "loss_per_batch"]
    ]


def test_no_metrics_yet(stubs, run, mlflow) -> None:
    mlflow.histories = {"system/cpu": [(0, 1.0)]}
    stubs("sagemaker").add_response("describe_training_job", job("DPO", **MLFLOW), {"TrainingJobName": JOB})
    result = run("metrics", JOB)
    assert result.code == 0
    assert "No DPO metrics in MLflow run run-42 yet (the run has: system/cpu)." in result.flat_out


def test_without_mlflow_installed_says_what_to_install(stubs, run, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    stubs("sagemaker").add_response("describe_training_job", job(**MLFLOW), {"TrainingJobName": JOB})
    result = run("metrics", JOB)
    assert result.code == 1
    assert "MLflow run:   run-42" in result.out
    assert TRACKING in result.out
    assert result.flat_err == (
        "error: Reading metrics needs the optional mlflow package: pip install mlflow sagemaker-mlflow"
    )


def test_mlflow_errors_are_reported_without_traceback(stubs, run, mlflow, monkeypatch) -> None:
    class MlflowException(Exception):
        pass

    def denied(self, run_id: str) -> None:
        raise MlflowException("API request to endpoint /api/2.0/mlflow/runs/get failed with error code 403")

    monkeypatch.setattr(FakeClient, "get_run", denied)
    stubs("sagemaker").add_response("describe_training_job", job(**MLFLOW), {"TrainingJobName": JOB})
    result = run("metrics", JOB)
    assert result.code == 1
    assert result.flat_err.startswith(
        "error: MLflow request failed (MlflowException): API request to endpoint"
    )


def test_job_without_mlflow_run(stubs, run, mlflow) -> None:
    stubs("sagemaker").add_response("describe_training_job", job(), {"TrainingJobName": JOB})
    result = run("metrics", JOB)
    assert result.code == 1
    assert "The job has no MLflow run" in result.flat_err
    assert mlflow.calls == []


def test_nova_job_points_to_cloudwatch(stubs, run, mlflow) -> None:
    stubs("sagemaker").add_response(
        "describe_training_job", job(base="nova-textgeneration-lite-v2", **MLFLOW), {"TrainingJobName": JOB}
    )
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


def test_plot_writes_a_png(stubs, run, mlflow, tmp_path) -> None:
    mlflow.histories = {"total_loss": [(1, 2.0), (2, 1.5)], "val_eval_total_loss": [(2, 1.6)]}
    stubs("sagemaker").add_response("describe_training_job", job(**MLFLOW), {"TrainingJobName": JOB})
    path = tmp_path / "loss.png"
    result = run("metrics", JOB, "--plot", str(path))
    assert result.code == 0, result.err
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "Plot written to" in result.out


def test_plot_without_matplotlib(stubs, run, mlflow, monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    mlflow.histories = {"total_loss": [(1, 2.0)]}
    stubs("sagemaker").add_response("describe_training_job", job(**MLFLOW), {"TrainingJobName": JOB})
    result = run("metrics", JOB, "--plot", str(tmp_path / "x.png"))
    assert result.code == 1
    assert "total_loss" in result.out  # the table is still shown
    assert result.err == "error: --plot needs matplotlib: pip install matplotlib\n"


def test_plot_must_be_png(run) -> None:
    result = run("metrics", JOB, "--plot", "loss.svg")
    assert result.code == 2
    assert "only PNG files are written" in result.flat_err


def test_sampled_keeps_first_and_last() -> None:
    assert metrics.sampled(list(range(10)), 3) == [0, 4, 9]
    assert metrics.sampled([1, 2], 5) == [1, 2]
    assert metrics.sampled([1, 2, 3], 1) == [3]
