"""The Lambda way of starting the job: the request sent as is, SageMaker errors named like the aws-sdk's."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from cdk_sagemaker_finetuning.runtime import create_training_job, errors, request
from tests import workflow_data as wd

ARN = f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:training-job/demo-run-1"


@pytest.fixture
def req() -> dict:
    execution = {"name": "run-1", "input": None, "sourceModelPackageArn": None}
    return request.build_create_training_job_request(
        wd.config(),
        wd.hub_content(),
        wd.override_spec(wd.LLAMA, "SFT"),
        execution,
        account=wd.ACCOUNT,
        region=wd.REGION,
    )


@pytest.fixture
def stub():
    client = boto3.client("sagemaker", region_name=wd.REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_request_is_sent_unchanged(stub, req, capsys):
    client, stubber = stub
    stubber.add_response("create_training_job", {"TrainingJobArn": ARN}, req)
    assert create_training_job.handler({"request": req}, None, client) == {
        "trainingJobName": "demo-run-1",
        "trainingJobArn": ARN,
    }
    assert '"action": "created"' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("ThrottlingException", "SageMaker.ThrottlingException"),
        ("ResourceInUse", "SageMaker.ResourceInUseException"),
        ("ResourceLimitExceeded", "SageMaker.ResourceLimitExceededException"),
        ("AccessDeniedException", "SageMaker.AccessDeniedException"),
        ("ValidationException", "SageMaker.ValidationException"),
    ],
)
def test_sagemaker_errors_carry_the_aws_sdk_integration_names(stub, req, code, name):
    client, stubber = stub
    stubber.add_client_error("create_training_job", code, "scripted", expected_params=req)
    with pytest.raises(create_training_job.SageMakerError) as raised:
        create_training_job.handler({"request": req}, None, client)
    assert type(raised.value).__name__ == name  # the Lambda runtime's errorType
    assert type(raised.value) is create_training_job.error_class(code)  # one class per name


def test_connection_failures_are_sdk_client_errors(req):
    class Offline:
        def create_training_job(self, **_):
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com")

    with pytest.raises(create_training_job.SageMakerError) as raised:
        create_training_job.handler({"request": req}, None, Offline())
    assert type(raised.value).__name__ == "SageMaker.SdkClientException"


@pytest.mark.parametrize(
    "event", [None, [], {}, {"request": "x"}, {"request": {}}, {"request": {"TrainingJobName": 3}}]
)
def test_malformed_events_are_invalid_input(event):
    with pytest.raises(errors.InvalidInput, match="TrainingJobName"):
        create_training_job.handler(event, None, object())


def test_request_the_model_rejects_is_invalid_input():
    client = boto3.client("sagemaker", region_name=wd.REGION)  # botocore validates before sending
    with pytest.raises(errors.InvalidInput, match="request is invalid"):
        create_training_job.handler({"request": {"TrainingJobName": "j", "Bogus": 1}}, None, client)
