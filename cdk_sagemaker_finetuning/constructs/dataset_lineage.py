"""What the preflight needs for lineage (``registerDataset``): register the run's training data as an AI
Registry dataset version and record lineage on the model package (``runtime/dataset_registry.py``).

Actions (`SageMaker actions <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html>`_):
``DescribeHub``/``CreateHub`` (the AI Registry hub is created when missing, as the SDK does) on the hub;
``ImportHubContent``/``DescribeHubContent`` on the hub and on this one dataset's versions (hub-content actions
are authorized on both); ``UpdateModelPackage`` on the group's packages (``lineage:`` metadata); and
``iam:PassRole`` of the training role to SageMaker, which the dataset document names as ``DatasetRoleArn``
(whether ``ImportHubContent`` checks it is unconfirmed: granted so a run never fails on it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Token
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from ..runtime.hub_evaluator import ai_registry_hub_name
from .arns import environment, format_arn
from .nag import acknowledge, wildcard_findings
from .training_execution_role import TrainingExecutionRole

SAGEMAKER = "sagemaker.amazonaws.com"


def dataset_hub(scope: IConstruct, hub_name: str | None) -> str:
    """``hub_name``, else the AI Registry hub's name when the stack's account and region are known, else ``*``."""
    _, region, account = environment(scope)
    concrete = not Token.is_unresolved(region) and not Token.is_unresolved(account)
    return hub_name or (ai_registry_hub_name(region, account) if concrete else "*")


def grant_dataset_read(
    training_role: TrainingExecutionRole, *, dataset_name: str | None, hub_name: str | None = None
) -> iam.Grant | None:
    """Let the training job read the lineage dataset's versions (``DescribeHubContent``); None without one."""
    if not dataset_name:
        return None
    hub = dataset_hub(training_role, hub_name)
    if hub == "*":
        acknowledge(
            training_role.role,
            wildcard_findings(
                training_role.role,
                [format_arn(training_role, service="sagemaker", resource="hub", resource_name="*")],
                "The AI Registry hub holding the lineage dataset is named by a hash of account and region, "
                "only known at run time in an environment-agnostic stack; any hub of this account and region.",
            ),
        )
    return training_role.grant_hub_content_read(hub, "DataSet", dataset_name)


def grant_dataset_registration(
    role: iam.IRole, config: Mapping[str, Any], *, training_role_arn: str, model_packages: str
) -> iam.Grant | None:
    """Give ``role`` (the preflight's) the lineage statements when ``config`` turns lineage on, else nothing.

    The hub is ``registerDataset.hubName``, else the AI Registry hub: its name is a hash of the account and
    region, so an environment-agnostic stack grants ``hub/*`` of its own account (acknowledged).
    """
    settings = config.get("registerDataset")
    if not settings:
        return None
    hub = dataset_hub(role, settings.get("hubName"))
    name = settings["name"]

    def arn(resource: str, resource_name: str) -> str:
        return format_arn(role, service="sagemaker", resource=resource, resource_name=resource_name)

    hub_arn = arn("hub", hub)
    versions = [arn("hub-content", f"{hub}/DataSet/{name}"), arn("hub-content", f"{hub}/DataSet/{name}/*")]
    hub_actions = ["sagemaker:DescribeHub"] + ([] if settings.get("hubName") else ["sagemaker:CreateHub"])
    grant = iam.Grant.add_to_principal(grantee=role, actions=hub_actions, resource_arns=[hub_arn])
    grant = grant.combine(
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["sagemaker:ImportHubContent", "sagemaker:DescribeHubContent"],
            resource_arns=[hub_arn, *versions],
        )
    )
    grant = grant.combine(
        iam.Grant.add_to_principal(
            grantee=role, actions=["sagemaker:UpdateModelPackage"], resource_arns=[model_packages]
        )
    )
    grant = grant.combine(
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["iam:PassRole"],
            resource_arns=[training_role_arn],
            conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER}},
        )
    )
    acknowledge(
        role,
        wildcard_findings(
            role,
            [a for a in (hub_arn, *versions) if "*" in a],
            f"Versions of the one lineage dataset {name!r}, numbered at run time (latest major + 1); with an "
            "environment-agnostic stack the AI Registry hub's name (a hash of account and region) is only "
            "known at run time, so the hub is any hub of this account and region.",
        ),
    )
    return grant
