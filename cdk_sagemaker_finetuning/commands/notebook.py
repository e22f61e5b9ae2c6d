"""``cdk-finetune notebook SPEC``: write the spec's SageMaker SDK v3 notebook (or script), filled from the stack."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat

from .. import notebook
from . import _aws, _spec, _term, project_outputs


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "notebook",
        help="write a Jupyter notebook or Python script that runs the spec's training job with the SDK",
        description="Write a Jupyter notebook (or, with --script, a Python script) that runs the spec's "
        "fine-tuning job with the SageMaker Python SDK v3, filled with the deployed stack's outputs.",
    )
    _spec.add_spec_arguments(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="file to write ('-' for stdout); default: <project name>.ipynb (or .py) in the current folder",
    )
    parser.add_argument(
        "--script", action="store_true", help="write a plain Python script with '# %%%%' cells"
    )
    parser.add_argument(
        "--outputs",
        metavar="FILE",
        help="stack outputs from `cdk deploy --outputs-file FILE`; without it, stack values are placeholders",
    )
    parser.add_argument(
        "--stack",
        metavar="STACK",
        help="read the outputs of the spec's project from this deployed stack (AWS credentials needed; a "
        "platform stack's nested stacks are searched) instead of --outputs",
    )
    parser.add_argument(
        "--validate-role",
        action="store_true",
        help="keep the SDK's client-side role check (only for roles that grant its EC2/ECR wildcard actions)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    _aws.add_aws_options(parser)
    parser.set_defaults(handler=run)


@_aws.friendly_errors
def run(args: argparse.Namespace) -> int:
    spec = _spec.load(args)
    if args.stack and args.outputs:
        raise _aws.CommandError("pass --outputs or --stack, not both", _aws.INVALID)
    outputs: Mapping[str, Any] | None
    try:
        if args.stack:
            outputs = project_outputs.find(args, args.stack, spec.name)
        else:
            outputs = notebook.load_outputs(args.outputs) if args.outputs else None
        if args.script:
            text = notebook.render_script(spec, outputs, validate_role=args.validate_role)
        else:
            text = (
                nbformat.writes(notebook.render_notebook(spec, outputs, validate_role=args.validate_role))
                + "\n"
            )
    except ValueError as exc:
        print(_term.wrap(f"error: {exc}"), file=sys.stderr)
        return 2
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    default = f"{spec.name}.{'py' if args.script else 'ipynb'}"
    path = Path(args.output or default)
    if path.is_dir():
        message = f"error: -o {str(path)!r} is a folder; pass a file name, e.g. {path / default}"
        print(_term.wrap(message), file=sys.stderr)
        return 2
    if path.exists() and not args.force:
        print(_term.wrap(f"error: {path} exists; use --force to overwrite it"), file=sys.stderr)
        return 2
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    kind = "script" if args.script else "notebook"
    source = (
        f"stack outputs from {args.outputs or args.stack}"
        if args.outputs or args.stack
        else "placeholders for the stack outputs"
    )
    print(_term.wrap(f"wrote {kind} {path} ({spec.technique.upper()} on {spec.hub_content_name}, {source})"))
    return 0
