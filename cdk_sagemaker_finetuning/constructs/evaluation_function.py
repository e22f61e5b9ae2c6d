"""The evaluation step's Lambda (``runtime/evaluation_step.py``) and its least-privilege role.

What the code calls, per action (`SageMaker actions, resources and conditions
<https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html>`_):

* ``start``: ``DescribeModelPackage`` (the package, the group's packages), ``DescribeHubContent`` (the base
  model; a registry dataset: its hub and versions, in its own account), ``s3:GetObject`` of the evaluation
  recipes' override specs and the judge allow-list (the AWS-owned JumpStart cache objects the preflight reads
  too), the evaluation dataset's sample (``s3:ListBucket`` + ``s3:GetObject``; an S3 URI only: a registry
  dataset's location is known at run time, grant it with ``bucket.grant_read(workflow.evaluation_function)``),
  ``CreateTrainingJob`` + ``AddTags`` on ``training-job/<prefix>*`` with
  ``iam:PassRole`` of the training role (``iam:PassedToService``: SageMaker);
* ``poll``: ``DescribeTrainingJob`` (and ``CreateTrainingJob`` of a job that waited for another);
* ``gate``: ``DescribeTrainingJob``, the results files (``s3:ListBucket`` + ``s3:GetObject`` under the output
  location, ``kms:Decrypt`` with the output key), ``ListModelPackages`` / ``DescribeModelPackage`` /
  ``UpdateModelPackage`` in the project's group;
* ``stop``: ``ListTrainingJobs`` (no resource-level permissions: ``*``) and ``StopTrainingJob``.

No Bedrock call: the judge runs inside the evaluation job, under the training role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..runtime import evaluation_catalog, evaluation_request
from ..runtime.request import DATASET_ARN_RE
from .arns import s3_arn
from .model_package_group import IModelPackageGroup
from .nag import acknowledge, acknowledge_wildcard_resources
from .runtime_function import runtime_function

#: Longest a job of one evaluation may run (``StoppingCondition``), per job.
JOB_SECONDS = evaluation_catalog.MAX_RUNTIME_SECONDS


def evaluation_seconds(config: Mapping[str, Any]) -> int:
    """The longest the evaluation step can take: the judge pair runs in order, the others in parallel, and a
    gate may evaluate the base model once more (0 without an ``evaluation`` block)."""
    evaluation = config.get("evaluation")
    if not evaluation:
        return 0
    chain = 2 if evaluation.get("judge") else 1
    rounds = 2 if evaluation.get("gate") else 1
    return JOB_SECONDS * chain * rounds


def evaluation_job_suffixes(config: Mapping[str, Any]) -> list[str]:
    """The name suffixes of the evaluation jobs (the orphaned-job stopper derives their names), or ``[]``."""
    evaluation = config.get("evaluation")
    return evaluation_request.job_suffixes(evaluation) if evaluation else []


def evaluation_function(
    scope: Construct,
    *,
    config: Mapping[str, Any],
    create_statements: Sequence[dict[str, Any]],
    job_arn: str,
    model_package_group: IModelPackageGroup,
    recipe_spec_resources: Sequence[str],
    log_retention: logs.RetentionDays,
) -> lambda_.Function | None:
    """The evaluation Lambda of a workflow whose ``config`` has an ``evaluation`` block, else ``None``.

    ``create_statements`` are the statements of calling ``CreateTrainingJob`` (``caller_statements``: the
    action, AddTags, PassRole, hub content and group reads); ``job_arn`` is ``training-job/<prefix>*``, which
    holds every evaluation job name (``<prefix>-<execution>-eval-...``).
    """
    if not config.get("evaluation"):
        return None
    function = runtime_function(
        scope,
        "Evaluation",
        handler="evaluation_step.handler",
        description="Training workflow evaluation step: starts, polls and stops the evaluation jobs of the new "
        "model package, records its scores and sets its approval status (gate)",
        environment={"WORKFLOW_CONFIG": Stack.of(scope).to_json_string(dict(config))},
        retention=log_retention,
    )
    role = function.role
    for statement in create_statements:
        role.add_to_principal_policy(iam.PolicyStatement.from_json(statement))
    grant = iam.Grant.add_to_principal
    grant(
        grantee=role,
        actions=["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
        resource_arns=[job_arn],
    )
    grant(grantee=role, actions=["sagemaker:ListTrainingJobs"], resource_arns=["*"])
    model_package_group.grant_read(role)
    grant(
        grantee=role,
        actions=["sagemaker:UpdateModelPackage"],
        resource_arns=[model_package_group.model_package_arn_pattern],
    )
    grant(grantee=role, actions=["s3:GetObject"], resource_arns=list(recipe_spec_resources))
    acknowledge_wildcard_resources(
        role,
        recipe_spec_resources,
        "Evaluation recipe override specs and the judge allow-list are AWS-owned objects read by key.",
    )
    _grant_data_read(role, config)
    acknowledge(
        role,
        {
            "AwsSolutions-IAM5[Resource::*]": "ListTrainingJobs (a read-only listing) has no resource-level "
            "permissions; the stop action lists this project's jobs only (name filter) and stops its own.",
        },
    )
    return function


def _grant_data_read(role: iam.IRole, config: Mapping[str, Any]) -> None:
    """Read the training output (the candidate's scores) and, for a judge or custom scorer, the dataset (an S3
    URI, or a registry dataset's hub content)."""
    evaluation = config["evaluation"]
    dataset = evaluation.get("dataset") if evaluation.get("judge") or evaluation.get("customScorer") else None
    locations = [config.get("outputUri"), dataset]
    _grant_s3_read(role, [loc for loc in locations if isinstance(loc, str) and loc.startswith("s3://")])
    _grant_dataset_describe(role, dataset)
    key = config.get("kmsKeyId")
    if isinstance(key, str) and (Token.is_unresolved(key) or key.startswith("arn:")):
        iam.Grant.add_to_principal(grantee=role, actions=["kms:Decrypt"], resource_arns=[key])


def _grant_dataset_describe(role: iam.IRole, dataset: Any) -> None:
    """``DescribeHubContent`` on a registry dataset's hub and versions, in the ARN's own account (it may be
    shared from another one). Its S3 location is known only at run time: read on it is not granted, so the
    format check is skipped with a note unless the user grants it (``evaluation_step.check_dataset``)."""
    if not isinstance(dataset, str) or Token.is_unresolved(dataset) or not DATASET_ARN_RE.match(dataset):
        return
    environment, _, path = dataset.partition(":hub-content/")
    hub, kind, name = path.split("/")[:3]
    versions = f"{environment}:hub-content/{hub}/{kind}/{name}/*"
    iam.Grant.add_to_principal(
        grantee=role,
        actions=["sagemaker:DescribeHubContent"],
        resource_arns=[f"{environment}:hub/{hub}", versions],
    )
    acknowledge_wildcard_resources(
        role, [versions], "Read-only describe of the versions of the one evaluation dataset the spec names."
    )


def _grant_s3_read(role: iam.IRole, uris: Sequence[str]) -> None:
    """``s3:ListBucket`` on each URI's bucket and ``s3:GetObject`` under its key prefix (the bucket may be a
    token: ``s3://${Token[...]}/output/``)."""
    if not uris:
        return
    parts = [uri.removeprefix("s3://").partition("/") for uri in uris]
    buckets = sorted({s3_arn(role, bucket) for bucket, _, _ in parts})
    objects = sorted({s3_arn(role, f"{bucket}/{prefix}*") for bucket, _, prefix in parts})
    iam.Grant.add_to_principal(grantee=role, actions=["s3:ListBucket"], resource_arns=buckets)
    iam.Grant.add_to_principal(grantee=role, actions=["s3:GetObject"], resource_arns=objects)
    acknowledge_wildcard_resources(
        role,
        objects,
        "Evaluation results (named by the service under the job's output folder) and the evaluation dataset's "
        "objects, read by key under their configured prefixes.",
    )
