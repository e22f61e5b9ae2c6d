"""The training workflow's Lambda functions and what they may call: :class:`PreflightFunction`, the optional
create function (``create_job_with="lambda"``) and the ARNs both the grants and their cdk-nag acknowledgments
are built from (one function per set of ARNs, so a grant and its acknowledgment cannot drift apart).

IAM actions and resource types: `SageMaker <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html>`_,
`Amazon S3 <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html>`_.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .arns import environment, format_arn, s3_arn, stack_of, unresolved
from .dataset_lineage import grant_dataset_registration
from .evaluator_lookup import grant_function_check
from .hub_evaluator import EVALUATOR_ARN_RE, evaluator_hub_arn, evaluator_versions_arn
from .model_package_group import IModelPackageGroup
from .nag import findings
from .runtime_function import finish_runtime_function, runtime_function, runtime_function_props
from .workflow_settings import WorkflowSettings

#: A resource ARN and, for a wildcard one, the reason acknowledged for cdk-nag's ``AwsSolutions-IAM5``.
Scoped = tuple[str, str | None]
JOBS_REASON = "Training jobs are named <project prefix>-<execution name> at run time; scoped to this prefix."
PACKAGES_REASON = (
    "Model package versions of this project's group: the preflight reads the latest (continuous "
    "customization), CreateTrainingJob the source package, SetApprovalStatus the new one."
)


def training_job_arn_pattern(scope: Construct, prefix: str) -> str:
    """``arn:...:training-job/<prefix>*``: every job this workflow can start."""
    return format_arn(scope, service="sagemaker", resource="training-job", resource_name=f"{prefix}*")


def hub_content_scopes(scope: Construct, settings: WorkflowSettings) -> list[Scoped]:
    """What ``DescribeHubContent`` needs: the base model (every version) plus this account's evaluators and
    datasets (any hub, name, version), and the hubs holding them (the action is authorized on both the
    ``hub`` and the ``hub-content`` resource); each with the reason of its acknowledgment."""
    config, hub, owner = settings.config, settings.hub, settings.hub_owner

    def arn(resource: str, name: str, account: str | None = None) -> str:
        return format_arn(scope, service="sagemaker", resource=resource, resource_name=name, account=account)

    return [
        (arn("hub", hub, owner), None),
        (
            arn("hub", "*"),
            "Hubs of this account holding the evaluators and datasets an execution may choose "
            "(DescribeHubContent is authorized on the hub too).",
        ),
        (
            arn("hub-content", f"{hub}/Model/{config['baseModel']}/*", owner),
            "Every version of the one base model: the service floats to the latest version.",
        ),
        (
            arn("hub-content", "*/JsonDoc/*"),
            "Evaluators (reward functions, judge prompts) may be chosen per execution; read-only describe.",
        ),
        (
            arn("hub-content", "*/DataSet/*"),
            "AI Registry datasets may be chosen per execution; read-only describe.",
        ),
        *existing_evaluator_scopes(config["evaluatorArn"]),
    ]


def hub_content_arns(scope: Construct, config: Mapping[str, Any] | WorkflowSettings) -> list[str]:
    """The ARNs of :func:`hub_content_scopes`."""
    return [arn for arn, _ in hub_content_scopes(scope, WorkflowSettings.of(scope, config))]


def existing_evaluator_scopes(evaluator_arn: Any) -> list[Scoped]:
    """An existing evaluator's hub and versions in its own account (it may be another account's, shared with
    this one: the preflight describes it before any job starts)."""
    if (
        not isinstance(evaluator_arn, str)
        or unresolved(evaluator_arn)
        or not EVALUATOR_ARN_RE.match(evaluator_arn)
    ):
        return []
    return [
        (evaluator_hub_arn(evaluator_arn), None),
        (
            evaluator_versions_arn(evaluator_arn),
            "Every version of the one existing evaluator the spec names (it may be another account's): "
            "the preflight describes it before any job starts.",
        ),
    ]


def invoke_scopes(function_arn: str) -> list[Scoped]:
    """What Step Functions' Lambda integration needs: the function and its versions/aliases."""
    return [
        (function_arn, None),
        (
            f"{function_arn}:*",
            "Step Functions' Lambda integration grants the workflow's function and its versions/aliases.",
        ),
    ]


def caller_scopes(scope: Construct, settings: WorkflowSettings, group: IModelPackageGroup) -> list[Scoped]:
    """The wildcard resources every caller of the workflow's SageMaker actions is granted, with reasons."""
    return [
        (training_job_arn_pattern(scope, settings.job_name_prefix), JOBS_REASON),
        *hub_content_scopes(scope, settings),
        (group.model_package_arn_pattern, PACKAGES_REASON),
    ]


