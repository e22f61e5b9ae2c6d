"""``FineTuningStack``: one deployable stack per fine-tuning spec (what ``app.py`` builds)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Tags
from constructs import Construct

from .constructs.project import FineTuningProject
from .spec import FineTuningSpec


class FineTuningStack(Stack):
    """A stack holding one :class:`FineTuningProject`, tagged with the spec's tags.

    Its outputs have no prefix (``ExecutionRoleArn``, ``StateMachineArn``, ...), which is what
    ``cdk-finetune notebook --outputs`` and ``cdk-finetune start STACK`` read. The project's resources are
    also available as attributes of the stack (``data_bucket``, ``training_role``, ``workflow``, ...).

    :param spec: the project's spec.
    :param kwargs: ``Stack`` props (``env``, ``synthesizer``, ...). Default: ``description`` names the project and
        ``tags`` are the spec's tags (yours are added to them).
    """

    def __init__(self, scope: Construct, id: str, *, spec: FineTuningSpec, **kwargs: Any) -> None:
        kwargs.setdefault("description", f"SageMaker serverless fine-tuning project {spec.name}")
        # Stack-level tags explicitly (the @aws-cdk/core:explicitStackTags flag ignores Tags.of(stack) for them).
        kwargs["tags"] = {**spec.tags, **(kwargs.get("tags") or {})}
        super().__init__(scope, id, **kwargs)
        self.spec = spec
        for key, value in spec.tags.items():
            Tags.of(self).add(key, value)
        self.project = FineTuningProject(self, "Project", spec=spec, output_prefix="")
        project = self.project
        self.data_bucket = project.data_bucket
        self.output_bucket = project.output_bucket
        self.train_uri = project.train_uri
        self.validation_uri = project.validation_uri
        self.output_uri = project.output_uri
        self.model_package_group = project.model_package_group
        self.training_role = project.training_role
        self.rewards = project.rewards
        self.workflow = project.workflow
        self.notifications = project.notifications
        self.retraining_triggers = project.retraining_triggers
        self.retraining_pipeline = project.retraining_pipeline
