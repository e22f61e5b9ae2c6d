"""``cdk-finetune``: the interactive side of cdk-sagemaker-finetuning.

Each command group lives in its own module under ``commands/`` and exposes ``register(subparsers)``; the
function it sets as ``handler`` takes the parsed arguments and returns the exit code. A ``SpecError`` raised
by a handler prints the spec's problems and exits 2.
Exit codes: 0 success, 1 the operation failed (AWS error, job failed), 2 invalid input (spec, flags, data).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import jsii_env

jsii_env.configure()  # before any command imports aws_cdk: no Node end-of-life banner

from .commands import (  # noqa: E402
    _term,
    data,
    discovery,
    evaluation,
    init_spec,
    metrics,
    notebook,
    plan,
    recommend,
    reward,
    runs,
    validate,
)
from .spec import SpecError  # noqa: E402

COMMAND_MODULES = (
    validate,
    discovery,
    recommend,
    init_spec,
    data,
    plan,
    runs,
    metrics,
    evaluation,
    notebook,
    reward,
)


def build_parser() -> argparse.ArgumentParser:
    parser = _term.Parser(
        prog="cdk-finetune",
        description="Validate, plan and run SageMaker serverless fine-tuning projects.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (also used by the console script)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except SpecError as exc:  # the same messages as synth, for every command that reads a spec
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
