"""CloudFormation's per-template quotas, checked at synth time for every stack holding fine-tuning projects.

Resources, outputs and parameters are counted from the construct tree by a validation on the stack (synth fails
over a quota and warns from 90 %); the template size is measured on the synthesized template by a policy
validation plugin on the app (nested stacks' templates included: they are written next to their parent's). Quotas: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
"""

from __future__ import annotations

import os
import weakref

import jsii
from aws_cdk import (
    Annotations,
    CfnOutput,
    CfnParameter,
    CfnResource,
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
    Stack,
    Stage,
    Validations,
)
from constructs import IConstruct, IValidation

from .arns import stack_of, unresolved

QUOTAS_URL = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html"
#: (what, CloudFormation element class, quota per template)
COUNTED = (("resources", CfnResource, 500), ("outputs", CfnOutput, 200), ("parameters", CfnParameter, 200))
#: Templates the CDK uploads to S3 (as ``cdk deploy`` does) may have 1,000,000 bytes; 51,200 is the limit of a
#: template body sent inline, which the CDK never does.
TEMPLATE_BYTES = 1_000_000
WARN_RATIO = 0.9
PLUGIN_NAME = "CloudFormationLimits"


def limit_message(stack: str, what: str, count: int, quota: int, projects: list[str]) -> str:
    """One paragraph: the quota, the count, the stack's projects and what to do."""
    over = count > quota
    names = ", ".join(projects)
    return (
        f"stack {stack} {'has' if over else 'is close to the limit with'} {count:,} {what}; CloudFormation allows at "
        f"most {quota:,} {what} per stack template ({QUOTAS_URL}). It holds {len(projects)} fine-tuning "
        f"project{'s' if len(projects) != 1 else ''} ({names}): "
        f"{'split' if over else 'before adding more, plan to split'} the projects across several stacks, or put "
        "some into nested stacks (each nested stack has its own quota)."
    )


@jsii.implements(IValidation)
class _StackLimits:
    """Validation on one stack: counts its CloudFormation elements (nested stacks count on their own)."""

    def __init__(self, stack: Stack) -> None:
        self._stack = weakref.ref(stack)
        self.projects: list[str] = []
        self.label: tuple[str, str] | None = None  # (template file, stack label), set by check_limits
        self.stage: Stage | None = None  # the stack's stage, set by check_limits
        #: Counts of this stack's subtree, listed by a parent stack's validation of this same pass (the tree is
        #: validated in preorder: the parent first), taken once by this stack's own validation.
        self.subtree: dict[type, int] | None = None

    def validate(self) -> list[str]:
        stack = self._stack()
        if stack is None:
            return []
        counts, self.subtree = self.subtree, None
        if counts is None:
            counts = self._own_counts(stack)
        errors = []
        label = self.label[1] if self.label else stack_label(stack)
        for what, kind, quota in COUNTED:
            count = counts[kind]
            message = limit_message(label, what, count, quota, self.projects)
            if count > quota:
                errors.append(message)
            elif count >= WARN_RATIO * quota:
                Annotations.of(stack).add_warning_v2(f"cdk-sagemaker-finetuning:{what}-quota", message)
        return errors

    @staticmethod
    def _own_counts(stack: Stack) -> dict[type, int]:
        """Counts of ``stack``'s own elements: its subtree's minus its nested stacks' (which count on their own;
        each nested subtree is listed once, for this subtraction and that stack's own validation)."""
        constructs = stack.node.find_all()
        counts = _counts(constructs)
        skip = 0
        for nested in (c for c in constructs if isinstance(c, Stack) and c is not stack):
            if skip:  # inside a nested stack already subtracted (find_all lists a subtree in preorder)
                skip -= 1
                continue
            theirs = nested.node.find_all()
            subtree = _counts(theirs)
            counts = {
                kind: count - n for (kind, count), n in zip(counts.items(), subtree.values(), strict=True)
            }
            skip = sum(isinstance(c, Stack) for c in theirs) - 1
            if skip == 0 and nested in _CHECKS:  # no deeper nested stack: its subtree is its own count
                _CHECKS[nested].subtree = subtree
        return counts


def _counts(constructs: list[IConstruct]) -> dict[type, int]:
    """How many of ``constructs`` are CloudFormation resources, outputs and parameters (no jsii round trip)."""
    return {kind: sum(isinstance(c, kind) for c in constructs) for _, kind, _ in COUNTED}


@jsii.implements(IPolicyValidationPlugin)
class _TemplateSizePlugin:
    """Policy validation plugin: measures the synthesized templates of the stacks holding projects."""

    def __init__(self) -> None:
        self.stacks: dict[str, tuple[str, list[str]]] = {}  # template file -> (stack name, projects)

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str | None:
        return None

    @property
    def rule_ids(self) -> list[str] | None:
        return ["template-size"]

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        violations = []
        # Plugins are given the top-level templates only; nested stacks' templates sit next to them.
        folders = {os.path.dirname(path) for path in context.template_paths}
        found = [
            (os.path.join(folder, template), stack, projects)
            for folder in sorted(folders)
            for template, (stack, projects) in self.stacks.items()
            if os.path.exists(os.path.join(folder, template))
        ]
        for path, stack, projects in found:
            size = os.path.getsize(path)
            if size < WARN_RATIO * TEMPLATE_BYTES:
                continue
            violations.append(
                PolicyViolation(
                    rule_name="template-size",
                    description=limit_message(stack, "template bytes", size, TEMPLATE_BYTES, projects),
                    severity="error" if size > TEMPLATE_BYTES else "warning",
                    violating_resources=[
                        PolicyViolatingResource(
                            locations=["/"], resource_logical_id=stack, template_path=path
                        )
                    ],
                )
            )
        return PolicyValidationPluginReport(
            success=all(v.severity != "error" for v in violations), violations=violations
        )


_CHECKS: weakref.WeakKeyDictionary[Stack, _StackLimits] = weakref.WeakKeyDictionary()
_PLUGINS: weakref.WeakKeyDictionary[Stage, _TemplateSizePlugin] = weakref.WeakKeyDictionary()


def check_limits(project: IConstruct, name: str) -> None:
    """Check the quotas of ``project``'s stack at synth time; ``name`` is listed in the messages."""
    stack = stack_of(project)
    check = _CHECKS.get(stack)
    if check is None:
        check = _CHECKS[stack] = _StackLimits(stack)
        stack.node.add_validation(check)
        check.stage = Stage.of(stack)
    check.projects.append(name)
    stage = check.stage
    if stage is None:
        return
    plugin = _PLUGINS.get(stage)
    if plugin is None:
        plugin = _PLUGINS[stage] = _TemplateSizePlugin()
        Validations.of(stage).add_plugins(plugin)
    if check.label is None:  # once per stack: two jsii round trips
        check.label = (stack.template_file, stack_label(stack))
    plugin.stacks[check.label[0]] = (check.label[1], check.projects)


def stack_label(stack: Stack) -> str:
    """The stack's name, or its construct path for a nested stack (whose name is only known at deploy time)."""
    name = stack.stack_name
    return stack.node.path if unresolved(name) else name
