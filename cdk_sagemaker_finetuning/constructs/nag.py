"""cdk-nag v3 acknowledgments with their reasons, kept next to the construct they concern.

An acknowledgment is the construct metadata ``Validations.acknowledge`` records and cdk-nag 3 reads
(``aws:cdk:acknowledged-rules``: ``{"Annotation::<finding id>": reason}``, on the construct or an ancestor of the
flagged resource), written here in one jsii call per construct for all its findings instead of
``Validations.of(scope).acknowledge(...)``'s two calls and, per finding, a captured stack trace and a walk of the
subtree for annotation warnings (cdk-nag 3 reports through the validation report, never as warnings).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jsii
from constructs import IConstruct, IValidation

from .arns import TOKEN, environment, stack_of

PSEUDO_PARAMETERS = ("AWS::Partition", "AWS::Region", "AWS::AccountId")  # the order of arns.environment
#: ``Validations.ACKNOWLEDGED_RULES_METADATA_KEY`` (a jsii round trip to read) and the namespace
#: ``Validations.acknowledge`` gives ids without one.
ACKNOWLEDGED_RULES = "aws:cdk:acknowledged-rules"
NAMESPACE = "Annotation::"


def acknowledge(scope: IConstruct, reasons: Mapping[str, str]) -> None:
    """Acknowledge each cdk-nag finding id (e.g. ``AwsSolutions-IAM5[Resource::*]``) on ``scope`` with its reason."""
    if reasons:
        data = {f"{NAMESPACE}{rule.replace(' ', '-')}": reason for rule, reason in reasons.items()}
        scope.node.add_metadata(ACKNOWLEDGED_RULES, data)


def acknowledge_wildcard_resources(scope: IConstruct, resources: Iterable[str], reason: str) -> None:
    """Acknowledge ``AwsSolutions-IAM5`` for each (possibly token) resource ARN, as cdk-nag spells it."""
    acknowledge(scope, wildcard_findings(scope, resources, reason))


def wildcard_findings(scope: IConstruct, resources: Iterable[str], reason: str) -> dict[str, str]:
    """``AwsSolutions-IAM5`` finding id -> ``reason`` for each resource ARN."""
    return findings(scope, [(arn, reason) for arn in resources])


def findings(scope: IConstruct, scoped: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """``AwsSolutions-IAM5`` finding id -> reason for each ``(resource ARN, reason)``; ARNs without a reason
    (not wildcards) are skipped.

    ARNs built from the stack's partition, region and account (``arns.py``) are rendered in Python; any other
    token (a bucket's ARN) is resolved by the stack, all in one call.
    """
    wanted = [(arn, reason) for arn, reason in scoped if reason]
    texts = [_environment_text(scope, arn) for arn, _ in wanted]
    unknown = [arn for (arn, _), text in zip(wanted, texts, strict=True) if text is None]
    if unknown:
        resolved = iter(stack_of(scope).resolve(unknown))
        texts = [nag_text(next(resolved)) if text is None else text for text in texts]
    return {
        f"AwsSolutions-IAM5[Resource::{text}]": reason
        for text, (_, reason) in zip(texts, wanted, strict=True)
        if reason
    }


def _environment_text(scope: IConstruct, arn: str) -> str | None:
    """``arn`` as cdk-nag names it when its only tokens are the stack's pseudo parameters, else None."""
    if TOKEN not in arn:
        return arn
    for value, name in zip(environment(scope), PSEUDO_PARAMETERS, strict=True):
        if TOKEN in value:
            arn = arn.replace(value, f"<{name}>")
    return None if TOKEN in arn else arn


@jsii.implements(IValidation)
class _LaterAcknowledgment:
    def __init__(self, scope: IConstruct, resources: Sequence[str], reason: str) -> None:
        self._args = (scope, resources, reason)

    def validate(self) -> list[str]:
        acknowledge_wildcard_resources(*self._args)
        return []


def acknowledge_wildcard_resources_at_synth(scope: IConstruct, resources: Sequence[str], reason: str) -> None:
    """:func:`acknowledge_wildcard_resources` once references across stacks are resolved (a nested stack's
    token used in its parent becomes ``<NestedStack.Outputs.X>``), i.e. when the tree is validated.
    ``resources`` is read then: ARNs appended to it until synth are acknowledged too, in the same one call."""
    scope.node.add_validation(_LaterAcknowledgment(scope, resources, reason))


def nag_text(value: Any) -> str:
    """Render a resolved CloudFormation value the way cdk-nag names it in finding ids."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(nag_text(part) for part in parts)
    return json.dumps(value, separators=(",", ":"))  # other intrinsics appear as compact JSON
