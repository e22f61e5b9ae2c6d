"""``FineTuningStack``: one deployable stack per fine-tuning spec."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack, Tags
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .constructs.model_package_group import IModelPackageGroup, ModelPackageGroup
from .constructs.nag import acknowledge
from .constructs.spec_rewards import SpecRewards
from .constructs.training_execution_role import TrainingExecutionRole
from .constructs.training_workflow import TrainingWorkflow
from .spec import FineTuningSpec
from .workflow_config import runtime_config


class FineTuningStack(Stack):
    """Everything one fine-tuning project needs, from its spec.

    Creates the data bucket (when ``data.create_bucket``), the output bucket (unless ``output.s3_uri``), the
    model package group (unless ``model_package_group.existing``) and the training execution role. Buckets and
    the group are retained when the stack is deleted.
    """

    def __init__(self, scope: Construct, id: str, *, spec: FineTuningSpec, **kwargs: Any) -> None:
        super().__init__(
            scope, id, description=f"SageMaker serverless fine-tuning project {spec.name}", **kwargs
        )
        self.spec = spec
        for key, value in spec.tags.items():
            Tags.of(self).add(key, value)
        self.access_logs_bucket: s3.Bucket | None = None
        self.data_bucket = self._bucket("DataBucket") if spec.data.create_bucket else None
        self.output_bucket = self._bucket("OutputBucket") if spec.output.s3_uri is None else None
        self.train_uri = self._data_uri(spec.data.train)
        self.validation_uri = self._data_uri(spec.data.validation) if spec.data.validation else None
        self.output_uri = spec.output.s3_uri or self.output_bucket.s3_url_for_object("output/")
        self.model_package_group = self._model_package_group()
        self.training_role = TrainingExecutionRole(
            self,
            "SageMakerExecutionRole",
            model_package_group=self.model_package_group,
            base_model=spec.base_model,
            hub_name=spec.hub,
            data_bucket=self.data_bucket,
            data_uris=[
                uri for uri in (spec.data.train, spec.data.validation) if uri and uri.startswith("s3://")
            ]
            if not spec.data.create_bucket
            else (),
            output_bucket=self.output_bucket,
            output_uri=spec.output.s3_uri,
            kms_keys=[spec.output.kms_key_arn] if spec.output.kms_key_arn else (),
            mlflow_resource_arn=spec.mlflow.resource_arn,
        )
        self.rewards = SpecRewards(self, "Rewards", spec=spec, training_role=self.training_role)
        self.workflow = TrainingWorkflow(
            self,
            "TrainingWorkflow",
            config=runtime_config(
                spec,
                role_arn=self.training_role.role_arn,
                model_package_group_arn=self.model_package_group.model_package_group_arn,
                output_uri=self.output_uri,
                train_uri=self.train_uri,
                validation_uri=self.validation_uri,
                evaluator_arn=self.rewards.evaluator_arn if spec.technique == "rlvr" else None,
                judge_prompt_evaluator_arn=self.rewards.evaluator_arn if spec.judge_prompt_path else None,
            ),
            training_role_arn=self.training_role.role_arn,
            model_package_group=self.model_package_group,
            data_buckets=[self.data_bucket] if self.data_bucket else (),
        )
        self._outputs()

    def _model_package_group(self) -> IModelPackageGroup:
        name = self.spec.model_package_group_name
        if self.spec.model_package_group.existing:
            return ModelPackageGroup.from_model_package_group_name(self, "ModelPackageGroup", name)
        return ModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=name,
            description=f"Fine-tuned {self.spec.hub_content_name} models of project {self.spec.name}",
        )

    def _bucket(self, id: str) -> s3.Bucket:
        """An encrypted, TLS-only, private, versioned bucket with access logs, retained on stack deletion."""
        if self.access_logs_bucket is None:
            self.access_logs_bucket = s3.Bucket(
                self,
                "AccessLogsBucket",
                **_SECURE_BUCKET,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            )
            acknowledge(
                self.access_logs_bucket,
                {
                    "AwsSolutions-S1": "This is the server access log bucket; logging to itself would loop.",
                },
            )
        return s3.Bucket(
            self,
            id,
            **_SECURE_BUCKET,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix=f"{id}/",
        )

    def _data_uri(self, location: str) -> str:
        if self.data_bucket is None:
            return location
        return self.data_bucket.s3_url_for_object(location)

    def _outputs(self) -> None:
        values = {
            "ExecutionRoleArn": self.training_role.role_arn,
            "ModelPackageGroupName": self.model_package_group.model_package_group_name,
            "ModelPackageGroupArn": self.model_package_group.model_package_group_arn,
            "TrainUri": self.train_uri,
            "ValidationUri": self.validation_uri,
            "OutputUri": self.output_uri,
            "EvaluatorArn": self.rewards.evaluator_arn,
            "StateMachineArn": self.workflow.state_machine_arn,
        }
        for key, value in values.items():
            if value is not None:
                CfnOutput(self, key, value=value).override_logical_id(key)


_SECURE_BUCKET: dict[str, Any] = dict(
    encryption=s3.BucketEncryption.S3_MANAGED,
    block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
    enforce_ssl=True,
    versioned=True,
    removal_policy=RemovalPolicy.RETAIN,
)
