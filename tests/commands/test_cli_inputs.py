"""``cdk-finetune`` never lets an exception escape or prints a traceback, whatever the arguments.

Hypothesis drives :func:`cli.main` with argument lists built from the parser itself (every command, option and
choice), filled with awkward values: missing paths, directories, non-UTF-8 and binary files, JSON of the wrong
shape, numbers, flags and junk. AWS is unreachable and fails fast (a closed local port, one attempt), so every
command that calls AWS takes its error path.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest
import yaml
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_sagemaker_finetuning import cli
from cdk_sagemaker_finetuning.commands import _aws
from tests import workflow_data as wd
from tests.conftest import EXAMPLES

EXAMPLES_RUN = 1000
TRACEBACK = "Traceback (most recent call last)"


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], list]:
    """Every leaf command path and its actions, read from the argparse tree."""
    found: dict[tuple[str, ...], list] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(_commands(sub, (*path, name)))
            return found
    return {path: [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]}


COMMANDS = _commands(cli.build_parser())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files of every awkward kind, plus valid ones, in one folder."""
    root = tmp_path_factory.mktemp("fuzz")
    for example in ("sft-llama-3-2-1b.yaml", "rlvr-custom-reward.yaml", "rlaif-custom-prompt.yaml"):
        shutil.copy(EXAMPLES / example, root / example)
    for folder in ("rewards", "prompts"):
        shutil.copytree(EXAMPLES / folder, root / folder)
    (root / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    (root / "binary.json").write_bytes(bytes(range(256)))
    (root / "list.json").write_text("[1, 2]")
    (root / "scalar.yaml").write_text("just a string\n")
    (root / "broken.json").write_text('{"a": ')
    (root / "empty.jsonl").write_text("")
    (root / "folder.yaml").mkdir()
    (root / "hub.json").write_text(json.dumps(wd.hub_content()))
    (root / "hub-name-bool.json").write_text(json.dumps({**wd.hub_content(), "HubContentName": True}))
    no_recipes = {**wd.hub_content(), "HubContentDocument": json.dumps({"RecipeCollection": True})}
    (root / "hub-recipes-true.json").write_text(json.dumps(no_recipes))
    odd_bounds = {
        **wd.override_spec(wd.LLAMA, "SFT"),
        "max_epochs": {"type": "integer", "min": "one", "default": 2},
    }
    (root / "params-text-bounds.json").write_text(json.dumps(odd_bounds))
    (root / "params.json").write_text(json.dumps(wd.override_spec(wd.LLAMA, "SFT")))
    (root / "outputs.json").write_text(json.dumps({"FineTuning-support-sft": {"TrainUri": "s3://b/t.jsonl"}}))
    rows = [{"prompt": "1+1?", "reward_model": {"ground_truth": "2"}, "response": "2"}]
    (root / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (root / "responses.txt").write_text('""\n')
    (root / "spec.yaml").write_text(yaml.safe_dump({"name": "x", "technique": "sft"}))
    demo = {
        "name": "demo",
        "technique": "sft",
        "base_model": wd.LLAMA,
        "accept_eula": True,
        "data": {"train": "s3://demo-data/train.jsonl"},
    }
    (root / "demo.yaml").write_text(yaml.safe_dump(demo))
    return root


FILES = [
    "demo.yaml",
    "sft-llama-3-2-1b.yaml",
    "rlvr-custom-reward.yaml",
    "rlaif-custom-prompt.yaml",
    "rewards",
    "prompts/helpfulness.jinja",
    "rewards/keyword_reward.py",
    "latin1.yaml",
    "binary.json",
    "list.json",
    "scalar.yaml",
    "broken.json",
    "empty.jsonl",
    "folder.yaml",
    "hub.json",
    "hub-name-bool.json",
    "hub-recipes-true.json",
    "params-text-bounds.json",
    "params.json",
    "outputs.json",
    "rows.jsonl",
    "responses.txt",
    "spec.yaml",
    "missing.yaml",
    "missing/dir/out.ipynb",
    "-",
]
SPECS = st.sampled_from(FILES[:4])
VALUES = st.one_of(
    SPECS,
    st.sampled_from(FILES),
    st.sampled_from(["[1,2]", "{}", "null", '{"trainUri": 3}', "0", "-1", "1e309", "nan", "", " "]),
    st.sampled_from(["0", "1", "0.5", "-1", "inf", "-inf", "1e308", "100", "-0"]),
    st.sampled_from(["s3://bucket/key", "arn:aws:states:us-east-1:123456789012:execution:m:e", "eu-west-1"]),
    st.integers(-(10**20), 10**20).map(str),
    st.text(max_size=12),
)


def _values(draw: st.DrawFn, action: argparse.Action) -> list[str]:
    if action.nargs == 0:
        return []
    count = action.nargs if isinstance(action.nargs, int) else 1
    pool = st.sampled_from(list(action.choices)) if action.choices else VALUES
    return [draw(pool) for _ in range(count)]


@st.composite
def argument_lists(draw: st.DrawFn) -> list[str]:
    """A command, its positionals (usually), some of its options, and now and then a stray token."""
    path = draw(st.sampled_from(sorted(COMMANDS)))
    actions = COMMANDS[path]
    argv = list(path)
    options = [a for a in actions if a.option_strings]
    for action in draw(st.lists(st.sampled_from(options), max_size=5)) if options else []:
        argv += [draw(st.sampled_from(action.option_strings)), *_values(draw, action)]
    for action in (a for a in actions if not a.option_strings):
        if draw(st.integers(0, 9)):
            argv += _values(draw, action)
    if draw(st.integers(0, 9)) == 0:
        argv.insert(draw(st.integers(0, len(argv))), draw(VALUES))
    return argv


@pytest.fixture
def offline_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every AWS call fails at once: a closed local port, one attempt, short timeouts."""
    monkeypatch.setattr(
        _aws,
        "CONFIG",
        Config(retries={"total_max_attempts": 1}, connect_timeout=0.2, read_timeout=0.2),
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    monkeypatch.setattr("builtins.input", lambda prompt="": (_ for _ in ()).throw(EOFError()))


BAD_FILES = {
    "missing.yaml": "it does not exist",
    "folder.yaml": "it is a directory; pass a file",
    "latin1.yaml": "it is not UTF-8 text (byte 0xe9 at offset 9)",
    "binary.json": "it is not UTF-8 text (byte 0x80 at offset 128)",
}
SPEC = "demo.yaml"
OFFLINE = ["--hub-content", "hub.json", "--recipe-params", "params.json"]
READERS = {
    "validate": ["validate", "{file}"],
    "plan spec": ["plan", "{file}", *OFFLINE],
    "plan --hub-content": ["plan", SPEC, "--hub-content", "{file}", "--recipe-params", "params.json"],
    "plan --recipe-params": ["plan", SPEC, "--hub-content", "hub.json", "--recipe-params", "{file}"],
    "plan --outputs-file": ["plan", SPEC, *OFFLINE, "--outputs-file", "{file}"],
    "notebook spec": ["notebook", "{file}", "-o", "-"],
    "notebook --outputs": ["notebook", SPEC, "-o", "-", "--outputs", "{file}"],
    "reward test data": ["reward", "test", "numeric_answer", "{file}"],
    "reward test --responses": ["reward", "test", "numeric_answer", "rows.jsonl", "--responses", "{file}"],
}


def _one_line_error(result_err: str) -> str:
    """The flattened message, after checking it is one message (wrapped to 80 columns) and no traceback."""
    assert TRACEBACK not in result_err
    lines = result_err.splitlines()
    starts = [
        line for line in lines if line.startswith(("error:", "PreflightError", "invalid fine-tuning spec"))
    ]
    assert len(starts) == 1 and lines[0] == starts[0], result_err
    assert sum(line.startswith("  - ") for line in lines) <= 1, result_err  # a spec error lists one problem
    return " ".join(result_err.split())


@pytest.mark.parametrize("bad", sorted(BAD_FILES))
@pytest.mark.parametrize("reader", sorted(READERS))
def test_every_file_the_cli_reads_fails_in_one_line(reader, bad, workdir, run, monkeypatch):
    monkeypatch.chdir(workdir)
    argv = [arg.format(file=bad) for arg in READERS[reader]]
    result = run(*argv)
    assert result.code == 2, result.err
    flat = _one_line_error(result.err)
    assert bad in flat and BAD_FILES[bad] in flat


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["plan", SPEC, *OFFLINE, "--recipe-params", "list.json"],
            "must hold a JSON object (mapping), not a list",
        ),
        (
            ["plan", SPEC, *OFFLINE, "--outputs-file", "broken.json"],
            "is not valid JSON: Expecting value at line 1",
        ),
        (["plan", SPEC, *OFFLINE, "--input", "[1,2]"], "execution input [1, 2] must be a JSON object"),
        (["validate", "scalar.yaml"], "'just a string' is not a mapping"),
        (["notebook", SPEC, "-o", "rewards"], "-o 'rewards' is a folder; pass a file name"),
        (["notebook", SPEC, "-o", "rewards", "--force"], "-o 'rewards' is a folder; pass a file name"),
        (["notebook", SPEC, "-o", "hub.json/x.ipynb"], "cannot use 'hub.json'"),
        (
            [
                "init",
                "--dir",
                "hub.json",
                "--technique",
                "sft",
                "--model",
                "huggingface-reasoning-qwen3-8b",
                "--name",
                "x",
                "--data",
                "s3://bucket/train.jsonl",
            ],
            "--dir 'hub.json' is a file; pass a folder",
        ),
        (["reward", "test", "spec.yaml", "rows.jsonl"], "must be a Python module (.py)"),
        (
            ["reward", "test", "numeric_answer", "rows.jsonl", "--score-range", "0", "inf"],
            "LOW and HIGH must be finite numbers, e.g. -1 1",
        ),
        (
            ["plan", SPEC, "--hub-content", "hub-name-bool.json", "--recipe-params", "params.json"],
            "--hub-content: HubContentName must be text, as AWS returns it",
        ),
        (
            ["plan", SPEC, "--hub-content", "hub-recipes-true.json", "--recipe-params", "params.json"],
            "PreflightError.UnsupportedTechnique (technique): meta-textgeneration-llama-3-2-1b-instruct has no "
            "SFT recipe; serverless techniques offered: none",
        ),
    ],
)
def test_wrong_shapes_and_places_fail_in_one_line(argv, words, workdir, run, monkeypatch):
    monkeypatch.chdir(workdir)
    result = run(*argv)
    assert result.code == 2, result.err
    assert words in _one_line_error(result.err)


def test_an_argument_with_a_nul_character_is_a_usage_error(run):
    result = run("validate", "spec\x00.yaml")
    assert result.code == 2
    assert "cdk-finetune: error: an argument contains a NUL character" in result.err


def test_recipe_bounds_that_are_not_numbers_are_ignored(workdir, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    argv = [
        "plan",
        SPEC,
        "--hub-content",
        "hub.json",
        "--recipe-params",
        "params-text-bounds.json",
        "--input",
    ]
    argv.append(json.dumps({"hyperparameters": {"max_epochs": 3}}))
    assert cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out)["HyperParameters"]["max_epochs"] == "3"  # the request JSON


def test_no_argument_list_escapes_or_prints_a_traceback(workdir, offline_aws, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    # built once (half of an example's time otherwise): parsing leaves a parser as it was
    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    ran: list[list[str]] = []

    @settings(
        max_examples=EXAMPLES_RUN,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(argv=argument_lists())
    def check(argv: list[str]) -> None:
        ran.append(argv)
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse: --help, --version and usage errors
            code = exc.code
        out, err = capsys.readouterr()
        assert code in (0, 1, 2), (argv, code, err[-2000:])
        assert TRACEBACK not in out and TRACEBACK not in err, (argv, err[-2000:])

    check()
    assert len(ran) >= EXAMPLES_RUN
    commands = {tuple(argv[:2]) for argv in ran}
    assert len(commands) >= len(COMMANDS)  # every command was driven
