"""The CodePipeline Report action: output variables from the execution, failures reported, never a crash.

AWS faults (throttling, access denied, rejected answers, malformed execution output) are injected with
botocore's Stubber, so every request is checked against the service model.
"""

from __future__ import annotations

import json

import pytest
from botocore.stub import ANY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_sagemaker_finetuning.runtime import retry
from cdk_sagemaker_finetuning.runtime.pipeline_report import handler
from tests import stub_pool

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:Workflow:pipeline-1"


def job_event(params: object = None) -> dict:
    user = json.dumps({"executionArn": EXECUTION}) if params is None else params
    return {
        "CodePipeline.job": {
            "id": "job-1",
            "data": {"actionConfiguration": {"configuration": {"UserParameters": user}}},
        }
    }


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    delays: list[float] = []
    monkeypatch.setattr(retry, "_sleep", delays.append)
    return delays


@pytest.fixture
def clients():
    with stub_pool.lent("codepipeline", "stepfunctions", region="us-east-1") as (p, s):
        yield {"codepipeline": p.client, "stepfunctions": s.client}, p, s
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
                "message": "user parameters must be a JSON object with an executionArn string",
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


def failure(message: str) -> dict:
    return {"jobId": "job-1", "failureDetails": {"type": "JobFailed", "message": message}}


SUCCESS_VARIABLES = {
    "status": "Completed",
    "modelPackageArn": "",
    "trainingJobName": "",
    "billableTokenCount": "",
}


def test_throttled_calls_are_retried_with_bounded_backoff(clients, no_sleep):
    stubs, pipeline, sfn = clients
    for _ in range(2):
        sfn.add_client_error("describe_execution", "ThrottlingException", "Rate exceeded", 400)
    sfn.add_response("describe_execution", describe("SUCCEEDED", output="{}"), {"executionArn": EXECUTION})
    pipeline.add_client_error("put_job_success_result", "ThrottlingException", "Rate exceeded", 400)
    pipeline.add_response(
        "put_job_success_result", {}, {"jobId": "job-1", "outputVariables": SUCCESS_VARIABLES}
    )
    assert handler(job_event(), clients=stubs)["outputVariables"] == SUCCESS_VARIABLES
    assert len(no_sleep) == 3 and all(0 <= d <= retry.MAX_DELAY for d in no_sleep)


def test_access_denied_is_not_retried_and_fails_the_action(clients, no_sleep):
    stubs, pipeline, sfn = clients
    sfn.add_client_error("describe_execution", "AccessDeniedException", "not authorized", 400)
    pipeline.add_response(
        "put_job_failure_result",
        {},
        failure(
            f"cannot describe execution {EXECUTION}: An error occurred (AccessDeniedException) when calling "
            "the DescribeExecution operation: not authorized"
        ),
    )
    assert handler(job_event(), clients=stubs)["error"] == "ReportFailed"
    assert no_sleep == []


def test_describe_throttled_past_the_retries_fails_the_action(clients):
    stubs, pipeline, sfn = clients
    for _ in range(retry.ATTEMPTS):
        sfn.add_client_error("describe_execution", "ThrottlingException", "Rate exceeded", 400)
    pipeline.add_response(
        "put_job_failure_result",
        {},
        failure(
            f"cannot describe execution {EXECUTION}: An error occurred (ThrottlingException) when calling "
            "the DescribeExecution operation: Rate exceeded"
        ),
    )
    assert handler(job_event(), clients=stubs)["error"] == "ReportFailed"


def test_rejected_success_result_becomes_a_failure_result(clients):
    stubs, pipeline, sfn = clients
    sfn.add_response("describe_execution", describe("SUCCEEDED", output="{}"), {"executionArn": EXECUTION})
    pipeline.add_client_error("put_job_success_result", "ValidationException", "bad variables", 400)
    pipeline.add_response(
        "put_job_failure_result",
        {},
        failure(
            "cannot publish the output variables: An error occurred (ValidationException) when calling the "
            "PutJobSuccessResult operation: bad variables"
        ),
    )
    assert handler(job_event(), clients=stubs)["error"] == "ReportFailed"


def test_unanswerable_pipeline_raises_so_lambda_retries_the_event(clients):
    stubs, pipeline, _ = clients
    for _ in range(retry.ATTEMPTS):
        pipeline.add_client_error("put_job_failure_result", "ServiceUnavailableException", "down", 503)
    with pytest.raises(Exception, match="ServiceUnavailableException"):
        handler(job_event("not json"), clients=stubs)


