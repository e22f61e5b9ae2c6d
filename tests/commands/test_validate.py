"""``cdk-finetune validate``: a summary and exit 0, or the SpecError messages and exit 2."""

from __future__ import annotations

import pytest
import yaml

from cdk_sagemaker_finetuning.cli import main
from tests.conftest import EXAMPLES


def test_valid_spec_prints_summary(capsys):
    assert main(["validate", str(EXAMPLES / "sft-llama-3-2-1b.yaml")]) == 0
    out = capsys.readouterr().out
    assert "meta-textgeneration-llama-3-2-1b-instruct" in out
    assert "SFT (LORA)" in out
    assert "Llama 3.2 Community" in out
    assert "support-sft" in out


def test_invalid_spec_prints_every_problem_and_exits_2(tmp_path, capsys, sft_spec_dict):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**sft_spec_dict, "name": "Bad Name", "accept_eula": False}))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "name: 'Bad Name' is invalid" in err
    assert "accept_eula: must be true" in err


def test_missing_file_exits_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_help_lists_validate(capsys):
    with pytest.raises(SystemExit) as info:
        main(["validate", "--help"])
    assert info.value.code == 0
    assert "SPEC" in capsys.readouterr().out.upper()


# -- user code: reward modules and judge prompts -----------------------------------------------------------

RLVR = {"name": "demo", "technique": "rlvr", "base_model": "huggingface-reasoning-qwen3-4b",
        "data": {"train": "s3://demo-data/train.jsonl"}}
RLAIF = {**RLVR, "technique": "rlaif"}
JUDGE = "qwen.qwen3-32b-v1:0"
BROKEN_REWARDS = {
    "syntax error": ("def reward(sample)\n    return 1\n", "reward.code: rewards/mine.py:1:19: SyntaxError"),
    "no reward": ("def score(sample):\n    return 1\n", "reward.code: rewards/mine.py: defines no reward(sample)"),
    "not callable": ("reward = {}\n", "reward.code: rewards/mine.py: 'reward' is not a function but a dict"),
    "wrong arity": ("def reward(a, b):\n    return 1\n", "reward.code: rewards/mine.py:1: reward(a, b) cannot"),
    "numpy": ("\nimport numpy\n", "reward.code: rewards/mine.py:2: imports 'numpy', which the Lambda cannot import"),
    "latin-1": (b"X = '\xe9'\n", "reward.code: rewards/mine.py:1: byte 5 (0xe9) is not UTF-8"),
    "endless loop": ("while True:\n    pass\n", "reward.code: rewards/mine.py: importing it took longer than 1 s"),
}
BROKEN_JUDGE_PROMPTS = {
    "no response": ("{{ prompt }}\n", "rlaif.prompt: prompts/judge.jinja: never uses {{ response }}"),
    "unknown variable": ("{{ response }}\n{{ rubric }}\n", "rlaif.prompt: prompts/judge.jinja:2: uses {{ rubric }}"),
    "unclosed if": ("{{ response }}\n{% if prompt %}\n", "rlaif.prompt: prompts/judge.jinja:2: Jinja syntax error"),
    "not utf-8": (b"{{ response }}\n\xff\n", "rlaif.prompt: prompts/judge.jinja:2: byte 15 (0xff) is not UTF-8"),
    "too large": ("{{ response }}" + " " * 65_536, "rlaif.prompt: prompts/judge.jinja: is 65,550 bytes; a judge"),
}


def write_spec(tmp_path, spec: dict, files: dict[str, str | bytes]):
    for name, contents in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(contents.encode() if isinstance(contents, str) else contents)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def validate(capsys, spec_path: str) -> tuple[int, str]:
    """Exit code and stderr of ``cdk-finetune validate`` (SpecError lines are as long as synth prints them)."""
    code = main(["validate", spec_path])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


def problem_lines(err: str) -> list[str]:
    """The problems printed, one bullet each (wrapped to 80 columns: continuation lines are indented)."""
    header, *lines = err.splitlines()
    assert header.startswith("invalid fine-tuning spec (")
    assert all(line.startswith(("  - ", "    ")) for line in lines), lines
    problems: list[str] = []
    for line in lines:
        if line.startswith("  - "):
            problems.append(line[4:])
        else:
            problems[-1] += " " + line.strip()
    return problems


