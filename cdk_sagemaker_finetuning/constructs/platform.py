"""``FineTuningPlatform``: many fine-tuning projects in one stack, one nested stack per project.

CloudFormation's quotas apply per template (500 resources, 200 outputs, 200 parameters, 1,000,000 bytes:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html); a nested stack is
a template of its own behind one ``AWS::CloudFormation::Stack`` resource of the parent
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-nested-stacks.html). Each project
gets its own nested stack, named after the project, so adding, removing or reordering projects never moves
another project's retained buckets or named model package group to another template. The pieces every project
uses exist once, in the platform's stack, and reach the nested stacks as parameters: the access-log bucket,
the evaluator provider (and the AI Registry hub it creates), the orphaned-job stopper, the workflow log group
and, when asked for, one notification topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, NestedStack, Stack, Tags
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from ..spec import FineTuningSpec
from .create_job import CreateJobWith
from .errors import ConstructValidationError
from .limits import check_limits
from .notifications import encrypted_topic
from .orphaned_job_stopper import OrphanedJobStopper
from .project import FineTuningProject, wants_topic
from .shared import share_with

#: Suffix of the one parent-stack output per project holding the project's outputs as a JSON object.
OUTPUTS_SUFFIX = "Outputs"


class FineTuningPlatform(Construct):
    """A platform of fine-tuning projects: :meth:`add_project` puts each into its own nested stack.

    :param notification_emails: e-mail addresses subscribed to one platform-wide notification topic. Default:
        none (no platform topic unless ``notification_topic`` is given).
    :param notification_topic: topic that every project asking for notifications (or a manual approval)
        publishes to instead of creating its own; it also receives the stopper's dead-letter alarm.
        Default: a new encrypted topic when ``notification_emails`` are given, else none (such projects
        create their own topic in their nested stack).
    :param access_logs_bucket: bucket receiving the projects' bucket access logs. Default: one in the
        platform's stack.
    :param export_outputs: also export one output per project on the platform's stack,
        ``<ProjectPrefix>Outputs``, a JSON object of the project's outputs, so that
        ``cdk deploy --outputs-file`` (which writes top-level outputs only) has them. Default: True.
    :param poll_interval: wait between job status checks of every project. Default: the workflow's default.
    :param create_job_with: how the workflows call CreateTrainingJob (``"aws-sdk"`` or ``"lambda"``).
        Default: the app context ``cdk-sagemaker-finetuning:createJobWith``, else ``"aws-sdk"``.

    Attributes: ``stack`` (the platform's stack), ``projects``, ``nested_stacks`` (project name -> its
    nested stack), ``notification_topic``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        notification_emails: Sequence[str] = (),
        notification_topic: sns.ITopic | None = None,
        access_logs_bucket: s3.IBucket | None = None,
        export_outputs: bool = True,
        poll_interval: Duration | None = None,
        create_job_with: CreateJobWith | str | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.stack = Stack.of(self)
        self.projects: list[FineTuningProject] = []
        self.nested_stacks: dict[str, NestedStack] = {}
        if notification_topic is None and notification_emails:
            notification_topic = encrypted_topic(self, "Notifications")
        self.notification_topic = notification_topic
        if notification_topic is not None:
            for email in notification_emails:
                notification_topic.add_subscription(subscriptions.EmailSubscription(email))
        self._access_logs_bucket = access_logs_bucket
        self._export_outputs = export_outputs
        self._project_props: dict[str, Any] = {"create_job_with": create_job_with}
        if poll_interval is not None:
            self._project_props["poll_interval"] = poll_interval

    def add_project(
        self,
        spec: FineTuningSpec | None = None,
        *,
        id: str | None = None,
        spec_base_dir: str | Path = ".",
        **spec_fields: Any,
    ) -> FineTuningProject:
        """Add a project from its spec (or the spec's fields, as ``FineTuningProject`` takes them).

        :param id: construct id of the project's nested stack. Default: the project name in PascalCase
            (``support-sft`` -> ``SupportSft``), also the prefix of its outputs.
        """
        if spec is not None and spec_fields:
            raise ConstructValidationError(
                f"pass either spec or the spec's fields, not both (got spec and {', '.join(spec_fields)})",
                self,
            )
        if spec is None:
            spec = FineTuningSpec.from_dict(spec_fields, base_dir=spec_base_dir)
        nested_id = id or spec.output_prefix
        if self.node.try_find_child(nested_id) is not None:
            raise ConstructValidationError(
                f"project {spec.name}: id {nested_id!r} is already used in this platform", self
            )
        check_limits(self, spec.name)  # the platform's own template (one nested stack resource per project)
        nested = NestedStack(
            self, nested_id, description=f"SageMaker serverless fine-tuning project {spec.name}"
        )
        share_with(nested, self.stack)
        if self.notification_topic is not None:  # the shared dead-letter alarm goes to the platform's topic
            OrphanedJobStopper.of(self).notify(self.notification_topic)
        for key, value in spec.tags.items():
            Tags.of(nested).add(key, value)
        project = FineTuningProject(
            nested,
            "Project",
            spec=spec,
            output_prefix=spec.output_prefix,
            access_logs_bucket=self._access_logs_bucket,
            notification_topic=self.notification_topic if wants_topic(spec) else None,
            **self._project_props,
        )
        if self._export_outputs:
            CfnOutput(
                self,
                spec.output_prefix + OUTPUTS_SUFFIX,
                value=self.stack.to_json_string(project.output_values),
                description=f"Outputs of fine-tuning project {spec.name} (JSON)",
                key=spec.output_prefix + OUTPUTS_SUFFIX,  # the logical id
            )
        self.projects.append(project)
        self.nested_stacks[spec.name] = nested
        return project
