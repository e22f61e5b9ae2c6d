"""Offline harness for the cdk-finetune commands: Stubber-backed clients and a CLI runner."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from botocore.stub import Stubber

from cdk_sagemaker_finetuning import cli
from cdk_sagemaker_finetuning.commands import _aws, _term
from tests import stub_pool

REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def flat_out(self) -> str:
        """stdout with line wrapping undone (runs of whitespace become one space)."""
        return " ".join(self.out.split())

    @property
    def flat_err(self) -> str:
        return " ".join(self.err.split())


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Stubber]]:
    """``stubs("sagemaker")`` returns the Stubber of the client every command gets for that service."""
    with stub_pool.lent_on_demand(REGION, _aws.CONFIG) as stubbers:

        def fake_client(args: argparse.Namespace, service: str) -> object:
            if service not in stubbers:
                raise AssertionError(f"unexpected {service} client; stub it first")
            _aws.region(args)
            return stubbers[service].client

        monkeypatch.setattr(_aws, "client", fake_client)
        yield stubbers


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run ``cdk-finetune ARGS`` through cli.main in an 80-column terminal; check that the output fits."""
    monkeypatch.setenv("COLUMNS", str(_term.WIDTH))

    def invoke(*argv: str) -> Result:
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse: --help (0) and usage errors (2)
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        assert_fits(captured.out)
        assert_fits(captured.err)
        return Result(code, captured.out, captured.err)

    return invoke


def assert_fits(text: str) -> None:
    """Every line fits 80 columns, except a bare ARN/URL alone on its line."""
    for line in text.splitlines():
        assert len(line) <= _term.WIDTH or " " not in line.strip(), f"line too long: {line!r}"


@pytest.fixture(autouse=True)
def no_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands never see a terminal unless a test feeds answers."""
    monkeypatch.setattr(_term, "interactive", lambda: False)


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[str]]:
    """Simulate an interactive terminal answering the given lines; returns the prompts asked."""

    def feed(*lines: str) -> list[str]:
        queue = list(lines)
        asked: list[str] = []

        def fake_input(prompt: str) -> str:
            asked.append(prompt)
            if not queue:
                raise AssertionError(f"unexpected question: {prompt}")
            return queue.pop(0)

        monkeypatch.setattr(_term, "interactive", lambda: True)
        monkeypatch.setattr("builtins.input", fake_input)
        return asked

    return feed
