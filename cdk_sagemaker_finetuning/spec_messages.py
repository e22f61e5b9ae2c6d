"""Spec error messages a person understands: the rule in words and an example of a valid value.

:func:`problem` turns one pydantic error into ``(dotted field, message)`` without a regex or a class name;
:func:`merge` joins the messages of a union's members; :func:`with_example` appends an example value for the
field; :func:`s3_uri_problem` says which part of an S3 URI is wrong. Unknown keys get "did you mean".
"""

from __future__ import annotations

import difflib
import re
import reprlib
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from .runtime import models

ARN_EXAMPLE = "arn:aws:sagemaker:us-east-1:123456789012"
DATA_EXAMPLE = "s3://my-bucket/train/train.jsonl"

#: An example of a valid value per field; ``*`` stands for any key of a mapping or index of a list.
EXAMPLES: dict[str, str] = {
    "<root>": "{name: support-sft, technique: sft, base_model: "
    f"huggingface-reasoning-qwen3-8b, data: {{train: {DATA_EXAMPLE}}}}}",
    "name": "support-sft",
    "technique": "sft",
    "base_model": "meta-textgeneration-llama-3-2-1b-instruct",
    "base_model_version": "1.0.0",
    "hub": "SageMakerPublicHub",
    "training_type": "lora",
    "accept_eula": "true",
    "allow_unknown_model": "true",
    "region": "us-east-1",
    "data": f"{{train: {DATA_EXAMPLE}}}",
    "data.create_bucket": "true",
    "data.train": DATA_EXAMPLE,
    "data.validation": "s3://my-bucket/validation/validation.jsonl",
    "data.register_dataset": "true",
    "data.dataset_name": "support-sft-train",
    "output": "{s3_uri: s3://my-bucket/output/}",
    "output.s3_uri": "s3://my-bucket/output/",
    "output.kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "model_package_group": "{name: support-models}",
    "model_package_group.name": "support-models",
    "model_package_group.existing": "true",
    "hyperparameters": "{learning_rate: 0.0001, max_epochs: 2}",
    "hyperparameters.*": "0.0001",
    "sequence_length": "8K",
    "max_runtime_hours": "24",
    "mlflow": "{experiment_name: support-sft}",
    "mlflow.resource_arn": f"{ARN_EXAMPLE}:mlflow-app/app-ABC123",
    "mlflow.experiment_name": "support-sft",
    "mlflow.run_name": "nightly",
    "tags": "{team: ml-platform}",
    "tags.*": "ml-platform",
    "tags.*.[key]": "cost-center",
    "reward": "{builtin: numeric_answer}",
    "reward.builtin": "numeric_answer",
    "reward.code": "rewards/my_reward.py",
    "reward.evaluator_arn": f"{ARN_EXAMPLE}:hub-content/MyHub/JsonDoc/my-reward/1.0.0",
    "reward.options": "{tolerance: 0.01}",
    "reward.score_range": "[-1, 1]",
    "reward.score_range.*": "1",
    "reward.samples": "rewards/my_samples.jsonl",
    "reward.requirements": "rewards/requirements.txt",
    "reward.lambda_arn": "arn:aws:lambda:us-east-1:123456789012:function:SageMaker-my-reward",
    "rlaif": "{judge_model_id: openai.gpt-oss-120b-1:0, prompt: Builtin.Summarize}",
    "rlaif.judge_model_id": "openai.gpt-oss-120b-1:0",
    "rlaif.prompt": "Builtin.Summarize or prompts/judge.jinja",
    "approval_status": "Approved",
    "retraining": "{schedule: rate(7 days)}",
    "retraining.on_new_data": "{prefix: train/}",
    "retraining.on_new_data.prefix": "train/",
    "retraining.schedule": "rate(7 days) or cron(0 3 ? * MON *)",
    "retraining.pipeline": "{manual_approval: true}",
    "retraining.pipeline.source_key": "train/train.jsonl",
    "retraining.pipeline.manual_approval": "true",
    "retraining.pipeline.repository": "{connection_arn: arn:aws:codeconnections:..., owner: my-org, repo: data}",
    "retraining.pipeline.repository.connection_arn": "arn:aws:codeconnections:us-east-1:123456789012:"
    "connection/aEXAMPLE-8aad-4d5d-8878-dfcab0bc441f",
    "retraining.pipeline.repository.owner": "my-org",
    "retraining.pipeline.repository.repo": "training-data",
    "retraining.pipeline.repository.branch": "main",
    "retraining.continue_from_latest": "true",
    "retraining.approved_only": "true",
    "notifications": "{emails: [ml-team@example.com]}",
    "notifications.emails": "[ml-team@example.com]",
    "notifications.emails.*": "ml-team@example.com",
    "notifications.alarm_on_failure": "true",
    "evaluation": "{benchmarks: [mmlu]}",
    "evaluation.dataset": "s3://my-bucket/eval/eval.jsonl",
    "evaluation.benchmarks": "[mmlu, gpqa]",
    "evaluation.benchmarks.*": "mmlu",
    "evaluation.subtasks": "{mmlu: [abstract_algebra]}",
    "evaluation.subtasks.*": "[abstract_algebra]",
    "evaluation.subtasks.*.*": "abstract_algebra",
    "evaluation.subtasks.*.[key]": "mmlu",
    "evaluation.judge": "{model_id: anthropic.claude-3-5-haiku-20241022-v1:0, metrics: [Correctness]}",
    "evaluation.judge.model_id": "anthropic.claude-3-5-haiku-20241022-v1:0",
    "evaluation.judge.metrics": "[Correctness, Helpfulness]",
    "evaluation.judge.metrics.*": "Correctness",
    "evaluation.custom_scorer": "{builtin: prime_math}",
    "evaluation.custom_scorer.builtin": "prime_math",
    "evaluation.custom_scorer.evaluator_arn": f"{ARN_EXAMPLE}:hub-content/MyHub/JsonDoc/my-scorer/1.0.0",
    "evaluation.custom_scorer.lambda_arn": "arn:aws:lambda:us-east-1:123456789012:function:my-scorer",
    "evaluation.custom_scorer.reward": "true",
    "evaluation.gate": "{metric: mmlu/accuracy, compare_to: approved}",
    "evaluation.gate.metric": "mmlu/accuracy",
    "evaluation.gate.compare_to": "approved",
    "evaluation.gate.min_delta": "0.0",
    "evaluation.gate.on_fail": "Rejected",
}

