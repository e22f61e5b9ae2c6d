"""Helpers for construct tests: templates, IAM statements and cdk-nag findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def iam_statements(template: Template) -> list[dict[str, Any]]:
    """Every statement of every AWS::IAM::Policy in the template."""
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def resources_of(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def statements_with(template: Template, action: str) -> list[dict[str, Any]]:
    return [s for s in iam_statements(template) if action in actions_of(s)]


def flat(value: Any) -> str:
    """A resolved CloudFormation value as one string, for substring checks on token ARNs."""
    return json.dumps(value, sort_keys=True)


def nag_errors(app: cdk.App) -> list[str]:
    """Synthesize ``app`` with the AwsSolutions pack; return unacknowledged error findings ([] when clean)."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        assembly = app.synth()
    except RuntimeError as exc:
        if "ValidationFailed" not in str(exc):
            raise
        report = json.loads((Path(app.outdir) / "validation-report.json").read_text())
        return [
            f"{violation['ruleName']} at {construct['constructPath']}"
            for plugin in report["pluginReports"]
            for violation in plugin["violations"]
            if violation["severity"] == "error"
            for construct in violation["violatingConstructs"]
        ]
    assert assembly.directory
    return []


def acknowledgments(scope: IConstruct) -> list[dict[str, Any]]:
    """Every cdk-nag acknowledgment recorded under ``scope``: ``{"id": ..., "reason": ...}``."""
    found = []
    for construct in scope.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                data = entry.data
                found.extend(data if isinstance(data, list) else [data])
    return found


def rule_target_input(rule: dict[str, Any], event: dict[str, Any], refs: dict[str, str]) -> Any:
    """What EventBridge hands the rule's (first) target for ``event``: its InputTransformer applied, with
    ``{"Ref": id}`` in the template replaced by ``refs[id]`` (e.g. a state machine's ARN)."""
    transformer = rule["Properties"]["Targets"][0]["InputTransformer"]
    template = transformer["InputTemplate"]
    if isinstance(template, dict):
        separator, parts = template["Fn::Join"]
        template = separator.join(p if isinstance(p, str) else refs[p["Ref"]] for p in parts)
    for name, path in transformer["InputPathsMap"].items():
        value: Any = event
        for key in path.removeprefix("$.").split("."):
            value = value[key]
        template = template.replace(f"<{name}>", json.dumps(value))
    return json.loads(template)
