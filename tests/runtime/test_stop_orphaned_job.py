"""The orphaned-job stopper: derives the job name from the execution and stops only running jobs."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from cdk_sagemaker_finetuning.runtime import errors, stop_orphaned_job

EVENT = {
    "source": "aws.states",
    "detail-type": "Step Functions Execution Status Change",
    "detail": {
        "name": "run_7",
        "status": "ABORTED",
        "executionArn": "arn:aws:states:us-east-1:1:execution:sm:run_7",
    },
}


@pytest.fixture
def stub(monkeypatch):
    monkeypatch.setenv("JOB_NAME_PREFIX", "demo")
    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _describe(stubber, status):
    stubber.add_response(
        "describe_training_job",
        {
            "TrainingJobName": "demo-run-7",
            "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/demo-run-7",
            "TrainingJobStatus": status,
            "SecondaryStatus": "Training",
            "ModelArtifacts": {"S3ModelArtifacts": "s3://x"},
            "AlgorithmSpecification": {"TrainingInputMode": "File"},
            "ResourceConfig": {"VolumeSizeInGB": 1},
            "StoppingCondition": {},
            "CreationTime": "2026-01-01T00:00:00Z",
        },
        {"TrainingJobName": "demo-run-7"},
    )


def test_running_job_is_stopped(stub):
    client, stubber = stub
    _describe(stubber, "InProgress")
    stubber.add_response("stop_training_job", {}, {"TrainingJobName": "demo-run-7"})
    result = stop_orphaned_job.handler(EVENT, None, client)
    assert result == {"trainingJobName": "demo-run-7", "action": "stopped", "status": "InProgress"}


@pytest.mark.parametrize("status", ["Completed", "Failed", "Stopped", "Stopping"])
def test_finished_job_is_left_alone(stub, status):
    client, stubber = stub
    _describe(stubber, status)
    assert stop_orphaned_job.handler(EVENT, None, client)["action"] == "none"


def test_missing_job_is_tolerated(stub):
    client, stubber = stub
    stubber.add_client_error("describe_training_job", "ValidationException", "Requested resource not found.")
    assert stop_orphaned_job.handler(EVENT, None, client)["status"] == "NotFound"


def test_job_finishing_meanwhile_is_tolerated(stub):
    client, stubber = stub
    _describe(stubber, "InProgress")
    stubber.add_client_error("stop_training_job", "ValidationException", "The job status is Completed")
    assert stop_orphaned_job.handler(EVENT, None, client)["status"] == "NotStoppable"


def test_malformed_event_is_named(stub):
    client, _ = stub
    with pytest.raises(errors.InvalidInput):
        stop_orphaned_job.handler({"detail": "nope"}, None, client)
