"""``cdk-finetune reward test``: scores through the real handler, histogram, metric means, warnings, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cdk_sagemaker_finetuning.commands.reward import histogram


def row(index: int, reference: str = "42", response: str | None = None) -> dict:
    messages = [{"role": "user", "content": f"Question {index}: what is 6 * 7?"}]
    if response is not None:
        messages.append({"role": "assistant", "content": response})
    return {"id": f"r{index}", "messages": messages, "reference_answer": {"ground_truth": reference}}


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_builtin_summary_with_histogram_means_and_slowest(run, tmp_path):
    rows = [row(i, response="6 * 7 = 42\n#### 42") for i in range(6)] + [
        row(6, response="#### 41"), row(7, response="I think 42"), row(8, response="no idea")]
    result = run("reward", "test", "numeric_answer", str(write_jsonl(tmp_path / "d.jsonl", rows)))
    assert result.code == 0
    assert result.out.startswith("numeric_answer: 9 samples, mean score 0.556, min -1.000, max 1.000")
    assert "  [  0.80,   1.00]      6 " + "#" * 46 in result.out
    assert "  [ -1.00,  -0.80)      1 " + "#" * 8 in result.out
    assert "correct    0.778  9" in result.out
    assert "Slowest samples" in result.out
    assert "Warnings" not in result.out


def test_flat_rewards_are_flagged(run, tmp_path):
    rows = [row(i, response="#### 42") for i in range(20)]
    result = run("reward", "test", "numeric_answer", str(write_jsonl(tmp_path / "d.jsonl", rows)))
    assert "flat reward: 100% of samples score 1; the policy gets almost no learning signal" in result.flat_out


def test_responses_file_is_paired_in_order(run, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [row(0), row(1), row(2)])
    responses = tmp_path / "responses.jsonl"
    responses.write_text('"#### 42"\n{"response": "#### 40"}\nThe answer is 42\n')
    result = run("reward", "test", "numeric_answer", str(data), "--responses", str(responses))
    assert result.code == 0
    assert "mean score 0.500" in result.out  # 1.0, -0.5, 1.0
    assert "no response" not in result.out


def test_missing_responses_and_errors_are_warned_with_exit_1(run, tmp_path):
    rows = [row(0, response="#### 42"), row(1), row(2, reference="unknown", response="#### 3")]
    result = run("reward", "test", "numeric_answer", str(write_jsonl(tmp_path / "d.jsonl", rows)))
    assert result.code == 1
    assert "1 row(s) have no response to score; pass --responses FILE" in result.flat_out
    assert ("1 sample(s) raised and scored -1; first: id 'r2': ValueError: reference answer 'unknown' has no "
            "number") in result.flat_out


def test_user_module_clamped_scores_and_score_range(run, tmp_path):
    module = tmp_path / "my_reward.py"
    module.write_text(
        "def reward(sample):\n"
        "    return {'score': 2.0 if '42' in sample.response else 0.25, 'metrics': {'length': len(sample.response)}}\n"
    )
    rows = [row(0, response="#### 42"), row(1, response="no")]
    result = run("reward", "test", str(module), str(write_jsonl(tmp_path / "d.jsonl", rows)),
                 "--score-range", "0", "1")
    assert result.out.startswith("my_reward.py: 2 samples, mean score 0.625")
    assert "1 score(s) fell outside [0, 1] and were clamped" in result.flat_out
    assert "length  4.500  2" in result.out


def test_builtin_options_are_used_and_checked(run, tmp_path):
    data = str(write_jsonl(tmp_path / "d.jsonl", [row(0, response="I think 42")]))
    assert "mean score -0.500" in run("reward", "test", "numeric_answer", data, "--options",
                                      '{"require_marker": true}').out
    bad = run("reward", "test", "numeric_answer", data, "--options", '{"require_marker": 1}')
    assert bad.code == 2
    assert "require_marker: 1 must be true or false" in bad.flat_err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["gsm8k", "{data}"], "unknown built-in reward 'gsm8k'; built-ins: numeric_answer"),
        (["numeric_answer", "{missing}"], "cannot read"),
        (["numeric_answer", "{data}", "--responses", "{data}"], "has 3 responses for 1 rows"),
        (["numeric_answer", "{bad}"], "bad.jsonl line 2 is not JSON"),
        (["{broken}", "{data}"], "cannot import"),
        (["numeric_answer", "{data}", "--score-range", "1", "0"], "LOW must be below HIGH"),
        (["numeric_answer", "{data}", "--options", "[1]"], "--options must be a JSON object"),
    ],
)
def test_invalid_input_exits_2_with_a_clear_message(run, tmp_path, argv, message):
    paths = {
        "data": write_jsonl(tmp_path / "d.jsonl", [row(0, response="#### 42")]),
        "missing": tmp_path / "none.jsonl",
        "bad": tmp_path / "bad.jsonl",
        "broken": tmp_path / "broken.py",
    }
    paths["bad"].write_text('{"id": 1}\n{oops\n')
    paths["broken"].write_text("raise RuntimeError('no')\n")
    (tmp_path / "three.jsonl").write_text("a\nb\nc\n")
    args = [a.format(**{k: str(v) for k, v in paths.items()}) for a in argv]
    if "--responses" in args:
        paths["data"] = write_jsonl(tmp_path / "d.jsonl", [row(0)])
        args[args.index("--responses") + 1] = str(tmp_path / "three.jsonl")
    result = run("reward", "test", *args)
    assert result.code == 2
    assert message in result.flat_err


def test_histogram_bins_include_both_ends():
    text = histogram([-1.0, 1.0, 1.0, 0.0], -1.0, 1.0, bins=4)
    assert text.splitlines() == [
        "  [ -1.00,  -0.50)      1 " + "#" * 23,
        "  [ -0.50,   0.00)      0",
        "  [  0.00,   0.50)      1 " + "#" * 23,
        "  [  0.50,   1.00]      2 " + "#" * 46,
    ]


def test_shipped_example_reward_module_runs(run, tmp_path):
    from tests.conftest import EXAMPLES

    rows = [{"id": f"t{i}", "prompt": [{"role": "user", "content": "Printer offline"}],
             "reward_model": {"ground_truth": "restart, cable", "style": "rule"}, "response": response}
            for i, response in enumerate(["Restart it and check the cable.", "Restart it.", "Nothing to do."])]
    result = run("reward", "test", str(EXAMPLES / "rewards" / "keyword_reward.py"),
                 str(write_jsonl(tmp_path / "d.jsonl", rows)))
    assert result.code == 0
    assert result.out.startswith("keyword_reward.py: 3 samples, mean score 0.000, min -1.000, max 1.000")
    assert "coverage  0.500  3" in result.out


# -- user modules run where only the Lambda's packages exist --------------------------------------------------


def test_a_module_importing_a_package_the_lambda_lacks_fails_although_the_venv_has_it(run, tmp_path):
    import importlib.util

    assert importlib.util.find_spec("numpy") is not None  # importable here, not in the Lambda
    module = tmp_path / "np_reward.py"
    module.write_text("import math\nimport numpy as np\n\ndef reward(sample):\n    return float(np.mean([1.0]))\n")
    result = run("reward", "test", str(module), str(write_jsonl(tmp_path / "d.jsonl", [row(0, response="42")])))
    assert result.code == 2
    assert result.out == ""
    assert result.flat_err == (f"error: {module}:2: imports 'numpy', which the Lambda cannot import: it has only "
                               "the Python standard library, boto3 and the reward runtime (the module is packaged "
                               "alone; list pure-Python packages in reward.requirements)")


def test_every_module_problem_exits_2_naming_file_and_line(run, tmp_path):
    data = str(write_jsonl(tmp_path / "d.jsonl", [row(0, response="42")]))
    cases = {
        "syntax.py": ("def reward(sample):\n    return (1\n", "syntax.py:2:12: SyntaxError: '(' was never closed"),
        "latin.py": (b"# caf\xe9\ndef reward(sample):\n    return 1\n", "latin.py:1: byte 5 (0xe9) is not UTF-8"),
        "arity.py": ("def reward(sample, extra):\n    return 1\n", "arity.py:1: reward(sample, extra) cannot be"),
    }
    for name, (contents, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(contents.encode() if isinstance(contents, str) else contents)
        result = run("reward", "test", str(path), data)
        assert result.code == 2, name
        assert result.flat_err.startswith(f"error: {path.parent}/{message}"), result.err


def test_scores_outside_the_range_and_non_numbers_exit_1(run, tmp_path):
    module = tmp_path / "odd.py"
    module.write_text("def reward(sample):\n    return {'a': 5, 'b': 'yes', 'c': 0.5}[sample['kind']]\n")
    rows = [dict(row(i, response="x"), kind=kind) for i, kind in enumerate("abc")]
    result = run("reward", "test", str(module), str(write_jsonl(tmp_path / "d.jsonl", rows)))
    assert result.code == 1
    assert "1 score(s) fell outside [-1, 1] and were clamped" in result.flat_out
    assert ("1 sample(s) raised and scored -1; first: id 'r1': reward returned 'yes' (score must be a number, "
            "got str)") in result.flat_out
