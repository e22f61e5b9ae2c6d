"""``cdk-finetune validate SPEC``: check a spec and print what it resolves to."""

from __future__ import annotations

import argparse

from ..runtime import models
from ..spec import FineTuningSpec, load_spec


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate", help="validate a fine-tuning spec and summarize it")
    parser.add_argument("spec", help="path to the spec (YAML or JSON)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    print(summary(spec))
    return 0


def summary(spec: FineTuningSpec) -> str:
    """A short, human-readable summary of a resolved spec."""
    lic = models.license_for(spec.hub_content_name)
    model = f"{spec.hub_content_name} ({spec.hub}, version {spec.base_model_version or 'latest at run time'})"
    data = spec.data
    where = "created data bucket" if data.create_bucket else "S3"
    rows = [
        ("project", spec.name),
        ("model", model),
        ("license", f"{lic.name} - {lic.url}" if lic else "unknown (check the model card)"),
        ("technique", f"{spec.technique.upper()} ({spec.training_type.upper()})"),
        (
            "model package group",
            spec.model_package_group_name + (" (existing)" if spec.model_package_group.existing else ""),
        ),
        ("train data", f"{data.train} [{where}]"),
        ("validation data", data.validation or "none"),
        ("output", spec.output.s3_uri or "created output bucket"),
        ("max runtime", f"{spec.max_runtime_hours} h"),
    ]
    if spec.hyperparameters:
        rows.append(("overrides", ", ".join(f"{k}={v}" for k, v in sorted(spec.hyperparameters.items()))))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