_NAME_RULE = (
    "letters, digits and single hyphens, starting and ending with a letter or digit, at most 63 characters "
)
#: The rule in words for each field that has a format (a regular expression in the model).
RULES: dict[str, str] = {
    "name": "lower-case letters, digits and single hyphens, 1-40 characters",
    "base_model": "a SageMaker Hub model id: letters, digits, '-' and '.', at most 64 characters, "
    "or a Nova alias such as amazon.nova-lite-v1",
    "base_model_version": "a version number x.y.z",
    "hub": _NAME_RULE + "(no '_' or '.')",
    "model_package_group.name": _NAME_RULE + "(no '_' or '.')",
    "data.dataset_name": _NAME_RULE + "(no '_' or '.')",
    "region": "an AWS region code",
    "sequence_length": "a number of thousands of tokens followed by K",
    "output.s3_uri": "an S3 URI s3://bucket/prefix/",
    "output.kms_key_arn": "a KMS key ARN, key id or alias (alias/name)",
    "mlflow.resource_arn": "a SageMaker MLflow app or tracking server ARN",
    "reward.builtin": "a built-in reward name: lower-case letters, digits and '_'",
    "reward.evaluator_arn": "a versioned JsonDoc hub content ARN (…:hub-content/<hub>/JsonDoc/<name>/<x.y.z>)",
    "reward.lambda_arn": "an unqualified Lambda function ARN (no alias or version)",
    "retraining.schedule": "an EventBridge schedule expression",
    "retraining.pipeline.repository.connection_arn": "a CodeConnections connection ARN",
    "notifications.emails.*": "an e-mail address",
    "tags.*": "at most 256 letters, digits, spaces and _ . : / = + - @",
    "tags.*.[key]": "1-128 letters, digits, spaces and _ . : / = + - @",
}

