"""The AWS lookups behind the evaluation requests (standard library + boto3 only).

:func:`lookup` reads what ``evaluation_request.build_evaluation_jobs`` needs for one model package, as the
SDK's evaluators read it: the package (``DescribeModelPackage``), the base model's latest hub content and its
evaluation recipes' override specs, and the service's judge allow-list. ``cdk-finetune plan --evaluation``
calls it online; the workflow's evaluation Lambda will too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import errors, evaluation_config, models, preflight, request
from . import evaluation_catalog as catalog


def describe_model_package(clients: preflight.Clients, package_arn: str) -> dict[str, Any]:
    try:
        return clients.sagemaker.describe_model_package(ModelPackageName=package_arn)
    except ClientError as exc:
        if preflight._not_found(exc):
            raise errors.ModelPackageNotFound(
                f"model package {package_arn} does not exist in {clients.region}", field="modelPackageArn"
            ) from None
        raise preflight._aws_error(exc, "DescribeModelPackage") from None


def judge_models(clients: preflight.Clients) -> set[str] | None:
    """The supported LLM-as-judge model ids, or ``None`` when the list cannot be read (the SDK then warns)."""
    bucket, key = catalog.judge_models_location(clients.region)
    try:
        body = clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return catalog.parse_judge_models(body)
    except (ClientError, BotoCoreError, ValueError):
        return None


def recipe_specs(
    clients: preflight.Clients | None,
    config: Mapping[str, Any],
    hub_content: Mapping[str, Any],
    account: str,
    *,
    read: Callable[[str], dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """``{EvaluationType: override spec}`` for every evaluation recipe the configured evaluations read (the
    hub content must offer each); ``read(uri)`` reads a spec (default: ``GetObject`` with ``clients``)."""
    document = request.hub_document(hub_content)
    if read is None:
        if clients is None:
            raise TypeError("recipe_specs reads with clients unless given read")
        read = functools.partial(preflight._get_json, clients)
    specs = {}
    for evaluation_type in evaluation_config.recipe_types(config, str(hub_content.get("HubContentName"))):
        uri = evaluation_config.evaluation_recipe_uri(document, evaluation_type, account)
        try:
            specs[evaluation_type] = read(uri)
        except (ClientError, BotoCoreError, ValueError) as exc:
            raise errors.RecipeSpecUnavailable(
                f"cannot read the evaluation recipe's override spec {uri}: {exc}"
            ) from None
    return specs


def lookup(
    clients: preflight.Clients, config: Mapping[str, Any], package_arn: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], set[str] | None]:
    """``(DescribeModelPackage answer, recipe specs, judge allow-list or None)`` for one package."""
    package = describe_model_package(clients, package_arn)
    name, _ = evaluation_config.base_model(package, hub=config.get("hubName"))
    hub = config.get("hubName") or models.PUBLIC_HUB
    hub_content = preflight.describe_base_model(clients, hub, name, None)  # latest, as the SDK reads it
    specs = recipe_specs(clients, config, hub_content, clients.account())
    allowed = judge_models(clients) if (config.get("evaluation") or {}).get("judge") else None
    return package, specs, allowed
