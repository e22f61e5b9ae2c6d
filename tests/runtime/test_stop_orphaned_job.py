"""The orphaned-job stopper: derives the job name from the execution and stops only running jobs; AWS faults
(throttling, access denied, server errors) via Stubber are retried a bounded number of times, then raised."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_sagemaker_finetuning.runtime import errors, retry, stop_orphaned_job
from tests import stub_pool

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:sm"
EVENT = {  # what the stopper's rule target sends: the event's detail and the rule's workflows
    "detail": {
        "name": "run_7",
        "status": "ABORTED",
        "stateMachineArn": MACHINE,
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:sm:run_7",
    },
    "workflows": [["arn:aws:states:us-east-1:123456789012:stateMachine:other", "other"], [MACHINE, "demo"]],
}


@pytest.fixture
def stub(monkeypatch):
    with stub_pool.lent("sagemaker", region="us-east-1") as (stubber,):
        yield stubber.client, stubber
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


@pytest.mark.parametrize(
    "workflows", [None, "nope", [], [["arn:aws:states:us-east-1:1:stateMachine:x", "x"]]]
)
def test_execution_of_a_state_machine_not_served_is_refused(stub, workflows):
    client, _ = stub  # no SageMaker call: another project's job is never derived or touched
    with pytest.raises(errors.InvalidInput, match="not one of the workflows this stopper serves"):
        stop_orphaned_job.handler({**EVENT, "workflows": workflows}, None, client)


# -- AWS faults: bounded retries of throttling, everything else raised for Lambda's retries and the DLQ --------

FAULTS = [("ThrottlingException", 400), ("ServiceUnavailable", 503), ("AccessDeniedException", 400)]


@pytest.fixture
def no_sleep(monkeypatch):
    delays: list[float] = []
    monkeypatch.setattr(retry, "_sleep", delays.append)
    return delays


def test_throttled_stop_is_retried_then_succeeds(stub, no_sleep):
    client, stubber = stub
    _describe(stubber, "InProgress")
    for _ in range(2):
        stubber.add_client_error("stop_training_job", "ThrottlingException", "Rate exceeded", 400)
    stubber.add_response("stop_training_job", {}, {"TrainingJobName": "demo-run-7"})
    assert stop_orphaned_job.handler(EVENT, None, client)["action"] == "stopped"
    assert len(no_sleep) == 2


def test_stop_throttled_past_the_retries_raises_for_lambda_to_retry(stub, no_sleep):
    client, stubber = stub
    _describe(stubber, "InProgress")
    for _ in range(retry.ATTEMPTS):
        stubber.add_client_error("stop_training_job", "ThrottlingException", "Rate exceeded", 400)
    with pytest.raises(ClientError, match="ThrottlingException"):
        stop_orphaned_job.handler(EVENT, None, client)
    assert len(no_sleep) == retry.ATTEMPTS - 1 and max(no_sleep) <= retry.MAX_DELAY


def test_access_denied_is_raised_at_once(stub, no_sleep):
    client, stubber = stub
    stubber.add_client_error("describe_training_job", "AccessDeniedException", "not authorized", 400)
    with pytest.raises(ClientError, match="AccessDeniedException"):
        stop_orphaned_job.handler(EVENT, None, client)
    assert no_sleep == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    describe_faults=st.lists(st.sampled_from(FAULTS), max_size=6),
    stop_faults=st.lists(st.sampled_from(FAULTS), max_size=6),
    status=st.sampled_from(["InProgress", "Completed", "Failed", "Stopping", "Stopped"]),
)
def test_fuzzed_faults_end_in_a_result_or_a_client_error(monkeypatch, describe_faults, stop_faults, status):
    monkeypatch.setattr(retry, "_sleep", lambda _: None)
    calls = []
    with stub_pool.lent("sagemaker", region="us-east-1") as (stubber,):
        client = stubber.client
        for code, http in describe_faults[: retry.ATTEMPTS]:
            stubber.add_client_error("describe_training_job", code, "injected", http)
            calls.append("describe")
        described = len(describe_faults) < retry.ATTEMPTS and all(
            c[0] != "AccessDeniedException" for c in describe_faults
        )
        try:
            if described:
                _describe(stubber, status)
                if status == "InProgress":
                    for code, http in stop_faults[: retry.ATTEMPTS]:
                        stubber.add_client_error("stop_training_job", code, "injected", http)
                    stubber.add_response("stop_training_job", {}, {"TrainingJobName": "demo-run-7"})
            result = stop_orphaned_job.handler(EVENT, None, client)
        except ClientError as exc:  # Lambda retries the event, then the dead-letter queue has it
            assert exc.response["Error"]["Code"] in {c for c, _ in FAULTS}
            return
    assert result["trainingJobName"] == "demo-run-7"
    assert result["action"] == ("stopped" if status == "InProgress" else "none")


# -- a workflow with an evaluation step: its evaluation jobs are stopped too ---------------------------------


def _describe_named(stubber, name, status=None):
    params = {"TrainingJobName": name}
    if status is None:
        stubber.add_client_error(
            "describe_training_job", "ValidationException", "Requested resource not found."
        )
        return
    stubber.add_response(
        "describe_training_job",
        {
            "TrainingJobName": name,
            "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
            "TrainingJobStatus": status,
            "SecondaryStatus": "Training",
            "ModelArtifacts": {"S3ModelArtifacts": "s3://x"},
            "StoppingCondition": {},
            "CreationTime": "2026-01-01T00:00:00Z",
        },
        params,
    )


def test_evaluation_jobs_of_the_execution_are_stopped_too(stub):
    client, stubber = stub
    event = {**EVENT, "workflows": [[MACHINE, "demo", ["mmlu", "judge-inference", "judge"]]]}
    _describe(stubber, "Completed")  # the training job finished; its evaluation runs
    names = [
        "demo-run-7-eval-mmlu",
        "demo-run-7-eval-judge-inference",
        "demo-run-7-eval-judge",
        "demo-run-7-eval-base-mmlu",
        "demo-run-7-eval-base-judge-inference",
        "demo-run-7-eval-base-judge",
    ]
    statuses = ["InProgress", "Completed", "InProgress", None, None, None]
    for name, status in zip(names, statuses, strict=True):
        _describe_named(stubber, name, status)
        if status == "InProgress":
            stubber.add_response("stop_training_job", {}, {"TrainingJobName": name})
    result = stop_orphaned_job.handler(event, None, client)
    assert result["trainingJobName"] == "demo-run-7" and result["action"] == "none"
    assert [(j["trainingJobName"], j["action"], j["status"]) for j in result["evaluationJobs"]] == [
        ("demo-run-7-eval-mmlu", "stopped", "InProgress"),
        ("demo-run-7-eval-judge-inference", "none", "Completed"),
        ("demo-run-7-eval-judge", "stopped", "InProgress"),
        ("demo-run-7-eval-base-mmlu", "none", "NotFound"),
        ("demo-run-7-eval-base-judge-inference", "none", "NotFound"),
        ("demo-run-7-eval-base-judge", "none", "NotFound"),
    ]


def test_a_malformed_evaluation_entry_is_not_served(stub):
    client, _ = stub
    with pytest.raises(errors.InvalidInput, match="not one of the workflows"):
        stop_orphaned_job.handler({**EVENT, "workflows": [[MACHINE, "demo", "mmlu"]]}, None, client)