#: Mappings whose keys are the user's, not field names.
_OPEN_MAPPINGS = {"hyperparameters", "tags", "options", "emails", "score_range", "subtasks"}
#: Parts of a pydantic location that name a union member or a validator, not a field.
_NOT_FIELDS = {"str", "int", "float", "bool", "[key]"}


def field_of(loc: tuple[Any, ...]) -> tuple[list[str], bool]:
    """The user's field path of a pydantic location, and whether the error is about a mapping key."""
    parts = [str(part) for part in loc if not str(part).startswith(("function-", "union["))]
    key_error = "[key]" in parts
    return [part for part in parts if part not in _NOT_FIELDS and "Strict" not in part], key_error


def _generic(parts: list[str], key_error: bool = False) -> str:
    """The path with user keys and list indexes replaced by ``*`` (the key of :data:`EXAMPLES`)."""
    generic = [
        "*" if index and (parts[index - 1] in _OPEN_MAPPINGS or part.isdigit()) else part
        for index, part in enumerate(parts)
    ]
    return (".".join(generic) or "<root>") + (".[key]" if key_error else "")


def example(field: str | list[str], key_error: bool = False) -> str | None:
    """An example of a valid value for ``field`` (a dotted path or its parts), when one is known."""
    parts = field.split(".") if isinstance(field, str) else field
    generic = _generic(parts, key_error)
    if generic == "hyperparameters.*" and parts[1] in models.HYPERPARAMETER_BOUNDS:
        return str(models.HYPERPARAMETER_BOUNDS[parts[1]]["example"])
    return EXAMPLES.get(generic)


#: A problem inside one of the user's files (``rewards/mine.py:2: ...``): its location says what to fix.
LOCATED_IN_A_FILE = re.compile(r"^[^\s:]+\.(py|jinja|jsonl|txt|json|yaml)(:\d+)*( line \d+)?[: ]")


def with_example(field: str | list[str], message: str, key_error: bool = False) -> str:
    """``message`` followed by an example of a valid value, unless it shows one or says to remove the key."""
    shown = example(field, key_error)
    rule = re.split(r" is invalid: | is not allowed: | is out of range: | must ", message, maxsplit=1)[-1]
    if (
        shown is None
        or LOCATED_IN_A_FILE.match(message)
        or "e.g." in message
        or "remove it" in message
        or re.search(rf"(?<![\w.-]){re.escape(shown)}(?![\w.-])", rule)
    ):
        return message
    return f"{message} (e.g. {shown})"


def block_fields(root: type[BaseModel], path: list[str]) -> list[str]:
    """The field names of the block at ``path`` under ``root`` (empty when it is not a block)."""
    model: type[BaseModel] | None = root
    for part in path:
        field = model.model_fields.get(part) if model else None
        model = _model_in(field.annotation) if field else None
    return [name for name in model.model_fields if name != "base_dir"] if model else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_in, typing.get_args(annotation)) if m), None)


