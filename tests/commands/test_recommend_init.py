"""cdk-finetune recommend and init (no AWS calls)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cdk_sagemaker_finetuning.spec import load_spec

ALL_NO = ["--no-gold-responses", "--no-verifiable", "--no-preference-pairs", "--no-subjective"]


@pytest.mark.parametrize(
    ("flags", "technique", "reason"),
    [
        (["--gold-responses", "--no-verifiable"], "SFT", "You have a correct response per input"),
        (["--no-gold-responses", "--verifiable"], "RLVR", "Code can check responses"),
        (["--no-gold-responses", "--no-verifiable", "--preference-pairs"], "DPO", "chosen/rejected pairs"),
        (
            ["--no-gold-responses", "--no-verifiable", "--no-preference-pairs", "--subjective"],
            "RLAIF",
            "a judge model score responses",
        ),
        (["--gold-responses", "--verifiable", "--baseline", "40"], "RLVR", "already scores 40%"),
        (
            ["--gold-responses", "--verifiable", "--baseline", "0"],
            "SFT",
            "The base model scores 0%: start with SFT.",
        ),
    ],
)
def test_recommendations_from_flags(run, flags, technique, reason) -> None:
    result = run("recommend", *flags)
    assert result.code == 0
    assert result.out.startswith(f"Recommended technique: {technique}\n")
    assert reason in result.flat_out
    assert f"cdk-finetune init --technique {technique.lower()}" in result.flat_out


def test_gold_and_verifiable_without_baseline_suggests_a_later_rlvr_round(run) -> None:
    result = run("recommend", "--gold-responses", "--verifiable")
    assert result.out.startswith("Recommended technique: SFT")
    assert "note: Responses are also verifiable: an RLVR round on the SFT model" in result.flat_out


def test_never_recommends_a_model(run) -> None:
    result = run("recommend", "--no-gold-responses", "--verifiable")
    assert "meta-" not in result.out and "nova-" not in result.out and "qwen" not in result.out
    assert "'cdk-finetune models'" in result.flat_out


def test_nothing_fits(run) -> None:
    result = run("recommend", *ALL_NO)
    assert result.code == 0
    assert result.out.startswith("No recommendation.\n")
    assert "collect gold responses (SFT), preference pairs (DPO)" in result.flat_out


def test_high_baseline_means_no_customization(run) -> None:
    result = run("recommend", "--baseline", "97")
    assert result.out.startswith("No recommendation.")
    assert "already scores 97%: customization may be unnecessary" in result.flat_out


def test_missing_answer_without_terminal_names_the_flag(run) -> None:
    result = run("recommend", "--no-gold-responses")
    assert result.code == 2
    assert result.flat_err.startswith("error: Answer with --verifiable or --no-verifiable: Can code check")


def test_bad_baseline(run) -> None:
    result = run("recommend", "--baseline", "120")
    assert result.code == 2 and "--baseline 120 must be between 0 and 100." in result.err


def test_interactive_asks_only_what_it_needs(run, answers) -> None:
    asked = answers("maybe", "n", "n", "y")
    result = run("recommend")
    assert result.code == 0
    assert "please answer y or n\nRecommended technique: DPO\n" in result.out
    assert len(asked) == 4  # gold (invalid answer, then n), verifiable, pairs; never "subjective"
    assert "gold responses" in asked[0] and "preference pairs" in asked[3]


# --- init ------------------------------------------------------------------------------------------------


def test_init_sft_writes_a_valid_spec(run, tmp_path) -> None:
    result = run(
        "init",
        "--name",
        "support-bot",
        "--technique",
        "sft",
        "--model",
        "meta-textgeneration-llama-3-2-1b-instruct",
        "--accept-eula",
        "--region",
        "us-west-2",
        "--dir",
        str(tmp_path),
    )
    assert result.code == 0, result.err
    path = tmp_path / "support-bot.yaml"
    assert result.flat_out.startswith(f"Wrote: {path} ")
    text = path.read_text()
    assert text.startswith("# Starter fine-tuning spec from 'cdk-finetune init'.")
    assert "# meta-textgeneration-llama-3-2-1b-instruct license: Llama 3.2 Community" in text
    spec = load_spec(path)
    assert (spec.name, spec.technique, spec.accept_eula, spec.region) == (
        "support-bot",
        "sft",
        True,
        "us-west-2",
    )
    assert spec.data.create_bucket and spec.data.train == "train/train.jsonl"
    assert "cdk-finetune start FineTuning-support-bot" in result.flat_out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["support-bot.yaml"]


def test_init_rlvr_writes_a_reward_stub_whose_tests_pass(run, tmp_path) -> None:
    result = run(
        "init",
        "--name",
        "math",
        "--technique",
        "rlvr",
        "--model",
        "huggingface-reasoning-qwen3-8b",
        "--data",
        "s3://my-data/math/train.jsonl",
        "--dir",
        str(tmp_path),
    )
    assert result.code == 0, result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["math.yaml", "reward.py", "test_reward.py"]
    spec = load_spec(tmp_path / "math.yaml")
    assert spec.reward_code_path == (tmp_path / "reward.py").resolve()
    assert spec.data.train == "s3://my-data/math/train.jsonl" and not spec.data.create_bucket
    assert "accept_eula" not in yaml.safe_load((tmp_path / "math.yaml").read_text())
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout
    plain = subprocess.run(  # also without pytest (make synth does not install it)
        [sys.executable, "test_reward.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert (plain.returncode, plain.stdout) == (0, "reward.py: all tests passed\n"), plain.stderr


def test_init_rlaif_writes_the_judge(run, tmp_path) -> None:
    result = run(
        "init",
        "--name",
        "summaries",
        "--technique",
        "rlaif",
        "--model",
        "huggingface-reasoning-qwen3-8b",
        "--judge-prompt",
        "Builtin.Faithfulness",
        "--dir",
        str(tmp_path),
    )
    assert result.code == 0, result.err
    spec = load_spec(tmp_path / "summaries.yaml")
    assert spec.rlaif.judge_model_id == "openai.gpt-oss-120b-1:0"
    assert spec.rlaif.prompt == "Builtin.Faithfulness"


def test_init_invalid_spec_writes_nothing(run, tmp_path) -> None:
    result = run(
        "init",
        "--name",
        "j",
        "--technique",
        "rlaif",
        "--model",
        "huggingface-reasoning-qwen3-8b",
        "--judge-model",
        "anthropic.claude",
        "--dir",
        str(tmp_path),
    )
    assert result.code == 2
    assert "rlaif.judge_model_id: 'anthropic.claude' is not an allowed judge model" in result.flat_err
    assert list(tmp_path.iterdir()) == []


def test_init_region_check(run, tmp_path) -> None:
    result = run(
        "init",
        "--name",
        "n",
        "--technique",
        "sft",
        "--model",
        "nova-textgeneration-lite-v2",
        "--region",
        "eu-west-1",
        "--dir",
        str(tmp_path),
    )
    assert result.code == 2
    assert "region: 'eu-west-1' does not offer serverless customization" in result.flat_err


def test_init_gated_model_needs_acceptance(run, tmp_path) -> None:
    result = run(
        "init",
        "--name",
        "x",
        "--technique",
        "sft",
        "--model",
        "meta-textgeneration-llama-3-1-8b-instruct",
        "--dir",
        str(tmp_path),
    )
    assert result.code == 2
    assert "is gated by the Llama 3.1 Community license" in result.flat_err
    assert "pass --accept-eula" in result.flat_err
    assert list(tmp_path.iterdir()) == []


def test_init_does_not_overwrite_without_force(run, tmp_path) -> None:
    (tmp_path / "demo.yaml").write_text("keep me")
    argv = [
        "init",
        "--name",
        "demo",
        "--technique",
        "dpo",
        "--model",
        "huggingface-reasoning-qwen3-8b",
        "--dir",
        str(tmp_path),
    ]
    result = run(*argv)
    assert result.code == 2 and "Not overwriting" in result.err and "(use --force)" in result.flat_err
    assert (tmp_path / "demo.yaml").read_text() == "keep me"
    assert run(*argv, "--force").code == 0
    assert load_spec(tmp_path / "demo.yaml").technique == "dpo"


def test_init_bad_name(run, tmp_path) -> None:
    result = run("init", "--name", "My_Project", "--technique", "sft", "--model", "x", "--dir", str(tmp_path))
    assert result.code == 2
    assert "--name 'My_Project' must be lower-case letters" in result.flat_err


def test_init_missing_choice_without_terminal(run, tmp_path) -> None:
    result = run("init", "--technique", "sft", "--dir", str(tmp_path))
    assert result.code == 2
    assert result.err.startswith("error: --name is required")


def test_init_interactive(run, answers, tmp_path) -> None:
    asked = answers("chat-bot", "sft", "meta-textgeneration-llama-3-2-3b-instruct", "y")
    result = run("init", "--dir", str(tmp_path))
    assert result.code == 0, result.err
    assert "Do you accept the license terms?" in asked[3]
    assert load_spec(tmp_path / "chat-bot.yaml").accept_eula is True


def test_init_interactive_refusing_the_license(run, answers, tmp_path) -> None:
    answers("n")
    result = run(
        "init",
        "--name",
        "a",
        "--technique",
        "sft",
        "--model",
        "meta-textgeneration-llama-3-2-3b-instruct",
        "--dir",
        str(tmp_path),
    )
    assert result.code == 2
    assert not Path(tmp_path / "a.yaml").exists()
