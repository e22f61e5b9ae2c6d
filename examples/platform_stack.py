#!/usr/bin/env python3
"""A platform stack hosting three fine-tuning projects with ``FineTuningProject``.

Synthesize it with ``npx cdk synth --app "python examples/platform_stack.py"``. The projects share the stack's
access-log bucket, the hub-evaluator provider and the account's AI Registry hub; a CI role may start (and
follow) any of their training runs.
"""

from __future__ import annotations

from pathlib import Path

from cdk_sagemaker_finetuning import jsii_env

jsii_env.configure()  # before aws_cdk starts jsii: no Node end-of-life banner

import aws_cdk as cdk  # noqa: E402
from aws_cdk import aws_iam as iam  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402
from constructs import Construct  # noqa: E402

from cdk_sagemaker_finetuning.constructs.errors import exit_on_invalid_app  # noqa: E402
from cdk_sagemaker_finetuning.constructs.project import FineTuningProject  # noqa: E402
from cdk_sagemaker_finetuning.spec import load_spec  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent


class PlatformStack(cdk.Stack):
    """Three projects: two from spec files, one from keyword props."""

    def __init__(self, scope: Construct, id: str, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.projects = [
            FineTuningProject(self, "Support", spec=load_spec(EXAMPLES / "sft-llama-3-2-1b.yaml")),
            FineTuningProject(self, "Math", spec=load_spec(EXAMPLES / "rlvr-numeric-answer.yaml")),
            FineTuningProject(
                self,
                "Helpful",
                spec_base_dir=EXAMPLES,
                name="helpful-rlaif",
                technique="rlaif",
                base_model="huggingface-reasoning-qwen3-8b",
                data={"create_bucket": True, "train": "train/conversations-verl.jsonl"},
                rlaif={"judge_model_id": "qwen.qwen3-32b-v1:0", "prompt": "prompts/helpfulness.jinja"},
                notifications={"emails": ["ml-platform@example.com"]},
            ),
        ]
        self.ci_role = iam.Role(
            self,
            "TrainingLauncher",
            assumed_by=iam.AccountPrincipal(cdk.Aws.ACCOUNT_ID),
            description="Starts and follows fine-tuning runs of the platform's projects",
        )
        for project in self.projects:
            project.grant_start_training(self.ci_role)


def build(app: cdk.App) -> PlatformStack:
    stack = PlatformStack(app, "FineTuningPlatform")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


if __name__ == "__main__":
    with exit_on_invalid_app():  # bad specs, props and CloudFormation quotas: one message, exit 2
        app = cdk.App()
        build(app)
        app.synth()