def assert_rejected(capsys, spec_path: str, expected: str) -> None:
    code, err = validate(capsys, spec_path)
    assert code == 2
    [problem] = problem_lines(err)
    assert problem.startswith(expected)


@pytest.mark.parametrize("kind", BROKEN_REWARDS)
def test_broken_reward_modules_are_rejected_with_file_and_line(capsys, tmp_path, monkeypatch, kind):
    from cdk_sagemaker_finetuning.user_code import reward

    monkeypatch.setattr(reward, "IMPORT_SECONDS", 1.0)
    contents, expected = BROKEN_REWARDS[kind]
    spec = {**RLVR, "reward": {"code": "rewards/mine.py"}}
    assert_rejected(capsys, write_spec(tmp_path, spec, {"rewards/mine.py": contents}), expected)


@pytest.mark.parametrize("kind", BROKEN_JUDGE_PROMPTS)
def test_broken_judge_prompts_are_rejected_with_file_and_line(capsys, tmp_path, kind):
    contents, expected = BROKEN_JUDGE_PROMPTS[kind]
    spec = {**RLAIF, "rlaif": {"judge_model_id": JUDGE, "prompt": "prompts/judge.jinja"}}
    assert_rejected(capsys, write_spec(tmp_path, spec, {"prompts/judge.jinja": contents}), expected)


def test_every_prompt_problem_gets_its_own_line(capsys, tmp_path):
    spec = {**RLAIF, "rlaif": {"judge_model_id": JUDGE, "prompt": "judge.jinja"}}
    path = write_spec(tmp_path, spec, {"judge.jinja": "{{ prompt }}\n{{ rubric }} {{ style }}\n"})
    code, err = validate(capsys, path)
    assert code == 2
    assert problem_lines(err) == [
        "rlaif.prompt: judge.jinja:2: uses {{ rubric }}, which the service does not supply; a judge prompt "
        "may use only {{ prompt }}, {{ response }} and {{ ground_truth }}",
        "rlaif.prompt: judge.jinja:2: uses {{ style }}, which the service does not supply; a judge prompt "
        "may use only {{ prompt }}, {{ response }} and {{ ground_truth }}",
        "rlaif.prompt: judge.jinja: never uses {{ response }}: the judge could not see what it scores",
    ]


def test_reward_samples_must_score_inside_the_range(capsys, tmp_path):
    module = "def reward(sample):\n    return {'score': float(sample['want']), 'metrics': {}}\n"
    rows = '{"want": 0.5}\n\n{"want": 3}\n{"want": "x"}\n'
    spec = {**RLVR, "reward": {"code": "mine.py", "samples": "samples.jsonl", "score_range": [0, 1]}}
    code, err = validate(capsys, write_spec(tmp_path, spec, {"mine.py": module, "samples.jsonl": rows}))
    assert code == 2
    assert problem_lines(err) == [
        "reward.samples: samples.jsonl line 3: reward returned score 3, outside score_range [0, 1]",
        "reward.samples: samples.jsonl line 4: reward raised ValueError: could not convert string to float: "
        "'x' (line 2)",
    ]


def test_reward_samples_file_problems(capsys, tmp_path):
    spec = {**RLVR, "reward": {"code": "mine.py", "samples": "samples.jsonl"}}
    path = write_spec(tmp_path, spec, {"mine.py": "def reward(sample):\n    return 1\n",
                                       "samples.jsonl": '{"a": 1}\n{oops\n'})
    code, err = validate(capsys, path)
    assert code == 2
    assert problem_lines(err) == ["reward.samples: samples.jsonl line 2 is not JSON: "
                                  "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"]
    builtin = {**RLVR, "reward": {"builtin": "exact_match", "samples": "samples.jsonl"}}
    code, err = validate(capsys, write_spec(tmp_path, builtin, {}))
    assert problem_lines(err) == ["reward.samples: only applies to reward.code (rows the module must score); remove it"]


def test_good_reward_module_with_samples_passes(capsys, tmp_path):
    spec = {**RLVR, "reward": {"code": "mine.py", "samples": "samples.jsonl"}}
    path = write_spec(tmp_path, spec, {"mine.py": "import boto3\n\ndef reward(sample):\n    return 0.5\n",
                                       "samples.jsonl": '{"response": "a"}\n'})
    assert main(["validate", path]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_example_spec_validates(capsys, example):
    assert main(["validate", str(EXAMPLES / example)]) == 0, capsys.readouterr().err