def unknown_field(root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """Say the key is not a known field, naming the closest known field ("did you mean") or all of them."""
    path = [str(part) for part in loc]
    known = block_fields(root, path[:-1])
    close = difflib.get_close_matches(path[-1], known, n=1, cutoff=0.6)
    if close:
        return f"is not a known field; did you mean {close[0]!r}?"
    return (
        f"is not a known field; the fields here are {', '.join(known)}" if known else "is not a known field"
    )


_CONTAINERS = reprlib.Repr()  # Python 3.11 takes no keyword arguments here
for _limit, _value in {"maxlevel": 3, "maxlist": 6, "maxtuple": 6, "maxdict": 6, "maxset": 6}.items():
    setattr(_CONTAINERS, _limit, _value)
_CONTAINERS.maxstring = _CONTAINERS.maxother = 30


def show(value: Any) -> str:
    """A value as the user wrote it (``repr``), cut to 80 characters (containers only to a few levels)."""
    text = _CONTAINERS.repr(value) if isinstance(value, list | tuple | dict | set) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_TYPES = {
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "string_type": "text (a string)",
    "list_type": "a list",
    "tuple_type": "a list of two numbers",
    "dict_type": "a mapping of name: value",
    "model_type": "a block of fields",
    "model_attributes_type": "a block of fields",
}
_BOUNDS = {
    "greater_than": "greater than {gt}",
    "greater_than_equal": "at least {ge}",
    "less_than": "less than {lt}",
    "less_than_equal": "less than or equal to {le}",
    "string_too_short": "at least {min_length} character(s) long",
    "string_too_long": "at most {max_length} characters long",
    "too_short": "a list of at least {min_length} item(s)",
    "too_long": "a list of at most {max_length} item(s)",
}


def problem(err: Mapping[str, Any], root: type[BaseModel]) -> tuple[str, str]:
    """One pydantic error as ``(dotted field, message naming the value, the rule in words and an example)``."""
    parts, key_error = field_of(err["loc"])
    field = ".".join(parts) or "<root>"
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "missing":
        return field, with_example(parts, "is required")
    if kind == "extra_forbidden":
        return field, unknown_field(root, err["loc"])
    if kind == "invalid_key":
        return field, f"{show(value)} is not a field name: names are text (e.g. name)"
    what = f"the key {show(value)}" if key_error else show(value)
    if kind == "string_pattern_mismatch":
        rule = RULES.get(_generic(parts, key_error), "in the documented format")
        if _generic(parts) == "output.s3_uri" and isinstance(value, str):
            rule = s3_uri_problem(value) or rule
        return field, with_example(parts, f"{what} is invalid: must be {rule}", key_error)
    if kind == "literal_error":
        return field, f"{what} is not allowed: must be one of {ctx.get('expected', '')}"
    if kind in ("too_short", "too_long") and ctx.get("field_type") == "Tuple":
        rule = "a list of two numbers [low, high]"
    elif kind in _BOUNDS:
        rule = _BOUNDS[kind].format(**{k: show(v) if isinstance(v, str) else v for k, v in ctx.items()})
    elif kind == "model_type":
        fields = block_fields(root, parts)
        rule = f"a block of fields ({', '.join(fields)})" if fields else _TYPES[kind]
    else:
        rule = _TYPES.get(kind, "a valid value")
    return field, with_example(parts, f"{what} is invalid: must be {rule}", key_error)


def merge(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Join the per-member messages pydantic gives for one union-typed field into one problem."""
    merged: dict[str, list[str]] = {}
    for field, message in problems:
        merged.setdefault(field, []).append(message)
    result = []
    for field, messages in merged.items():
        matches = (re.match(r"^(.*) is invalid: must be (.*?)( \(e\.g\. .*\))?$", m) for m in messages)
        parsed = [match for match in matches if match]
        if len(messages) > 1 and len(parsed) == len(messages):
            rules = list(dict.fromkeys(p[2] for p in parsed))
            if "a number" in rules and "a whole number" in rules:
                rules.remove("a whole number")
            either = ", ".join(rules[:-1]) + " or " + rules[-1] if len(rules) > 1 else rules[0]
            result.append((field, f"{parsed[0][1]} is invalid: must be {either}{parsed[0][3] or ''}"))
        else:
            result.extend((field, m) for m in messages)
    return result


_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]*[a-z0-9]$")


def s3_uri_problem(value: str) -> str | None:
    """What is wrong with an S3 URI, in words (``None`` when it is fine)."""
    if not value.startswith("s3://"):
        return "an S3 URI starting with s3://"
    bucket, _, key = value[len("s3://") :].partition("/")
    if len(bucket) < 3:
        return f"an S3 URI whose bucket name has 3-63 characters; {bucket!r} is too short"
    if len(bucket) > 63:
        return f"an S3 URI whose bucket name has 3-63 characters; it has {len(bucket)}"
    if not _BUCKET_RE.match(bucket):
        return (
            f"an S3 URI whose bucket name ({bucket!r}) has only lower-case letters, digits, '.' and '-', "
            "starting and ending with a letter or digit"
        )
    if re.search(r"\s", key):
        return "an S3 URI without spaces in the key"
    if len(value) > 1024:
        return "an S3 URI of at most 1024 characters"
    return None
