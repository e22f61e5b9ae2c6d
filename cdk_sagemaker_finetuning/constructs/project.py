"""``FineTuningProject``: one fine-tuning project, from its spec, as one construct (L3).

Over ~400 lines because it is the one place that wires a spec's optional blocks (data, rewards, evaluation,
lineage, retraining, notifications, outputs) to the constructs; each block is its own short method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ..evaluation_spec import with_evaluation
from ..spec import FineTuningSpec, PipelineSpec, SpecError
from ..workflow_config import job_name_prefix, runtime_config
from .arns import environment, execution_arn, path_of, stack_of, unresolved
from .create_job import CreateJobWith
from .dataset_lineage import grant_dataset_read
from .errors import ConstructValidationError
from .limits import check_limits
from .model_package_group import IModelPackageGroup, ModelPackageGroup
from .nag import acknowledge, acknowledge_wildcard_resources_at_synth
from .notifications import TrainingNotifications
from .retraining import PipelineRepository, RetrainingPipeline, RetrainingTriggers
from .shared import ProjectNames, shared_stack
from .shared_logs import SECURE_BUCKET, access_logs_target, workflow_log_group
from .spec_rewards import SpecRewards
from .training_execution_role import TrainingExecutionRole
from .training_workflow import TrainingWorkflow

BUCKET_NOTIFICATIONS_HANDLER = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"


def wants_topic(spec: FineTuningSpec) -> bool:
    """Whether the spec asks for a notification topic: notifications, or a pipeline's manual approval."""
    pipeline = spec.retraining.pipeline if spec.retraining else None
    return spec.notifications is not None or bool(pipeline and pipeline.manual_approval)


@dataclass(frozen=True)
class _Watched:
    """The bucket retraining watches and the training key in it."""

    bucket: s3.IBucket
    train_key: str

    def pipeline_source_key(self, spec: FineTuningSpec) -> str | None:
        """The object whose new versions start the retraining pipeline (default: the training key)."""
        pipeline = spec.retraining.pipeline if spec.retraining else None
        return self.source_key(pipeline) if pipeline else None

    def source_key(self, pipeline: PipelineSpec) -> str:
        """The object whose new versions start ``pipeline`` (default: the training key)."""
        return pipeline.source_key or self.train_key


