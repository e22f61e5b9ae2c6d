"""CLI polish: the region a command can infer, every block in ``validate``, help texts and ``--version``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from importlib import metadata

import pytest
import yaml
from botocore.stub import Stubber

from cdk_sagemaker_finetuning import cli
from cdk_sagemaker_finetuning.commands import _aws
from tests import stub_pool
from tests import workflow_data as wd
from tests.commands.test_cli_inputs import COMMANDS
from tests.commands.test_runs import T0, job
from tests.conftest import EXAMPLES

EU = "eu-west-1"
KMS_ARN = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EU_SM_ARN = f"arn:aws:states:{EU}:123456789012:stateMachine:FineTuningWorkflow"
EU_EXEC_ARN = f"arn:aws:states:{EU}:123456789012:execution:FineTuningWorkflow:run-1"


@pytest.fixture
def regional(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[Callable[[str], Stubber]]:
    """No configured region; every client is created in the region the command resolves, which is recorded.

    ``regional(service)`` is the Stubber of that service's client (queue its answers before running).
    """
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    regions: list[tuple[str, str]] = []
    with stub_pool.lent_on_demand(EU, _aws.CONFIG) as stubbers:

        def client(args: argparse.Namespace, service: str) -> object:
            regions.append((service, _aws.region(args)))
            return stubbers[service].client

        monkeypatch.setattr(_aws, "client", client)
        stubbers.regions = regions  # type: ignore[attr-defined]
        yield stubbers


def test_status_uses_the_region_of_the_execution_arn(regional, run) -> None:
    regional("stepfunctions").add_response(
        "describe_execution",
        {"executionArn": EU_EXEC_ARN, "stateMachineArn": EU_SM_ARN, "status": "RUNNING", "startDate": T0},
        {"executionArn": EU_EXEC_ARN},
    )
    regional("stepfunctions").add_response(
        "get_execution_history", {"events": []}, {"executionArn": EU_EXEC_ARN, "includeExecutionData": True}
    )
    result = run("status", EU_EXEC_ARN)
    assert result.code == 0, result.err
    assert regional.regions == [("stepfunctions", EU)]


def test_status_uses_the_region_of_a_training_job_arn(regional, run) -> None:
    name = "meta-llama-sft-20261122-abc"
    regional("sagemaker").add_response(
        "describe_training_job", job("InProgress", []), {"TrainingJobName": name}
    )
    result = run("status", f"arn:aws:sagemaker:{EU}:123456789012:training-job/{name}")
    assert result.code == 0, result.err
    assert regional.regions == [("sagemaker", EU)]


def test_start_uses_the_region_of_the_state_machine_arn(regional, run) -> None:
    regional("stepfunctions").add_response(
        "start_execution",
        {"executionArn": EU_EXEC_ARN, "startDate": T0},
        {"stateMachineArn": EU_SM_ARN, "input": "{}"},
    )
    assert run("start", EU_SM_ARN).code == 0
    assert regional.regions == [("stepfunctions", EU)]


@pytest.mark.parametrize(
    ("flag", "env", "expected"),
    [
        (["--region", "us-west-2"], {}, "us-west-2"),
        ([], {"AWS_REGION": "ap-northeast-1"}, "ap-northeast-1"),
        ([], {"AWS_DEFAULT_REGION": "us-east-2"}, "us-east-2"),
    ],
)
def test_an_explicit_region_wins_over_the_inferred_one(
    regional, run, monkeypatch, flag, env, expected
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    regional("stepfunctions").add_response(
        "start_execution",
        {"executionArn": EU_EXEC_ARN, "startDate": T0},
        {"stateMachineArn": EU_SM_ARN, "input": "{}"},
    )
    assert run("start", EU_SM_ARN, *flag).code == 0
    assert regional.regions == [("stepfunctions", expected)]


def test_plan_online_uses_the_spec_region(regional, run, tmp_path, sft_spec_dict) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**sft_spec_dict, "region": EU}))
    regional("cloudformation").add_client_error(
        "describe_stacks",
        "ValidationError",
        "Stack with id FineTuning-demo does not exist",
        expected_params={"StackName": "FineTuning-demo"},
    )
    regional("sagemaker")
    regional("s3")
    regional("sts").add_client_error("get_caller_identity", "AccessDenied", "no", http_status_code=403)
    result = run("plan", str(spec))
    assert result.code == 1  # stops at the first SageMaker lookup, which is all this test needs
    assert {region for _, region in regional.regions} == {EU}
    assert ("cloudformation", EU) in regional.regions


def test_without_any_region_the_error_says_how_to_set_one(regional, run) -> None:
    regional("sagemaker")  # never called: the region is resolved first
    result = run("status", "some-job")
    assert result.code == 2
    assert "No AWS region is configured" in result.flat_err


def test_validate_shows_every_block_within_80_columns(run, tmp_path) -> None:
    spec = {
        "name": "full-rlvr",
        "technique": "rlvr",
        "base_model": "huggingface-reasoning-qwen3-4b",
        "region": "us-west-2",
        "data": {"create_bucket": True, "train": "train/t.jsonl", "validation": "val/v.jsonl"},
        "output": {"kms_key_arn": KMS_ARN},
        "hyperparameters": {"learning_rate": 0.0001, "max_epochs": 2},
        "sequence_length": "8K",
        "mlflow": {"experiment_name": "support"},
        "reward": {"builtin": "numeric_answer", "options": {"abs_tol": 0.01}, "score_range": [0, 1]},
        "approval_status": "Approved",
        "retraining": {
            "on_new_data": {"prefix": "train/"},
            "schedule": "rate(7 days)",
            "pipeline": {"manual_approval": True},
            "continue_from_latest": True,
        },
        "notifications": {"emails": ["ml@example.com"], "alarm_on_failure": False},
        "tags": {"team": "ml", "cost-center": "42"},
    }
    path = tmp_path / "full.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = run("validate", str(path))
    assert result.code == 0, result.err
    assert max(len(line) for line in result.out.splitlines()) <= 80  # even the KMS key ARN
    labels = [line.split(":")[0] for line in result.out.splitlines() if line[:1].isalpha() and ": " in line]
    assert labels == [
        "project",
        "model",
        "license",
        "technique",
        "region",
        "model package group",
        "train data",
        "validation data",
        "output",
        "max runtime",
        "sequence length",
        "hyperparameters",
        "reward",
        "mlflow",
        "retraining",
        "notifications",
        "tags",
    ]
    flat = result.flat_out
    for words in (
        "region: us-west-2",
        "full-rlvr, new versions Approved",
        f"created output bucket, encrypted with {KMS_ARN}",
        "learning_rate=0.0001, max_epochs=2",
        "builtin numeric_answer, options (abs_tol=0.01); scores in [0, 1]",
        "experiment_name=support",
        "on new data under train/; on schedule rate(7 days); pipeline on new versions of data.train, with "
        "manual approval; continues from the latest approved model package",
        "SNS topic (ml@example.com; no alarm)",
        "cost-center=42, team=ml",
    ):
        assert words in flat, words


def test_validate_shows_the_judge_of_an_rlaif_spec(run) -> None:
    result = run("validate", str(EXAMPLES / "rlaif-summarize.yaml"))
    assert "judge: openai.gpt-oss-120b-1:0 with prompt Builtin.Summarize" in result.flat_out
    assert "retraining: none (start runs with cdk-finetune start)" in result.flat_out


def test_allow_unknown_model_flag(run, tmp_path, sft_spec_dict) -> None:
    path = tmp_path / "new.yaml"
    path.write_text(yaml.safe_dump({**sft_spec_dict, "base_model": "acme-llm-9b", "region": "us-east-1"}))
    rejected = run("validate", str(path))
    assert rejected.code == 2
    assert "'acme-llm-9b' is not a model of a known family" in rejected.flat_err
    accepted = run("validate", str(path), "--allow-unknown-model")
    assert accepted.code == 0, accepted.err
    assert "[unknown model family, allowed by allow_unknown_model]" in accepted.flat_out


def test_version(run) -> None:
    result = run("--version")
    assert result.code == 0
    assert result.out == f"cdk-finetune {metadata.version('cdk-sagemaker-finetuning')}\n"


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_option_has_help_and_help_fits(run, path) -> None:
    missing = [action.dest for action in COMMANDS[path] if not action.help]
    assert missing == []
    result = run(*path, "--help")  # the runner checks every line fits 80 columns
    assert result.code == 0
    assert result.out.startswith(f"usage: cdk-finetune {' '.join(path)}")


def test_notebook_help_shows_percent_cells(run) -> None:
    assert "'# %%' cells" in run("notebook", "--help").flat_out


def test_score_range_has_help(run) -> None:
    out = run("reward", "test", "--help").flat_out
    assert "--score-range LOW HIGH scores are clamped into [LOW, HIGH] and a failing sample scores LOW" in out


def test_reward_test_hint_when_the_responses_file_has_empty_lines(run, tmp_path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"id": "r0", "prompt": "2+2?", "reward_model": {"ground_truth": "4"}}\n')
    responses = tmp_path / "responses.jsonl"
    responses.write_text('""\n')
    result = run("reward", "test", "numeric_answer", str(data), "--responses", str(responses))
    hint = f"1 row(s) have no response to score; their lines in {responses} are empty; give each row a"
    assert hint in result.flat_out
    assert "pass --responses FILE" not in result.flat_out


def test_init_writes_allow_unknown_model_for_a_new_model(run, tmp_path) -> None:
    argv = ["init", "--name", "new", "--technique", "sft", "--model", "acme-llm-9b", "--region", "us-east-1"]
    rejected = run(*argv, "--dir", str(tmp_path / "a"))
    assert rejected.code == 2
    assert "or pass --allow-unknown-model" in rejected.flat_err
    accepted = run(*argv, "--dir", str(tmp_path / "b"), "--allow-unknown-model")
    assert accepted.code == 0, accepted.err
    written = yaml.safe_load((tmp_path / "b" / "new.yaml").read_text())
    assert written["allow_unknown_model"] is True and written["base_model"] == "acme-llm-9b"


def test_offline_plan_uses_the_spec_region(regional, capsys, tmp_path, sft_spec_dict) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**sft_spec_dict, "region": EU, "base_model_version": "1.2.3"}))
    document = wd.hub_content()["HubContentDocument"]
    (tmp_path / "doc.json").write_text(document if isinstance(document, str) else json.dumps(document))
    (tmp_path / "params.json").write_text(json.dumps(wd.override_spec(wd.LLAMA, "SFT")))
    argv = ["plan", str(spec), "--hub-content", str(tmp_path / "doc.json")]
    assert cli.main([*argv, "--recipe-params", str(tmp_path / "params.json")]) == 0
    request = json.loads(capsys.readouterr().out)
    assert request["ServerlessJobConfig"]["BaseModelArn"].startswith(
        f"arn:aws:sagemaker:{EU}:aws:hub-content/"
    )
    assert regional.regions == []  # offline: no AWS client at all
