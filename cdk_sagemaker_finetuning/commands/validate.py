"""``cdk-finetune validate SPEC``: check a spec and print what it resolves to."""

from __future__ import annotations

import argparse

from ..runtime import models
from ..spec import FineTuningSpec, RewardSpec
from . import _spec, _term


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate", help="validate a fine-tuning spec and summarize it")
    _spec.add_spec_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    spec = _spec.load(args)
    print(summary(spec))
    return 0


def summary(spec: FineTuningSpec) -> str:
    """Every block of a resolved spec, one labelled line each, within 80 columns."""
    lic = models.license_for(spec.hub_content_name)
    version = spec.base_model_version or "latest at run time"
    model = f"{spec.hub_content_name} ({spec.hub}, version {version})"
    if models.model_family(spec.base_model) is None:
        model += " [unknown model family, allowed by allow_unknown_model]"
    data = spec.data
    where = "created data bucket" if data.create_bucket else "S3"
    group = spec.model_package_group_name + (" (existing)" if spec.model_package_group.existing else "")
    output = spec.output.s3_uri or "created output bucket"
    if spec.output.kms_key_arn:
        output += f", encrypted with {spec.output.kms_key_arn}"
    rows = [
        ("project", spec.name),
        ("model", model),
        ("license", f"{lic.name} - {lic.url}" if lic else "unknown (check the model card)"),
        ("technique", f"{spec.technique.upper()} ({spec.training_type.upper()})"),
        ("region", spec.region or "not set (checked against the stack's region at synth)"),
        ("model package group", f"{group}, new versions {spec.approval_status}"),
        ("train data", f"{data.train} [{where}]"),
        ("validation data", data.validation or "none"),
        ("output", output),
        ("max runtime", f"{spec.max_runtime_hours} h"),
        ("sequence length", spec.sequence_length or "the recipe's default"),
        ("hyperparameters", _pairs(spec.hyperparameters) or "the recipe's defaults"),
    ]
    if spec.dataset_name:  # after the data rows
        text = (
            f"each run registers its training object as a version of AI Registry dataset {spec.dataset_name}"
        )
        rows.insert(rows.index(("output", output)), ("lineage", text))
    if spec.reward:
        rows.append(("reward", _reward(spec.reward)))
    if spec.rlaif:
        rows.append(("judge", f"{spec.rlaif.judge_model_id} with prompt {spec.rlaif.prompt}"))
    rows.append(("mlflow", _pairs(spec.mlflow.model_dump(exclude_none=True)) or "the service's default"))
    rows.append(("retraining", _retraining(spec)))
    rows.append(("notifications", _notifications(spec)))
    rows.append(("tags", _pairs(spec.tags) or "none"))
    width = max(len(label) for label, _ in rows)
    return "\n".join(_term.field(label, value, width, aligned=True) for label, value in rows)


def _pairs(values: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(values.items()))


def _reward(reward: RewardSpec) -> str:
    fields = reward.model_dump(exclude_defaults=True, exclude={"score_range"})
    text = ", ".join(
        f"{key} ({_pairs(value)})" if isinstance(value, dict) else f"{key} {value}"
        for key, value in fields.items()
    )
    low, high = reward.score_range
    return f"{text}; scores in [{low:g}, {high:g}]"


def _retraining(spec: FineTuningSpec) -> str:
    retraining = spec.retraining
    if retraining is None:
        return "none (start runs with cdk-finetune start)"
    parts = []
    if retraining.on_new_data:
        parts.append(f"on new data under {retraining.on_new_data.prefix or 'the folder of data.train'}")
    if retraining.schedule:
        parts.append(f"on schedule {retraining.schedule}")
    pipeline = retraining.pipeline
    if pipeline:
        text = f"pipeline on new versions of {pipeline.source_key or 'data.train'}"
        if pipeline.repository:
            repo = pipeline.repository
            text += f" and commits to {repo.owner}/{repo.repo}@{repo.branch}"
        parts.append(text + (", with manual approval" if pipeline.manual_approval else ""))
    if retraining.continue_from_latest:
        which = "approved " if retraining.approved_only else ""
        parts.append(f"continues from the latest {which}model package")
    return "; ".join(parts)


def _notifications(spec: FineTuningSpec) -> str:
    notifications = spec.notifications
    if notifications is None:
        return "none"
    emails = ", ".join(notifications.emails) or "no e-mail subscriptions"
    alarm = "an alarm on failed runs" if notifications.alarm_on_failure else "no alarm"
    return f"SNS topic ({emails}; {alarm})"
