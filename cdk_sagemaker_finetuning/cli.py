"""``cdk-finetune``: the interactive side of cdk-sagemaker-finetuning.

Each command group lives in its own module under ``commands/`` and exposes ``register(subparsers)``; the
function it sets as ``handler`` takes the parsed arguments and returns the exit code. :func:`main` is the one
place that reports input errors a handler raises: a ``SpecError`` prints the spec's problems; a file that
cannot be used (``FileProblem``), a ``CommandError`` or a file system error (writing into a directory, a file
where a folder is needed) prints one line. Input errors exit 2.
Exit codes: 0 success, 1 the operation failed (AWS error, job failed), 2 invalid input (spec, flags, data).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import metadata

from . import jsii_env

jsii_env.configure()  # before any command imports aws_cdk: no Node end-of-life banner

from .commands import (  # noqa: E402
    _aws,
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
from .files import FileProblem  # noqa: E402
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
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def _version() -> str:
    try:
        return metadata.version("cdk-sagemaker-finetuning")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (also used by the console script)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if any("\x00" in arg for arg in argv):  # no shell can pass one; no path may hold one
        parser.error("an argument contains a NUL character")
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except SpecError as exc:  # the same messages as synth, for every command that reads a spec
        print(_term.wrap_list(str(exc)), file=sys.stderr)
        return 2
    except (FileProblem, _aws.CommandError) as exc:
        print(_term.wrap(f"error: {exc}", "", "  "), file=sys.stderr)
        return getattr(exc, "exit_code", _aws.INVALID)
    except OSError as exc:  # e.g. -o names a folder, --dir names a file
        what = f"cannot use {str(exc.filename)!r}: " if exc.filename else ""
        print(_term.wrap(f"error: {what}{exc.strerror or exc}", "", "  "), file=sys.stderr)
        return _aws.INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
