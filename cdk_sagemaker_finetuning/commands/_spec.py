"""The spec argument of the commands that read a spec (``validate``, ``plan``, ``notebook``)."""

from __future__ import annotations

import argparse

from ..spec import FineTuningSpec, load_spec
from . import _aws


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """``SPEC`` and ``--allow-unknown-model``."""
    parser.add_argument("spec", help="path to the spec (YAML or JSON)")
    parser.add_argument(
        "--allow-unknown-model",
        action="store_true",
        help="accept a base model outside the known model families (one newer than this library); the same "
        "as allow_unknown_model: true in the spec",
    )


def load(args: argparse.Namespace) -> FineTuningSpec:
    """The spec named on the command line; its ``region`` becomes the command's fallback AWS region."""
    spec = load_spec(args.spec, allow_unknown_model=args.allow_unknown_model)
    _aws.infer_region(args, spec.region)
    return spec
