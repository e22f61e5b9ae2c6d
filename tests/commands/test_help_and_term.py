"""--help of every cdk-finetune command in 80 columns, and the terminal helpers."""

from __future__ import annotations

import pytest

from cdk_sagemaker_finetuning.commands import _term

COMMANDS = [
    ["hubs"],
    ["models"],
    ["techniques"],
    ["recommend"],
    ["init"],
    ["data"],
    ["data", "check"],
    ["start"],
    ["status"],
    ["metrics"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help(run, command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.code == 0
    assert result.out.startswith(f"usage: cdk-finetune {' '.join(command)}")
    assert all(len(line) <= 80 for line in result.out.splitlines())


def test_top_level_help_lists_every_command(run) -> None:
    result = run("--help")
    assert result.code == 0
    for name in ("hubs", "models", "techniques", "recommend", "init", "data", "start", "status", "metrics"):
        assert any(line.split()[:1] == [name] and line.startswith("    ") for line in result.out.splitlines())


def test_usage_errors_exit_2_and_fit(run) -> None:
    result = run("status")
    assert result.code == 2
    assert "the following arguments are required: EXECUTION|JOB" in result.flat_err


def test_table_shrinks_the_widest_column_to_fit() -> None:
    text = _term.table(("name", "description"), [("a", "x" * 120), ("bb", "short")])
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert lines[0].split() == ["name", "description"]
    assert lines[1].startswith("----  ---")
    assert lines[2].endswith("...") and len(lines[2]) == 80
    assert lines[3] == "bb    short"


def test_field_puts_long_tokens_on_their_own_line() -> None:
    arn = "arn:aws:states:us-east-1:123456789012:execution:" + "x" * 20
    assert _term.field("Execution", "short", 12) == "Execution:    short"
    assert _term.field("Execution", arn, 12) == f"Execution:\n  {arn}"
    words = " ".join(["word"] * 40)
    assert all(len(line) <= 80 for line in _term.field("Reason", words).splitlines())


@pytest.mark.parametrize(
    ("percent", "expected"),
    [
        (0, "[..........]   0.0%"),
        (42.5, "[####......]  42.5%"),
        (100, "[##########] 100.0%"),
        (150, "[##########] 100.0%"),
        (-3, "[..........]   0.0%"),
    ],
)
def test_progress_bar(percent: float, expected: str) -> None:
    assert _term.progress_bar(percent, 10) == expected


def test_end_of_input_while_asking_interrupts_the_command(run, monkeypatch) -> None:
    def closed(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr(_term, "interactive", lambda: True)
    monkeypatch.setattr("builtins.input", closed)
    result = run("recommend")
    assert result.code == 130
    assert result.err == "interrupted\n"
