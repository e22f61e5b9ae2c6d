"""Find a project's outputs in a deployed stack: a ``FineTuningStack``, a stack holding several
``FineTuningProject``s (outputs prefixed with the project's PascalCase name) or a ``FineTuningPlatform``
stack, whose projects' outputs live in their nested stacks (and, by default, as one JSON output per project
on the platform's stack)."""

from __future__ import annotations

import json
from typing import Any

from ..notebook import OUTPUT_KEYS
from ..spec import output_prefix
from . import _aws

NESTED_STACK = "AWS::CloudFormation::Stack"
#: ``FineTuningPlatform``'s per-project JSON output: ``<Prefix>Outputs``.
JSON_SUFFIX = "Outputs"


def _outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    [found] = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}


def _project(outputs: dict[str, str], prefix: str) -> dict[str, str]:
    """The outputs of the project with ``prefix``, unprefixed ({} when the stack has none of them)."""
    values = {k[len(prefix) :]: v for k, v in outputs.items() if k.startswith(prefix)}
    if prefix + JSON_SUFFIX in outputs:
        try:
            document = json.loads(outputs[prefix + JSON_SUFFIX])
        except json.JSONDecodeError:
            document = None
        if isinstance(document, dict):
            values.update(document)
    return {k: v for k, v in values.items() if k in OUTPUT_KEYS and isinstance(v, str)}


def _projects(outputs: dict[str, str]) -> list[str]:
    """Output prefixes of the projects listed in ``outputs``."""
    return sorted(
        {k.removesuffix("StateMachineArn") for k in outputs if k.endswith("StateMachineArn")}
        | {k.removesuffix(JSON_SUFFIX) for k in outputs if k.endswith(JSON_SUFFIX) and k != JSON_SUFFIX}
    )


def find(args: Any, stack: str, project: str | None) -> dict[str, str]:
    """The outputs (``ExecutionRoleArn``, ``StateMachineArn``, ...) of ``project`` in ``stack``.

    Without ``project``: the stack's unprefixed outputs, or those of its only project. With ``project``: its
    prefixed outputs on ``stack``, else in the nested stacks of ``stack`` (those named after the project are
    read first). Raises ``CommandError`` (exit 2) when the stack or the project is not there.
    """
    cloudformation = _aws.client(args, "cloudformation")
    try:
        top = _outputs(cloudformation, stack)
    except _aws.ClientError as exc:
        if _aws.is_not_found(exc):
            raise _aws.CommandError(
                f"Stack {stack!r} does not exist in {_aws.region(args)}; deploy it first (cdk deploy).",
                _aws.INVALID,
            ) from None
        raise
    if project is None:
        projects = _projects(top)
        if "StateMachineArn" in top or not projects:
            return {k: v for k, v in top.items() if k in OUTPUT_KEYS}
        if len(projects) == 1:
            return _project(top, projects[0])
        raise _aws.CommandError(
            f"Stack {stack!r} holds several projects ({', '.join(projects)}); choose one with --project NAME",
            _aws.INVALID,
        )
    prefix = output_prefix(project)
    found = _project(top, prefix)
    if "StateMachineArn" in found:
        return found
    if "StateMachineArn" in top:  # a FineTuningStack: one project, unprefixed outputs
        return {k: v for k, v in top.items() if k in OUTPUT_KEYS}
    nested = [
        resource
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack)
        for resource in page["StackResourceSummaries"]
        if resource["ResourceType"] == NESTED_STACK and resource.get("PhysicalResourceId")
    ]
    nested.sort(key=lambda r: f"{prefix}NestedStack" not in r["LogicalResourceId"])  # likely ones first
    for resource in nested:
        found = _project(_outputs(cloudformation, resource["PhysicalResourceId"]), prefix)
        if "StateMachineArn" in found:
            return found
    raise _aws.CommandError(
        f"Stack {stack!r} and its {len(nested)} nested stack(s) have no outputs of project {project!r} "
        f"({prefix}StateMachineArn); projects on the stack: {', '.join(_projects(top)) or 'none'}",
        _aws.INVALID,
    )
