"""The CodePipeline Report action: output variables from the execution, failures reported, never a crash."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from cdk_sagemaker_finetuning.runtime.pipeline_report import handler

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:Workflow:pipeline-1"


def job_event(params: object = None) -> dict:
    user = json.dumps({"executionArn": EXECUTION}) if params is None else params
    return {
        "CodePipeline.job": {
            "id": "job-1",
            "data": {"actionConfiguration": {"configuration": {"UserParameters": user}}},
        }
    }


@pytest.fixture
def clients():
    pipeline = boto3.client("codepipeline", region_name="us-east-1")
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(pipeline) as p, Stubber(sfn) as s:
        yield {"codepipeline": pipeline, "stepfunctions": sfn}, p, s
        p.assert_no_pending_responses()
        s.assert_no_pending_responses()


def describe(status: str, **extra) -> dict:
    return {
        "executionArn": EXECUTION,
        "stateMachineArn": EXECUTION.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0],
        "status": status,
        "startDate": "2026-11-22T00:00:00Z",
        **extra,
    }


def test_success_publishes_model_package_as_output_variables(clients):
    stubs, pipeline, sfn = clients
    output = {
        "status": "Completed",
        "outputModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3",
        "trainingJobName": "demo-pipeline-1",
        "billableTokenCount": 1200,
    }
    sfn.add_response(
        "describe_execution", describe("SUCCEEDED", output=json.dumps(output)), {"executionArn": EXECUTION}
    )
    variables = {
        "status": "Completed",
        "modelPackageArn": output["outputModelPackageArn"],
        "trainingJobName": "demo-pipeline-1",
        "billableTokenCount": "1200",
    }
    pipeline.add_response("put_job_success_result", {}, {"jobId": "job-1", "outputVariables": variables})
    assert handler(job_event(), clients=stubs) == {"jobId": "job-1", "outputVariables": variables}


def test_skipped_run_is_reported_as_skipped(clients):
    stubs, pipeline, sfn = clients
    sfn.add_response(
        "describe_execution",
        describe("SUCCEEDED", output=json.dumps({"skipped": True})),
        {"executionArn": EXECUTION},
    )
    pipeline.add_response(
        "put_job_success_result",
        {},
        {
            "jobId": "job-1",
            "outputVariables": {
                "status": "Skipped",
                "modelPackageArn": "",
                "trainingJobName": "",
                "billableTokenCount": "",
            },
        },
    )
    assert handler(job_event(), clients=stubs)["outputVariables"]["status"] == "Skipped"


def test_failed_execution_fails_the_action_with_the_cause(clients):
    stubs, pipeline, sfn = clients
    sfn.add_response(
        "describe_execution",
        describe("FAILED", error="TrainingJobFailed", cause="ClientError: bad data"),
        {"executionArn": EXECUTION},
    )
    pipeline.add_response(
        "put_job_failure_result",
        {},
        {
            "jobId": "job-1",
            "failureDetails": {
                "type": "JobFailed",
                "message": "training workflow FAILED: ClientError: bad data",
            },
        },
    )
    assert handler(job_event(), clients=stubs)["error"] == "ReportFailed"


def test_describe_error_fails_the_action(clients):
    stubs, pipeline, sfn = clients
    sfn.add_client_error(
        "describe_execution", "ExecutionDoesNotExist", "nope", expected_params={"executionArn": EXECUTION}
    )
    pipeline.add_response(
        "put_job_failure_result",
        {},
        {
            "jobId": "job-1",
            "failureDetails": {
                "type": "JobFailed",
                "message": f"cannot describe execution {EXECUTION}: An error occurred (ExecutionDoesNotExist) "
                "when calling the DescribeExecution operation: nope",
            },
        },
    )
    assert handler(job_event(), clients=stubs)["error"] == "ReportFailed"


def test_bad_user_parameters_fail_the_action(clients):
    stubs, pipeline, _ = clients
    pipeline.add_response(
        "put_job_failure_result",
        {},
        {
            "jobId": "job-1",
            "failureDetails": {
                "type": "JobFailed",
                "message": "user parameters must be JSON with executionArn: 'executionArn'",
            },
        },
    )
    assert handler(job_event(json.dumps({})), clients=stubs)["error"] == "ReportFailed"


@pytest.mark.parametrize("event", [None, [], {}, {"CodePipeline.job": "x"}, {"CodePipeline.job": {}}])
def test_malformed_events_get_a_structured_error(event):
    assert (
        handler(event, clients={"codepipeline": object(), "stepfunctions": object()})["error"]
        == "InvalidEvent"
    )
