"""``nag.acknowledge`` writes the acknowledgment ``Validations.acknowledge`` writes, in one metadata entry, and
cdk-nag 3 honours it (on the flagged resource's construct or an ancestor) while an unacknowledged finding stays."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from cdk_sagemaker_finetuning.constructs.arns import duration, path_of, seconds
from cdk_sagemaker_finetuning.constructs.nag import ACKNOWLEDGED_RULES, acknowledge
from tests.constructs.helpers import nag_errors

STAR = "AwsSolutions-IAM5[Resource::*]"
BUCKETS = "AwsSolutions-IAM5[Resource::arn:aws:s3:::*]"
REASON = "A reason long enough to be read: this test's wildcard is on purpose."


def metadata(construct: cdk.Resource | iam.Role) -> list[dict[str, str]]:
    return [entry.data for entry in construct.node.metadata if entry.type == ACKNOWLEDGED_RULES]


def test_the_metadata_is_cdks_own_in_one_entry() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    ours = iam.Role(stack, "Ours", assumed_by=iam.AccountRootPrincipal())
    cdks = iam.Role(stack, "Cdks", assumed_by=iam.AccountRootPrincipal())
    acknowledge(ours, {STAR: REASON, BUCKETS: REASON})
    cdk.Validations.of(cdks).acknowledge(
        cdk.Acknowledgment(id=STAR, reason=REASON), cdk.Acknowledgment(id=BUCKETS, reason=REASON)
    )
    assert ACKNOWLEDGED_RULES == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    assert metadata(ours) == [{k: v for entry in metadata(cdks) for k, v in entry.items()}]
    assert len(metadata(ours)) == 1  # one jsii call, whatever the number of findings


def test_no_reasons_write_nothing() -> None:
    role = iam.Role(cdk.Stack(cdk.App(), "S"), "Role", assumed_by=iam.AccountRootPrincipal())
    acknowledge(role, {})
    assert metadata(role) == []


def _flagged(app: cdk.App) -> tuple[cdk.Stack, iam.Role]:
    stack = cdk.Stack(app, "S")
    role = iam.Role(stack, "Role", assumed_by=iam.AccountRootPrincipal())
    role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    return stack, role


def test_cdk_nag_honours_it_on_the_construct_or_an_ancestor() -> None:
    for target in ("role", "stack"):
        app = cdk.App()
        stack, role = _flagged(app)
        acknowledge(role if target == "role" else stack, {STAR: REASON})
        assert nag_errors(app) == [], target


def test_an_unacknowledged_finding_is_still_reported() -> None:
    app = cdk.App()
    _, role = _flagged(app)
    acknowledge(role, {BUCKETS: REASON})  # another finding id
    assert [error for error in nag_errors(app) if error.startswith(STAR)] == [
        f"{STAR} at S/Role/DefaultPolicy/Resource"
    ]


def test_remembered_values_are_cdks() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    assert path_of(stack) == stack.node.path == "S"
    made = duration(90)
    assert seconds(made) == made.to_seconds() == 90
    assert seconds(cdk.Duration.minutes(2)) == 120
