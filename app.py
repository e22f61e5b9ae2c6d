#!/usr/bin/env python3
"""The default app: one FineTuningStack per spec file listed in cdk.json (context key below).

Override on the command line: ``cdk synth -c cdk-sagemaker-finetuning:specs='["my-spec.yaml"]'``.
Stacks are environment-agnostic, so synth needs no AWS credentials and no region.
"""

from __future__ import annotations

import json

from cdk_sagemaker_finetuning import jsii_env

jsii_env.configure()  # before aws_cdk starts jsii: no Node end-of-life banner

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from cdk_sagemaker_finetuning.constructs.errors import exit_on_invalid_app  # noqa: E402
from cdk_sagemaker_finetuning.spec import load_spec  # noqa: E402
from cdk_sagemaker_finetuning.stack import FineTuningStack  # noqa: E402

SPECS_CONTEXT_KEY = "cdk-sagemaker-finetuning:specs"


def spec_paths(app: cdk.App) -> list[str]:
    value = app.node.try_get_context(SPECS_CONTEXT_KEY) or []
    return json.loads(value) if isinstance(value, str) else list(value)


def build_app(app: cdk.App) -> cdk.App:
    """Add one stack per listed spec and the cdk-nag AwsSolutions checks to ``app``."""
    for path in spec_paths(app):
        spec = load_spec(path)
        FineTuningStack(app, f"FineTuning-{spec.name}", spec=spec)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    with exit_on_invalid_app():  # bad specs, props and CloudFormation quotas: one message, exit 2
        build_app(cdk.App()).synth()
