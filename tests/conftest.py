"""Shared test set-up: offline AWS settings and jsii's Node, before anything imports aws_cdk or boto3."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cdk_sagemaker_finetuning import jsii_env

os.environ.update(
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_EC2_METADATA_DISABLED="true",
    SAGEMAKER_VALIDATE_ROLE="false",
    CDK_DISABLE_CLI_TELEMETRY="true",
)
os.environ.pop("AWS_PROFILE", None)
jsii_env.configure()

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


@pytest.fixture
def sft_spec_dict() -> dict:
    """A minimal valid SFT spec as a plain mapping (tests copy and modify it)."""
    return {
        "name": "demo",
        "technique": "sft",
        "base_model": "meta-textgeneration-llama-3-2-1b-instruct",
        "accept_eula": True,
        "data": {"train": "s3://demo-data/train.jsonl"},
    }
