"""The shared checks of user files: reward modules (in a Lambda-like interpreter) and judge prompts (jinja2)."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_sagemaker_finetuning.user_code import check_judge_prompt, check_reward_code, lambda_dependencies
from cdk_sagemaker_finetuning.user_code import prompt as prompt_check
from cdk_sagemaker_finetuning.user_code import reward as reward_check
from tests.conftest import EXAMPLES

GOOD = "def reward(sample):\n    return {'score': 0.5, 'metrics': {'length': len(sample.response)}}\n"
PROMPT = "Question: {{ prompt }}\nAnswer: {{ response }}\n{% if ground_truth %}Reference: {{ ground_truth }}{% endif %}\n"

#: (file contents, rendered problem, with {f} for the file) of every kind of broken reward module.
BROKEN_MODULES = {
    "syntax error": ("def reward(sample)\n    return 1.0\n", "{f}:1:19: SyntaxError: expected ':'"),
    "no reward": ("def score(sample):\n    return 1.0\n", "{f}: defines no reward(sample) function"),
    "not callable": ("reward = 0.5\n", "{f}: 'reward' is not a function but a float"),
    "wrong arity": ("def reward(sample, context):\n    return 1.0\n",
                    "{f}:1: reward(sample, context) cannot be called with one sample"),
    "no parameter": ("def reward():\n    return 1.0\n", "{f}:1: reward() cannot be called with one sample"),
    "numpy": ("import json\nimport numpy as np\n\ndef reward(sample):\n    return float(np.float64(1))\n",
              "{f}:2: imports 'numpy', which the Lambda cannot import: it has only the Python standard library, "
              "boto3 and the reward runtime"),
    "from-import of a submodule": ("from sympy.parsing import parse_expr\n", "{f}:1: imports 'sympy'"),
    "sibling module": ("import helpers\n\ndef reward(sample):\n    return helpers.score(sample)\n",
                       "{f}:1: imports 'helpers', which the Lambda cannot import"),
    "raises at import": ("\n\nraise RuntimeError('no config')\n", "{f}:3: cannot import it: RuntimeError: no config"),
    "exits at import": ("import sys\nsys.exit(3)\n", "{f}:2: cannot import it: SystemExit: 3"),
    "kills its interpreter": ("import os\nos._exit(7)\n", "{f}: the interpreter importing it exited with code 7"),
    "latin-1": (b"# -*- coding: latin-1 -*-\nLABEL = 'caf\xe9'\ndef reward(sample):\n    return 1.0\n",
                "{f}:2: byte 38 (0xe9) is not UTF-8; save the module as UTF-8"),
    "null byte": (b"def reward(sample):\n    return 1.0\x00\n",
                  "{f}: SyntaxError: source code string cannot contain null bytes (Python cannot compile the module)"),
}


def write(tmp_path: Path, contents: str | bytes, name: str = "my_reward.py") -> Path:
    path = tmp_path / name
    path.write_bytes(contents.encode() if isinstance(contents, str) else contents)
    return path


@pytest.mark.parametrize("kind", BROKEN_MODULES)
def test_every_kind_of_broken_reward_module_gets_one_clear_problem(tmp_path, kind):
    contents, expected = BROKEN_MODULES[kind]
    path = write(tmp_path, contents)
    (tmp_path / "helpers.py").write_text("def score(sample):\n    return 1.0\n")  # next to it, not packaged
    check = check_reward_code(path)
    assert len(check.problems) == 1
    rendered = check.problems[0].render("rewards/mine.py")
    assert rendered.startswith(expected.replace("{f}", "rewards/mine.py"))
    assert "\n" not in rendered and "Traceback" not in rendered


def test_numpy_is_rejected_although_this_interpreter_has_it(tmp_path):
    assert importlib.util.find_spec("numpy") is not None
    check = check_reward_code(write(tmp_path, BROKEN_MODULES["numpy"][0]))
    assert "imports 'numpy'" in check.problems[0].message


def test_an_endless_loop_at_import_times_out(tmp_path, monkeypatch):
    monkeypatch.setattr(reward_check, "IMPORT_SECONDS", 1.5)
    [problem] = check_reward_code(write(tmp_path, "while True:\n    pass\n")).problems
    assert problem.message.startswith("importing it took longer than 1.5 s (an endless loop at import?)")


def test_an_endless_loop_while_scoring_times_out(tmp_path, monkeypatch):
    monkeypatch.setattr(reward_check, "SCORING_SECONDS", 1.0)
    path = write(tmp_path, "def reward(sample):\n    while True:\n        pass\n")
    [problem] = check_reward_code(path, rows=[{"response": "x"}]).problems
    assert problem.message == "scoring 1 sample row(s) took longer than 1 s (an endless loop?)"


def test_the_lambda_packages_are_importable_and_nothing_else(tmp_path):
    module = ("import boto3, botocore, s3transfer, jmespath, dateutil, six, urllib3, json, sqlite3\n"
              "from reward_runtime.sample import Sample\n"
              "def reward(sample):\n    return 1.0 if isinstance(sample, Sample) else -1.0\n")
    check = check_reward_code(write(tmp_path, module), rows=[{"response": "x"}])
    assert check.problems == () and check.sample_problems() == ([], 0)
    names = {name for name, _ in lambda_dependencies()}
    assert names == {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3"}
    for other in ("pydantic", "yaml", "jinja2", "aws_cdk", "cdk_sagemaker_finetuning"):
        [problem] = check_reward_code(write(tmp_path, f"import {other}\n", f"{other}_reward.py")).problems
        assert f"imports {other!r}" in problem.message


def test_sample_rows_return_a_number_or_score_dict_inside_the_range(tmp_path):
    module = ("def reward(sample):\n"
              "    kind = sample['kind']\n"
              "    if kind == 'raise':\n        raise ValueError('bad row')\n"
              "    return {'number': 0.5, 'dict': {'score': 1, 'metrics': {'m': 1}}, 'high': 2.5, 'text': 'yes',\n"
              "            'nan': float('nan'), 'nodict': {'metrics': {}}, 'bool': True}[kind]\n")
    rows = [{"kind": k} for k in ("number", "dict", "high", "text", "nan", "nodict", "bool", "raise")] + ["x"]
    check = check_reward_code(write(tmp_path, module), score_range=(0, 2), rows=rows)
    assert check.problems == ()
    messages = [check.sample_message(i) for i in range(len(rows))]
    assert messages[:2] == [None, None]
    assert messages[2] == "reward returned score 2.5, outside score_range [0, 2]"
    assert messages[3].startswith("reward returned 'yes' (score must be a number, got str); it must return")
    assert messages[4].startswith("reward returned nan (score must be finite")
    assert messages[5].startswith("reward returned {'metrics': {}} (a reward dict needs a 'score'")
    assert messages[6].startswith("reward returned True (score must be a number, got bool)")
    assert messages[7] == "reward raised ValueError: bad row (line 4)"
    assert messages[8] == "the row is not a JSON object"
    failing, more = check.sample_problems(limit=5)
    assert [index for index, _ in failing] == [2, 3, 4, 5, 6] and more == 2
    # the handler's own result of each row travels along (clamped, error metric)
    assert check.rows[2]["entry"]["aggregate_reward_score"] == 2.0
    assert check.rows[7]["entry"]["metrics_list"] == [{"name": "error", "value": 1, "type": "Metric"}]


def test_results_are_cached_per_content_within_a_process(tmp_path, monkeypatch):
    calls = []
    real = reward_check._probe
    monkeypatch.setattr(reward_check, "_probe", lambda *args: calls.append(args) or real(*args))
    source = GOOD + "# cache test\n"
    first = check_reward_code(write(tmp_path, source, "a.py"))
    second = check_reward_code(write(tmp_path, source, "b.py"))
    assert first == second and len(calls) == 1
    check_reward_code(write(tmp_path, source, "c.py"), rows=[{"response": "x"}])
    assert len(calls) == 2  # other rows: checked again
    other = GOOD + "# checked with rows first\n"
    with_rows = check_reward_code(write(tmp_path, other, "d.py"), rows=[{"response": "x"}])
    without = check_reward_code(write(tmp_path, other, "e.py"))  # what RewardFunction asks after the spec
    assert len(calls) == 3 and with_rows.problems == without.problems == ()


def test_the_probe_imports_only_the_standard_library_and_the_reward_runtime():
    tree = ast.parse(reward_check.PROBE.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 and node.level == 0}
    assert imported - {"__future__"} <= set(sys.stdlib_module_names) | {"reward_runtime"}
    assert "reward_runtime" in imported


def test_unreadable_module_is_a_problem_not_an_exception(tmp_path):
    [problem] = check_reward_code(tmp_path).problems
    assert problem.render("dir") == "dir: cannot be read: Is a directory"


def test_the_example_reward_module_passes():
    rows = [{"response": "restart the printer", "reward_model": {"ground_truth": "restart"}}]
    check = check_reward_code(EXAMPLES / "rewards" / "keyword_reward.py", rows=rows)
    assert check.problems == () and check.sample_problems() == ([], 0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(contents=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_random_bytes_as_a_reward_module_only_give_clear_problems(tmp_path, contents):
    check = check_reward_code(write(tmp_path, contents))
    assert len(check.problems) <= 1
    for problem in check.problems:
        rendered = problem.render("r.py")
        assert rendered.startswith("r.py") and "\n" not in rendered and "Traceback" not in rendered


# -- judge prompts -------------------------------------------------------------------------------------------

BROKEN_PROMPTS = {
    "no response": ("Rate {{ prompt }}.\n", ["{f}: never uses {{ response }}: the judge could not see what it scores"]),
    "response only in a comment": ("{# {{ response }} #}{{ prompt }}\n", ["{f}: never uses {{ response }}"]),
    "response shadowed": ("{% set response = 'x' %}{{ response }}\n", ["{f}: never uses {{ response }}"]),
    "unknown variable": ("{{ prompt }}\n{{ response }}\n\n{{ rubric }}\n",
                         ["{f}:4: uses {{ rubric }}, which the service does not supply; a judge prompt may use "
                          "only {{ prompt }}, {{ response }} and {{ ground_truth }}"]),
    "unclosed if": ("{{ response }}\n{% if ground_truth %}\nReference: {{ ground_truth }}\n",
                    ["{f}:3: Jinja syntax error: Unexpected end of template. Jinja was looking for the following "
                     "tags: 'elif' or 'else' or 'endif'."]),
    "bad expression": ("{{ response }\n", ["{f}:1: Jinja syntax error: unexpected '}'"]),
    "unknown filter": ("{{ response | shout }}\n", ["{f}:1: Jinja syntax error: No filter named 'shout'."]),
    "include": ("{{ response }}\n{% include 'rubric.jinja' %}\n",
                ["{f}:2: refers to another template; the service renders the prompt file alone"]),
    "not utf-8": (b"R\xe9ponse: {{ response }}\n", ["{f}:1: byte 1 (0xe9) is not UTF-8; save the prompt as UTF-8"]),
    "too large": ("{{ response }}" + "x" * 70_000,
                  ["{f}: is 70,014 bytes; a judge prompt may have at most 65,536 bytes"]),
}


@pytest.mark.parametrize("kind", BROKEN_PROMPTS)
def test_every_kind_of_broken_prompt_is_named(tmp_path, kind):
    contents, expected = BROKEN_PROMPTS[kind]
    path = write(tmp_path, contents, "judge.jinja")
    rendered = [problem.render("prompts/judge.jinja") for problem in check_judge_prompt(path)]
    assert len(rendered) == len(expected)
    for line, start in zip(rendered, expected, strict=True):
        assert line.startswith(start.replace("{f}", "prompts/judge.jinja"))


def test_good_prompts_pass(tmp_path):
    assert check_judge_prompt(write(tmp_path, PROMPT, "judge.jinja")) == []
    assert check_judge_prompt(EXAMPLES / "prompts" / "helpfulness.jinja") == []
    exactly = "{{ response }}" + "x" * (prompt_check.MAX_PROMPT_BYTES - len("{{ response }}"))
    assert check_judge_prompt(write(tmp_path, exactly, "max.jinja")) == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(contents=st.one_of(st.binary(max_size=200), st.text(alphabet="{}%#-+ \n'\"abcdefresponse|()[]", max_size=80)
                          .map(str.encode)))
def test_random_prompts_only_give_clear_problems(tmp_path, contents):
    for problem in check_judge_prompt(write(tmp_path, contents, "judge.jinja")):
        rendered = problem.render("judge.jinja")
        assert rendered.startswith("judge.jinja") and "\n" not in rendered