class PreflightFunction(lambda_.Function):
    """The workflow's preflight Lambda (``runtime/preflight.py``) with exactly the permissions it needs.

    Its two actions (preflight, job result) are the first and the last task of the workflow: pass it as
    ``preflight_function`` of :class:`~cdk_sagemaker_finetuning.constructs.workflow_fragment.TrainingWorkflowFragment`.
    Its role and log group (retained) are created next to it (``<id>Role``, ``<id>Logs``).

    :param config: the workflow configuration (``workflow_config.runtime_config(...)``; checked here).
    :param model_package_group: the group the job registers into (read, and listed for continuous
        customization).
    :param data_buckets: buckets the preflight may read data samples from. Default: the buckets named in the
        config's literal ``s3://`` data URIs; add the stack's data bucket when its URI is a token.
    :param recipe_spec_resources: S3 object ARNs of recipe hyperparameter specs. Default:
        ``jumpstart-cache-prod-<region>`` and ``jumpstart-private-cache-prod-<region>`` objects (unconfirmed:
        the buckets AWS publishes specs in).
    :param log_retention: retention of the function's log group (retained on stack deletion). Default: one year.

    Attribute: ``settings`` (the checked configuration).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Mapping[str, Any] | WorkflowSettings,
        model_package_group: IModelPackageGroup,
        data_buckets: Sequence[s3.IBucket] = (),
        recipe_spec_resources: Sequence[str] | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        settings = WorkflowSettings.of(scope, config)
        props = runtime_function_props(
            scope,
            id,
            handler="preflight.handler",
            description="Training workflow preflight: checks model, recipe, hyperparameters, data; builds the request",
            environment={"WORKFLOW_CONFIG": stack_of(scope).to_json_string(settings.config)},
            retention=log_retention,
        )
        super().__init__(scope, id, **props)
        self.settings = settings
        reasons = self._grant(
            props["role"],
            scope,
            model_package_group,
            recipe_spec_scopes(scope, recipe_spec_resources),
            _data_scopes(scope, settings, data_buckets),
        )
        finish_runtime_function(scope, self, props, reasons)

    def _grant(
        self,
        role: iam.IRole,
        scope: Construct,
        group: IModelPackageGroup,
        specs: list[Scoped],
        data: list[Scoped],
    ) -> dict[str, str]:
        """The preflight's grants (one jsii call each); the acknowledgments of their wildcards are returned
        (cdk-nag finding id -> reason), for one call with the function's own."""
        settings = self.settings
        group.grant_read(role)
        hub = hub_content_scopes(scope, settings)
        job = training_job_arn_pattern(scope, settings.job_name_prefix)
        # ListModelPackages is scoped to the group and its packages by grant_read above; ListTrainingJobs has
        # no resource-level permissions (Service Authorization Reference), so the one-job-per-project check
        # lists on *.
        grants: list[tuple[str, list[str]]] = [
            ("sagemaker:ListTrainingJobs", ["*"]),
            ("sagemaker:DescribeHubContent", [arn for arn, _ in hub]),
            ("sagemaker:DescribeTrainingJob", [job]),
            ("s3:GetObject", [arn for arn, _ in specs]),
        ]
        if data:
            grants += [
                ("s3:ListBucket", [arn for arn, reason in data if reason is None]),
                ("s3:GetObject", [arn for arn, reason in data if reason]),
            ]
        for action, resources in grants:
            iam.Grant.add_to_principal(grantee=role, actions=[action], resource_arns=resources)
        if settings.config["rewardLambdaArn"]:  # the evaluator's Lambda must exist
            grant_function_check(role, settings.config["rewardLambdaArn"])
        grant_dataset_registration(  # lineage (registerDataset) only
            role,
            settings.config,
            training_role_arn=settings.config["roleArn"],
            model_packages=group.model_package_arn_pattern,
        )
        scoped = [*hub, (job, JOBS_REASON), (group.model_package_arn_pattern, PACKAGES_REASON), *specs, *data]
        return {
            "AwsSolutions-IAM5[Resource::*]": "ListTrainingJobs (a read-only listing) has no resource-level "
            "permissions; the preflight lists this project's jobs only (name prefix filter).",
            **findings(scope, scoped),
        }


def recipe_spec_scopes(scope: Construct, resources: Sequence[str] | None) -> list[Scoped]:
    """Recipe hyperparameter specs: ``resources``, else the ``jumpstart-(private-)cache-prod-<region>`` objects."""
    reason = (
        "Recipe hyperparameter specs are AWS-owned objects read by key (unconfirmed bucket set, configurable "
        "with recipe_spec_resources)."
    )
    region = environment(scope)[1]
    found = (
        list(resources)
        if resources is not None
        else [
            s3_arn(scope, f"jumpstart-cache-prod-{region}/*"),
            s3_arn(scope, f"jumpstart-private-cache-prod-{region}/*"),
        ]
    )
    return [(arn, reason) for arn in found]


def _data_scopes(scope: Construct, settings: WorkflowSettings, buckets: Sequence[s3.IBucket]) -> list[Scoped]:
    """Buckets (ListBucket, no reason) and objects (GetObject) of data samples: given buckets whole, literal
    data URIs by key prefix."""
    reason = "Training data objects under the configured data location, sampled (1 MB) by key."
    found: list[Scoped] = []
    for bucket in buckets:
        found += [(bucket.bucket_arn, None), (bucket.arn_for_objects("*"), reason)]
    config = settings.config
    for uri in (config["trainUri"], config["validationUri"]):
        if isinstance(uri, str) and not unresolved(uri) and uri.startswith("s3://"):
            bucket_name, _, prefix = uri.removeprefix("s3://").partition("/")
            found += [(s3_arn(scope, bucket_name), None), (s3_arn(scope, f"{bucket_name}/{prefix}*"), reason)]
    return found


def create_function(scope: Construct, log_retention: logs.RetentionDays) -> lambda_.Function:
    """The ``create_job_with="lambda"`` function (``runtime/create_training_job.py``); the caller grants it
    the job-creation statements."""
    return runtime_function(
        scope,
        "CreateTrainingJob",
        handler="create_training_job.handler",
        description="Training workflow: starts the serverless job with boto3 CreateTrainingJob",
        environment={},
        retention=log_retention,
    )


def iam_statement(actions: str | list[str], resources: str | list[str], **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Action": actions, "Effect": "Allow", "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement
