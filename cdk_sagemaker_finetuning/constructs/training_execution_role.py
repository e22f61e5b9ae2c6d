"""``TrainingExecutionRole``: the least-privilege role a serverless fine-tuning job runs as.

Actions and resource types follow SageMaker's Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html). The only ``*``
resources are those the APIs force:
``cloudwatch:PutMetricData`` and ``ecr:GetAuthorizationToken`` have no resource-level permissions, and the
service's training images live in AWS-owned accounts that are not published, so image pulls keep the account
and region wildcarded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jsii
from aws_cdk import Aws, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..runtime.models import PUBLIC_HUB, hub_content_name
from .arns import format_arn, s3_arn, split_arn, unresolved
from .errors import ConstructValidationError
from .model_package_group import IModelPackageGroup
from .nag import acknowledge, acknowledge_wildcard_resources, findings

SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"
S3_READ_ACTIONS = ("s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation")
#: The SDK's job MLflow policy without ``AccessUI`` (the MLflow UI; no resource-level permissions, and a job
#: never opens it).
MLFLOW_ACTIONS = (
    "sagemaker-mlflow:CreateExperiment",
    "sagemaker-mlflow:CreateModelVersion",
    "sagemaker-mlflow:CreateRegisteredModel",
    "sagemaker-mlflow:CreateRun",
    "sagemaker-mlflow:DeleteTag",
    "sagemaker-mlflow:FinalizeLoggedModel",
    "sagemaker-mlflow:Get*",
    "sagemaker-mlflow:ListArtifacts",
    "sagemaker-mlflow:ListLoggedModelArtifacts",
    "sagemaker-mlflow:LogBatch",
    "sagemaker-mlflow:LogInputs",
    "sagemaker-mlflow:LogLoggedModelParams",
    "sagemaker-mlflow:LogMetric",
    "sagemaker-mlflow:LogModel",
    "sagemaker-mlflow:LogOutputs",
    "sagemaker-mlflow:LogParam",
    "sagemaker-mlflow:RenameRegisteredModel",
    "sagemaker-mlflow:RestoreExperiment",
    "sagemaker-mlflow:RestoreRun",
    "sagemaker-mlflow:Search*",
    "sagemaker-mlflow:SetExperimentTag",
    "sagemaker-mlflow:SetLoggedModelTags",
    "sagemaker-mlflow:SetRegisteredModelAlias",
    "sagemaker-mlflow:SetRegisteredModelTag",
    "sagemaker-mlflow:SetTag",
    "sagemaker-mlflow:TransitionModelVersionStage",
    "sagemaker-mlflow:UpdateExperiment",
    "sagemaker-mlflow:UpdateModelVersion",
    "sagemaker-mlflow:UpdateRegisteredModel",
)


class _Location(NamedTuple):
    """Where the job reads or writes: the bucket's ARN, its objects' ARN pattern and the bucket's KMS key."""

    bucket_arn: str
    objects_arn: str
    key: kms.IKey | None


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key/prefix`` -> ``("bucket", "key/prefix")``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


@jsii.implements(iam.IGrantable)
class TrainingExecutionRole(Construct):
    """The IAM role passed as ``RoleArn`` to ``CreateTrainingJob``; grantable (``group.grant_register(role)``).

    :param model_package_group: the group the job registers its output model package in.
    :param base_model: hub model id of the base model (its hub content is readable by the role).
    :param hub_name: hub holding the base model. Default: ``SageMakerPublicHub``.
    :param data_bucket: a bucket the job reads training data from. Default: none.
    :param data_uris: S3 URIs (objects or prefixes) the job reads, in buckets this stack does not own.
        Default: none.
    :param output_bucket: bucket the job writes output to. Default: none (then ``output_uri`` is required).
    :param output_uri: S3 URI prefix the job writes output to, in a bucket this stack does not own.
        Default: none (then ``output_bucket`` is required).
    :param kms_keys: KMS keys of encrypted data or output (``kms.Key.from_key_arn`` for a key ARN). Default: none.
    :param mlflow_resource_arn: MLflow app or tracking server the job logs to. Default: no MLflow access.
    :param wildcard_hub_read: read every hub and hub content instead of the base model's (the SDK template's
        grant), for accounts where the narrowed form is not enough. Default: False.
    :param source_arn_condition: also require ``aws:SourceArn`` to be one of this account's training jobs in
        the trust policy (unconfirmed that serverless jobs send it). Default: False.
    :param role_name: physical role name. Default: generated (contains ``SageMaker`` when the construct id does).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        model_package_group: IModelPackageGroup,
        base_model: str,
        hub_name: str = PUBLIC_HUB,
        data_bucket: s3.IBucket | None = None,
        data_uris: Sequence[str] = (),
        output_bucket: s3.IBucket | None = None,
        output_uri: str | None = None,
        kms_keys: Sequence[kms.IKey] = (),
        mlflow_resource_arn: str | None = None,
        wildcard_hub_read: bool = False,
        source_arn_condition: bool = False,
        role_name: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        # acknowledgments of __init__, given to cdk-nag in one call at its end (two jsii round trips each)
        self._pending: tuple[dict[str, str], list[tuple[str, str | None]]] | None = ({}, [])
        self._check_locations(data_uris, output_bucket, output_uri)
        self.role = self._create_role(role_name, source_arn_condition)
        self.role_arn = self.role.role_arn
        self.role_name = self.role.role_name

        self._add_service_basics()
        model_package_group.grant_register(self.role)
        self._acknowledge_wildcards(
            [model_package_group.model_package_arn_pattern],
            "The job registers a new model package version in its group; versions are numbered at run time.",
        )
        self._add_base_model_read(hub_name, base_model, wildcard_hub_read)
        self._add_data_access(data_bucket, data_uris, output_bucket, output_uri)
        for kms_key in kms_keys:
            self.grant_kms_key(kms_key)
        if mlflow_resource_arn is not None:
            self._add_mlflow(mlflow_resource_arn)
        self._acknowledge_service_basics()
        reasons, scoped = self._pending
        self._pending = None  # later acknowledgments go to cdk-nag directly
        acknowledge(self.role, {**reasons, **findings(self.role, scoped)})

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The role as a grant target: ``group.grant_register(role)``, ``bucket.grant_read(role)``."""
        return self.role.grant_principal

    # -- grants used by other constructs -------------------------------------------------------------------

    def grant_pass_role(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to pass this role to SageMaker only (``iam:PassedToService``)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["iam:PassRole"],
            resource_arns=[self.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER_SERVICE}},
        )

    def grant_reward_function(self, function: lambda_.IFunction) -> iam.Grant:
        """Let the job invoke an RLVR reward Lambda: the ARNs of ``function.grant_invoke`` (the function and its
        qualified versions/aliases), on the role only, so an imported function of any account works (its
        owner allows the invoke; no resource-based policy is added)."""
        self._acknowledge_wildcards(
            [f"{function.function_arn}:*"],
            "Qualified invocations (versions and aliases) of the one reward function.",
        )
        return self._allow(["lambda:InvokeFunction"], function.resource_arns_for_grant_invoke)

    def grant_judge_model(self, model_id: str) -> iam.Grant:
        """Let the job call an RLAIF Bedrock judge model (that foundation model only)."""
        arn = f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}::foundation-model/{model_id}"
        return self._allow(["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"], [arn])

    def grant_hub_content_read(self, hub_name: str, content_type: str, content_name: str) -> iam.Grant:
        """Let the job read every version of one hub content (evaluator, dataset or model) of this account.

        ``DescribeHubContent`` is authorized on both the hub and the hub content, so both are granted.
        """
        versions = self._arn("sagemaker", "hub-content", f"{hub_name}/{content_type}/{content_name}/*")
        self._acknowledge_wildcards(
            [versions], "Every version of one hub content; new versions are registered on update."
        )
        return self._allow(
            ["sagemaker:DescribeHubContent"], [self._arn("sagemaker", "hub", hub_name), versions]
        )

    def grant_s3_read(self, bucket: s3.IBucket, prefix: str | None = None) -> iam.Grant:
        """Let the job list ``bucket`` and read objects under ``prefix`` (default: the whole bucket)."""
        return self._read(self._location(bucket, prefix))

    def grant_s3_read_write(self, bucket: s3.IBucket, prefix: str | None = None) -> iam.Grant:
        """Let the job read and write objects under ``prefix`` of ``bucket`` (default: the whole bucket)."""
        return self._read_write(self._location(bucket, prefix))

    def grant_kms_key(self, key: kms.IKey) -> iam.Grant:
        """Let the job encrypt and decrypt with ``key`` (its key policy must delegate to IAM)."""
        return self._allow(["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], [key.key_arn])

    # -- internals ----------------------------------------------------------------------------------------

    def _check_locations(
        self, data_uris: Sequence[str], output_bucket: s3.IBucket | None, output_uri: str | None
    ) -> None:
        """An output location is given, and every literal data or output URI is an S3 URI naming a bucket."""
        if output_bucket is None and output_uri is None:
            raise ConstructValidationError("TrainingExecutionRole needs output_bucket or output_uri", self)
        for uri in [*data_uris, *([output_uri] if output_uri else [])]:
            if not unresolved(uri) and not (uri.startswith("s3://") and split_s3_uri(uri)[0]):
                raise ConstructValidationError(f"{uri!r} is not an S3 URI (s3://bucket/prefix)", self)

    def _create_role(self, role_name: str | None, source_arn_condition: bool) -> iam.Role:
        """The role, trusted by SageMaker of this account (and, if asked, this account's training jobs only)."""
        conditions: dict[str, dict[str, str]] = {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
        if source_arn_condition:
            conditions["ArnLike"] = {"aws:SourceArn": self._arn("sagemaker", "training-job", "*")}
        return iam.Role(
            self,
            "Role",
            role_name=role_name,
            description="Execution role of SageMaker serverless fine-tuning jobs (cdk-sagemaker-finetuning)",
            assumed_by=iam.ServicePrincipal(SAGEMAKER_SERVICE, conditions=conditions),
        )

    def _acknowledge_service_basics(self) -> None:
        """The wildcards of ``_add_service_basics``: APIs without resource-level permissions, AWS-owned images
        and per-job log streams."""
        self._acknowledge(
            {
                "AwsSolutions-IAM5[Resource::*]": "cloudwatch:PutMetricData and ecr:GetAuthorizationToken have no "
                "resource-level permissions.",
                "AwsSolutions-IAM5[Resource::arn:aws:ecr:*:*:repository/*]": "Serverless training images live in "
                "AWS-owned ECR repositories whose accounts are not published.",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
                "/aws/sagemaker/TrainingJobs*]": "Training jobs log to streams named after the job, created at run "
                "time under /aws/sagemaker/TrainingJobs.",
            },
        )

    def _acknowledge(self, reasons: dict[str, str]) -> None:
        if self._pending is None:
            acknowledge(self.role, reasons)
        else:
            self._pending[0].update(reasons)

    def _acknowledge_wildcards(self, resources: Sequence[str], reason: str) -> None:
        if self._pending is None:
            acknowledge_wildcard_resources(self.role, resources, reason)
        else:
            self._pending[1].extend((arn, reason) for arn in resources)

    def _location(self, bucket: s3.IBucket, prefix: str | None) -> _Location:
        return self._acknowledged_location(
            bucket.bucket_arn, bucket.arn_for_objects(f"{prefix or ''}*"), bucket.encryption_key
        )

    def _uri_location(self, uri: str) -> _Location:
        """An S3 URI's bucket and objects (``<bucket>/<key>*``) in a bucket this stack does not own, the ARNs
        ``s3.Bucket.from_bucket_name(...).arn_for_objects`` gives, built in Python."""
        bucket, key = split_s3_uri(uri)
        return self._acknowledged_location(s3_arn(self, bucket), s3_arn(self, f"{bucket}/{key}*"), None)

    def _acknowledged_location(self, bucket_arn: str, objects_arn: str, key: kms.IKey | None) -> _Location:
        """The location, with the wildcard of its objects acknowledged for cdk-nag."""
        self._acknowledge_wildcards(
            [objects_arn],
            "Objects under the project's data/output location; their keys are chosen at run time.",
        )
        return _Location(bucket_arn, objects_arn, key)

    def _read(self, location: _Location) -> iam.Grant:
        self._allow(["s3:ListBucket", "s3:GetBucketLocation"], [location.bucket_arn])
        if location.key is not None:
            self.grant_kms_key(location.key)
        return self._allow(["s3:GetObject"], [location.objects_arn])

    def _read_write(self, location: _Location) -> iam.Grant:
        self._read(location)
        return self._allow(["s3:PutObject"], [location.objects_arn])

    def _allow(self, actions: list[str], resources: list[str]) -> iam.Grant:
        return iam.Grant.add_to_principal(grantee=self.role, actions=actions, resource_arns=resources)

    def _arn(self, service: str, resource: str, name: str, account: str | None = None) -> str:
        return format_arn(self, service=service, resource=resource, resource_name=name, account=account)

    def _add_service_basics(self) -> None:
        log_group = format_arn(
            self,
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/TrainingJobs*",
            separator=":",
        )
        self._allow(
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [log_group],
        )
        self._allow(["cloudwatch:PutMetricData", "ecr:GetAuthorizationToken"], ["*"])
        self._allow(
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            ["arn:aws:ecr:*:*:repository/*"],
        )

    def _add_data_access(
        self,
        data_bucket: s3.IBucket | None,
        data_uris: Sequence[str],
        output_bucket: s3.IBucket | None,
        output_uri: str | None,
    ) -> None:
        """Read the data (buckets of this stack, or URIs elsewhere); read and write the output location."""
        if data_bucket is not None:
            self.grant_s3_read(data_bucket)
        for uri in data_uris:
            self._read(self._uri_location(uri))
        if output_bucket is not None:
            self.grant_s3_read_write(output_bucket)
        if output_uri is not None:
            self._read_write(self._uri_location(output_uri))

    def _add_base_model_read(self, hub_name: str, base_model: str, wildcard: bool) -> None:
        actions = ["sagemaker:DescribeHub", "sagemaker:ListHubContents", "sagemaker:DescribeHubContent"]
        if wildcard:
            self._allow(
                actions, [self._arn("sagemaker", "hub", "*"), self._arn("sagemaker", "hub-content", "*")]
            )
            self._acknowledge(
                {
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:hub/*]": "wildcard_hub_read=True was requested (the SDK template's hub grant).",
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
                    "hub-content/*]": "wildcard_hub_read=True was requested (the SDK template's hub grant).",
                },
            )
            return
        account = "aws" if hub_name == PUBLIC_HUB else None
        content = self._arn(
            "sagemaker", "hub-content", f"{hub_name}/Model/{hub_content_name(base_model)}/*", account
        )
        self._allow(actions, [self._arn("sagemaker", "hub", hub_name, account), content])
        self._acknowledge_wildcards(
            [content],
            "Every version of the one base model: the service floats to the latest version.",
        )

    def _add_mlflow(self, arn: str) -> None:
        describe = {
            "mlflow-app": "sagemaker:DescribeMlflowApp",
            "mlflow-tracking-server": "sagemaker:DescribeMlflowTrackingServer",
        }
        if not Token.is_unresolved(arn):
            what = "an MLflow app (...:mlflow-app/<id>) or tracking server (...:mlflow-tracking-server/<name>) ARN"
            expected = "arn:aws:sagemaker:<region>:<account>:mlflow-app/<id>"
            kind = split_arn(self, arn, what=f"mlflow_resource_arn, {what}", expected=expected).resource
            if kind not in describe:
                raise ConstructValidationError(f"mlflow_resource_arn {arn!r} must be {what}", self)
            describe = {kind: describe[kind]}
        self._allow([*MLFLOW_ACTIONS, *describe.values()], [arn])
        self._acknowledge(
            {
                "AwsSolutions-IAM5[Action::sagemaker-mlflow:Get*]": "MLflow read actions of the one tracking resource "
                "the job logs to.",
                "AwsSolutions-IAM5[Action::sagemaker-mlflow:Search*]": "MLflow search actions of the one tracking "
                "resource the job logs to.",
            },
        )