class FineTuningProject(Construct):
    """Everything one fine-tuning project needs, from a :class:`FineTuningSpec` or the spec's fields.

    Creates the data bucket (``data.create_bucket``) and output bucket (unless ``output.s3_uri``), encrypted,
    TLS-only, private, versioned, access-logged and retained; the model package group (created, or imported
    with ``model_package_group.existing``); the training execution role; the reward function and evaluator
    (RLVR) or judge grants and prompt evaluator (RLAIF); the training workflow; the retraining triggers and
    pipeline (``retraining``); notifications (``notifications``); and stack outputs the notebook helper reads.
    Several projects can live in one stack: names must differ, and the access-log bucket, the evaluator
    provider, the AI Registry hub, the orphaned-job stopper and the workflow log group are shared (in a
    :class:`~cdk_sagemaker_finetuning.constructs.platform.FineTuningPlatform`, by all its nested stacks). Synth fails when the stack exceeds a CloudFormation quota
    (500 resources, 200 outputs, 200 parameters, 1,000,000 template bytes) and warns from 90 % (``limits.py``).

    :param spec: the project's spec. Alternatively pass the spec's fields as keyword arguments
        (``name=..., technique=..., ...``); they are validated the same way (``SpecError``). Default: none
        (then the fields are required).
    :param spec_base_dir: folder relative paths in keyword fields resolve against. Default: the working folder.
    :param output_prefix: prefix of the stack outputs' logical ids. Default: the project name in PascalCase
        (``FineTuningStack`` uses no prefix).
    :param poll_interval: wait between job status checks. Default: 60 s (longer for very long runs).
    :param access_logs_bucket: bucket receiving the buckets' server access logs. Default: one per stack.
    :param notification_topic: topic for notifications and approval requests. Default: a new encrypted topic
        when the spec asks for notifications or a manual approval. It also receives the alarm of the
        workflow's dead-letter queue (a training job that could not be stopped).
    :param create_job_with: how the workflow calls CreateTrainingJob, ``"aws-sdk"`` or ``"lambda"``
        (:class:`~cdk_sagemaker_finetuning.constructs.create_job.CreateJobWith`). Default: the app's
        ``cdk-sagemaker-finetuning:createJobWith`` context, else ``aws-sdk``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        spec: FineTuningSpec | None = None,
        spec_base_dir: str | Path = ".",
        output_prefix: str | None = None,
        poll_interval: Duration | None = None,
        access_logs_bucket: s3.IBucket | None = None,
        notification_topic: sns.ITopic | None = None,
        create_job_with: CreateJobWith | str | None = None,
        **spec_fields: Any,
    ) -> None:
        super().__init__(scope, id)
        self.spec = self._spec(spec, spec_base_dir, spec_fields)
        ProjectNames.of(self).claim(
            self, [f"project {self.spec.name}", f"model package group {self.spec.model_package_group_name}"]
        )
        check_limits(self, self.spec.name)  # CloudFormation's per-stack quotas, at synth time
        region = environment(self)[1]
        if not unresolved(region) and self.spec.check_region(region):
            raise SpecError(self.spec.check_region(region))  # model family and judge model allow-lists
        self._access_logs_bucket = access_logs_bucket
        spec = self.spec
        watched = spec.retraining is not None and (spec.retraining.on_new_data or spec.retraining.pipeline)
        self.data_bucket = (
            self._bucket("DataBucket", events=bool(watched)) if spec.data.create_bucket else None
        )
        if spec.output.s3_uri is None:
            self.output_bucket = self._bucket("OutputBucket")
            self.output_uri = self.output_bucket.s3_url_for_object("output/")
        else:
            self.output_bucket, self.output_uri = None, spec.output.s3_uri
        self.train_uri = self._data_uri(spec.data.train)
        self.validation_uri = self._data_uri(spec.data.validation) if spec.data.validation else None
        self.model_package_group = self._model_package_group()
        self.training_role = self._training_role(self.model_package_group)
        watch = self._watched_location() if spec.retraining else None
        watched_keys = self._watched_keys(watch)
        self._grant_other_data(self.training_role, watch, watched_keys)
        self.rewards = SpecRewards(self, "Rewards", spec=spec, training_role=self.training_role)
        self.evaluator_arn = self.rewards.evaluator_arn
        watched_bucket = [watch.bucket] if watch and watched_keys else []
        data_buckets = [self.data_bucket] if self.data_bucket else watched_bucket
        self.workflow = TrainingWorkflow(
            self,
            "TrainingWorkflow",
            create_job_with=create_job_with,
            log_group=workflow_log_group(self),
            **self._workflow_props(self.rewards, data_buckets, poll_interval),
        )
        self.state_machine = self.workflow.state_machine
        self.state_machine_arn = self.workflow.state_machine_arn
        self.notifications = self._notifications(self.workflow, notification_topic)
        topic = self.notifications.topic if self.notifications else None
        self.retraining_triggers, self.retraining_pipeline = self._retraining(
            watch, self.state_machine, topic
        )
        self.outputs = self._outputs(spec.output_prefix if output_prefix is None else output_prefix)

    def _spec(
        self, spec: FineTuningSpec | None, base_dir: str | Path, fields: dict[str, Any]
    ) -> FineTuningSpec:
        """``spec``, or the spec made of its fields given as keyword arguments (not both)."""
        if spec is not None and fields:
            raise ConstructValidationError(
                f"pass either spec or the spec's fields, not both (got spec and {', '.join(fields)})", self
            )
        return spec if spec is not None else FineTuningSpec.from_dict(fields, base_dir=base_dir)

    def grant_start_training(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to start training runs of this project and follow them (describe, history, list)."""
        grant = self.workflow.grant_start_execution(grantee)
        executions = execution_arn(self.state_machine_arn, "*")
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["states:DescribeExecution", "states:GetExecutionHistory"],
            resource_arns=[executions],
        )
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["states:ListExecutions"], resource_arns=[self.state_machine_arn]
        )
        if isinstance(grantee, Construct):
            acknowledge_wildcard_resources_at_synth(
                grantee, [executions], f"Runs of the {self.spec.name} training workflow; named at start time."
            )
        return grant

    # -- pieces -------------------------------------------------------------------------------------------

    def _bucket(self, id: str, *, events: bool = False) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            id,
            **SECURE_BUCKET,
            event_bridge_enabled=events or None,
            server_access_logs_bucket=self._logs_bucket(),
            server_access_logs_prefix=f"{path_of(self)}/{id}/",
        )
        if shared_stack(self) is not stack_of(self):
            Annotations.of(bucket).acknowledge_warning(
                "@aws-cdk/aws-s3:accessLogsPolicyNotAdded",
                "The platform's access-log bucket lets S3 log delivery of this account write (shared_logs.py).",
            )
        if events:
            handler = Stack.of(self).node.try_find_child(BUCKET_NOTIFICATIONS_HANDLER)
            acknowledge(
                handler,
                {
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]": "CDK's bucket-notification custom resource only writes its own "
                    "logs with the AWS managed basic execution policy."
                },
            )
        return bucket

    def _logs_bucket(self) -> s3.IBucket:
        if self._access_logs_bucket is None or isinstance(self._access_logs_bucket, s3.Bucket):
            self._access_logs_bucket = access_logs_target(self, self._access_logs_bucket)
        return self._access_logs_bucket

    def _external_data(self) -> list[str]:
        """Data locations outside a stack-created bucket (S3 URIs or dataset ARNs)."""
        data = self.spec.data
        return [] if data.create_bucket else [uri for uri in (data.train, data.validation) if uri]

    def _evaluation_data(self) -> list[str]:
        """The evaluation dataset (S3 URI or dataset ARN) the judge and custom scorer jobs read, if any."""
        evaluation = self.spec.evaluation
        if evaluation is None or not (evaluation.judge or evaluation.custom_scorer):
            return []
        return [evaluation.dataset] if evaluation.dataset else []

    def _data_uri(self, location: str) -> str:
        return location if self.data_bucket is None else self.data_bucket.s3_url_for_object(location)

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

    def _training_role(self, group: IModelPackageGroup) -> TrainingExecutionRole:
        spec = self.spec
        return TrainingExecutionRole(
            self,
            "SageMakerExecutionRole",
            model_package_group=group,
            base_model=spec.base_model,
            hub_name=spec.hub,
            data_bucket=self.data_bucket,
            data_uris=[
                uri for uri in self._external_data() + self._evaluation_data() if uri.startswith("s3://")
            ],
            output_bucket=self.output_bucket,
            output_uri=spec.output.s3_uri,
            kms_keys=[kms.Key.from_key_arn(self, "OutputKey", spec.output.kms_key_arn)]
            if spec.output.kms_key_arn
            else (),
            mlflow_resource_arn=spec.mlflow.resource_arn,
        )

    def _grant_other_data(
        self, role: TrainingExecutionRole, watch: _Watched | None, watched_keys: list[str]
    ) -> None:
        """What the job may read besides ``data.train``/``validation`` in S3: the keys retraining hands it
        (new data may land outside ``data.train``), and AI Registry datasets."""
        if watch is not None and self.data_bucket is None:
            for key in watched_keys:
                role.grant_s3_read(watch.bucket, key)
        for arn in self._external_data() + self._evaluation_data():
            if arn.startswith("arn:"):  # AI Registry dataset: hub-content/<hub>/DataSet/<name>/<version>
                hub, content_type, name = arn.split(":hub-content/", 1)[1].split("/")[:3]
                role.grant_hub_content_read(hub, content_type, name)
        evaluation = self.spec.evaluation
        if evaluation and evaluation.judge:  # its metrics job calls Bedrock as the training role
            role.grant_judge_model(evaluation.judge.model_id)
        # lineage (data.register_dataset): the job reads the dataset version it trains from
        grant_dataset_read(role, dataset_name=self.spec.dataset_name)

    def _workflow_props(
        self, rewards: SpecRewards, data_buckets: list[s3.IBucket], poll_interval: Duration | None
    ) -> dict[str, Any]:
        spec = self.spec
        retraining = spec.retraining
        config = runtime_config(
            spec,
            role_arn=self.training_role.role_arn,
            model_package_group_arn=self.model_package_group.model_package_group_arn,
            output_uri=self.output_uri,
            train_uri=self.train_uri,
            validation_uri=self.validation_uri,
            evaluator_arn=rewards.evaluator_arn if spec.technique == "rlvr" else None,
            reward_lambda_arn=rewards.reward_lambda_arn,
            judge_prompt_evaluator_arn=rewards.evaluator_arn if spec.judge_prompt_path else None,
            approved_only=retraining.approved_only if retraining else True,
        )
        if spec.evaluation is not None:
            config = with_evaluation(config, spec)
        props: dict[str, Any] = dict(
            config=config,
            training_role=self.training_role.role,
            model_package_group=self.model_package_group,
            data_buckets=data_buckets,
        )
        if poll_interval is not None:
            props["poll_interval"] = poll_interval
        return props

    def _notifications(
        self, workflow: TrainingWorkflow, topic: sns.ITopic | None
    ) -> TrainingNotifications | None:
        spec = self.spec
        if topic is None and not wants_topic(spec):
            return None
        notify = spec.notifications
        notifications = TrainingNotifications(
            self,
            "Notifications",
            job_name_prefix=job_name_prefix(spec),
            model_package_group_name=spec.model_package_group_name,
            state_machine=workflow.state_machine if notify is None or notify.alarm_on_failure else None,
            emails=notify.emails if notify else (),
            topic=topic,
            evaluated_runs=workflow.state_machine if spec.evaluation else None,
        )
        workflow.stopper.notify(notifications.topic)  # the shared dead-letter alarm
        return notifications

    def _retraining(
        self, watch: _Watched | None, state_machine: sfn.IStateMachine, approval_topic: sns.ITopic | None
    ) -> tuple[RetrainingTriggers | None, RetrainingPipeline | None]:
        retraining = self.spec.retraining
        if retraining is None or watch is None:
            return None, None
        continuous = dict(
            continue_from_latest=retraining.continue_from_latest, approved_only=retraining.approved_only
        )
        triggers = None
        if retraining.on_new_data or retraining.schedule:
            triggers = RetrainingTriggers(
                self,
                "RetrainingTriggers",
                state_machine=state_machine,
                data_bucket=watch.bucket,
                new_data_prefix=self._new_data_prefix(watch),
                schedule=events.Schedule.expression(retraining.schedule) if retraining.schedule else None,
                **continuous,
            )
        pipeline = None
        if retraining.pipeline:
            spec_pipeline = retraining.pipeline
            spec_repository = spec_pipeline.repository
            repository = PipelineRepository(**spec_repository.model_dump()) if spec_repository else None
            pipeline = RetrainingPipeline(
                self,
                "RetrainingPipeline",
                state_machine=state_machine,
                data_bucket=watch.bucket,
                source_key=watch.source_key(spec_pipeline),
                artifact_bucket=self._bucket("PipelineArtifacts"),
                manual_approval=spec_pipeline.manual_approval,
                approval_topic=approval_topic,
                repository=repository,
                **continuous,
            )
        return triggers, pipeline

    def _new_data_prefix(self, watch: _Watched) -> str | None:
        """Key prefix the new-data trigger watches: ``on_new_data.prefix``, else ``data.train``'s folder."""
        on_new_data = self.spec.retraining.on_new_data if self.spec.retraining else None
        if on_new_data is None:
            return None
        folder = watch.train_key.rpartition("/")[0]
        return on_new_data.prefix or (f"{folder}/" if folder else "")

    def _watched_keys(self, watch: _Watched | None) -> list[str]:
        """Key prefixes whose objects a retraining trigger may hand to the workflow."""
        if watch is None:
            return []
        keys = (self._new_data_prefix(watch), watch.pipeline_source_key(self.spec))
        return [key for key in keys if key is not None]

    def _watched_location(self) -> _Watched:
        """The bucket and training key retraining watches (imported buckets must send EventBridge events)."""
        if self.data_bucket is not None:
            return _Watched(self.data_bucket, self.spec.data.train)
        bucket_name, _, key = self.spec.data.train.removeprefix("s3://").partition("/")
        return _Watched(s3.Bucket.from_bucket_name(self, "WatchedDataBucket", bucket_name), key)

    def _outputs(self, prefix: str) -> dict[str, CfnOutput]:
        if prefix and not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", prefix):
            raise ConstructValidationError(
                f"output_prefix {prefix!r} must be alphanumeric, starting with a letter", self
            )
        values = {
            "ExecutionRoleArn": self.training_role.role_arn,
            "ModelPackageGroupName": self.model_package_group.model_package_group_name,
            "ModelPackageGroupArn": self.model_package_group.model_package_group_arn,
            "TrainUri": self.train_uri,
            "ValidationUri": self.validation_uri,
            "OutputUri": self.output_uri,
            "EvaluatorArn": self.evaluator_arn,
            "StateMachineArn": self.state_machine_arn,
        }
        self.output_values = {k: v for k, v in values.items() if v is not None}  # without jsii round trips
        outputs = {}
        for key, value in values.items():
            if value is not None:
                outputs[key] = CfnOutput(  # ``key`` is the logical id
                    self, key, value=value, description=f"{key} of project {self.spec.name}", key=prefix + key
                )
        return outputs