@pytest.mark.parametrize(
    "output", ["not json", "[1, 2]", "[" * 100_000 + "]" * 100_000, json.dumps({"status": {"x": [1] * 3}})]
)
def test_malformed_execution_output_still_succeeds_the_action(clients, output):
    stubs, pipeline, sfn = clients
    sfn.add_response("describe_execution", describe("SUCCEEDED", output=output), {"executionArn": EXECUTION})
    pipeline.add_response("put_job_success_result", {}, {"jobId": "job-1", "outputVariables": ANY})
    assert handler(job_event(), clients=stubs)["outputVariables"]["modelPackageArn"] == ""


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ("[" * 50_000 + "]" * 50_000, "at most 1000"),
        ("[" * 400 + "]" * 400, "nests deeper than 20 levels"),
        ('{"executionArn": ' * 30 + "1" + "}" * 30, "nests deeper"),
        ('{"executionArn": 7}', "executionArn string"),
        ("[1]", "executionArn string"),
        ("{", "not JSON"),
        (None, "must be a JSON string, got NoneType"),
    ],
)
def test_user_parameters_are_parsed_with_bounds(clients, params, words):
    stubs, pipeline, _ = clients
    event = job_event(params if params is not None else json.dumps({}))
    if params is None:
        event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] = None
    pipeline.add_response("put_job_failure_result", {}, {"jobId": "job-1", "failureDetails": ANY})
    answer = handler(event, clients=stubs)
    assert answer["error"] == "ReportFailed" and words in answer["message"], answer


# -- fuzzing: every AWS fault sequence ends in exactly one answer, or a raise when CodePipeline is unreachable --

FAULTS = [None, ("ThrottlingException", 400), ("InternalFailure", 500), ("AccessDeniedException", 400)]
user_parameters = st.one_of(
    st.just(json.dumps({"executionArn": EXECUTION})),
    st.text(max_size=40),
    st.integers(0, 3000).map(lambda n: "[" * n + "]" * n),
    st.recursive(st.none() | st.integers() | st.text(max_size=5), lambda c: st.lists(c, max_size=3)).map(
        json.dumps
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=user_parameters,
    describe_faults=st.lists(st.sampled_from(FAULTS), max_size=6),
    put_faults=st.lists(st.sampled_from(FAULTS), max_size=12),
    status=st.sampled_from(["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"]),
    output=st.text(max_size=30) | st.just(json.dumps({"status": "Completed", "trainingJobName": "j"})),
)
def test_fuzzed_faults_always_answer_or_raise_for_retry(params, describe_faults, put_faults, status, output):
    with stub_pool.lent("codepipeline", "stepfunctions", region="us-east-1") as (pipeline, sfn):
        stubs = {"codepipeline": pipeline.client, "stepfunctions": sfn.client}
        describe_faults = [f for f in describe_faults if f] + [None]  # the scripted answers, in order
        put_faults = [f for f in put_faults if f]
        for fault in describe_faults:
            if fault:
                sfn.add_client_error("describe_execution", fault[0], "scripted", fault[1])
            else:
                sfn.add_response("describe_execution", describe(status, output=output))
        answers: list[tuple[str, tuple | None]] = []

        def answering(name: str):
            real = getattr(stubs["codepipeline"], name)

            def call(**kwargs):
                fault = put_faults.pop(0) if put_faults else None
                answers.append((name, fault))
                if fault:
                    pipeline.add_client_error(name, fault[0], "scripted", fault[1])
                else:
                    pipeline.add_response(name, {})
                return real(**kwargs)

            return call

        for name in ("put_job_success_result", "put_job_failure_result"):
            setattr(stubs["codepipeline"], name, answering(name))
        try:
            result = handler(job_event(params), clients=stubs)
        except Exception:
            result = None
        finally:  # the pooled client gets its own methods back
            for name in ("put_job_success_result", "put_job_failure_result"):
                delattr(stubs["codepipeline"], name)
    successes = [name for name, fault in answers if fault is None]
    if result is None:  # raised: only when the last answer attempt failed and a retry can help
        assert successes == [] and answers and answers[-1][1] is not None
    else:
        assert len(successes) == 1, answers
        assert ("outputVariables" in result) == (successes[0] == "put_job_success_result")
        assert len(answers) <= 2 * retry.ATTEMPTS
