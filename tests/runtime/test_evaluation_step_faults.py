"""The evaluation step under injected AWS faults, malformed answers and malformed events (hypothesis).

The contract: the step's answer, or a named error (``PreflightError.<Kind>``, ``EvaluationError.<Kind>`` or,
from CreateTrainingJob, ``SageMaker.<Code>Exception``), never a bare exception that would crash the Lambda."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_sagemaker_finetuning.runtime import create_training_job, errors, retry
from cdk_sagemaker_finetuning.runtime import evaluation_step as es
from tests.runtime import evaluation_aws as ea
from tests.runtime.test_evaluation_step import MMLU, completed, gate_aws
from tests.runtime.test_handler_faults import FAULTS, document_key, fail, garble, junk, queued

NAMED = (errors.PreflightError, create_training_job.SageMakerError)
RETRIED = ("ThrottlingException", "InternalFailure", "ServiceUnavailable")
#: Calls the step retries itself (``retry.call``); the lookups shared with the preflight raise a named error.
WITH_RETRY = {
    "CreateTrainingJob",
    "DescribeTrainingJob",
    "StopTrainingJob",
    "UpdateModelPackage",
    "ListModelPackages",
}


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(retry, "_sleep", lambda _: None)


def start_scenario() -> tuple[ea.EvalAws, dict, dict]:
    cfg = ea.config(ea.GATE, judge=True)
    aws = ea.EvalAws()
    aws.lookup(cfg)
    aws.data(ea.EVAL_ROWS, bucket="demo-data", key="eval.jsonl")
    for job in ea.planned(cfg):
        if not job["after"]:
            aws.create(job["request"])
    return aws, cfg, {"action": "start", "executionName": ea.EXECUTION, "modelPackageArn": ea.PACKAGE}


def poll_scenario() -> tuple[ea.EvalAws, dict, dict]:
    cfg = ea.config(ea.GATE, judge=True)
    mmlu, inference, metrics = ea.planned(cfg)
    state = {
        "modelPackageArn": ea.PACKAGE,
        "jobs": [
            {**es._entry(mmlu), "status": "InProgress"},
            {**es._entry(inference), "status": "InProgress"},
            es._entry(metrics),
        ],
    }
    aws = ea.EvalAws()
    aws.job(mmlu, "InProgress")
    aws.job(inference)
    aws.create(metrics["request"])
    return aws, cfg, {"action": "poll", "state": state}


def gate_scenario() -> tuple[ea.EvalAws, dict, dict]:
    cfg = ea.config(ea.GATE)
    aws, files = gate_aws(cfg, MMLU)
    aws.approved([ea.APPROVED])
    aws.describe_package(ea.package(ea.APPROVED, "Approved", {"eval:mmlu/accuracy": "0.55"}), ea.APPROVED)
    aws.update(
        CustomerMetadataProperties={
            "eval:mmlu/accuracy": "0.61",
            "eval:mmlu/stderr": "0.01",
            "eval-results:mmlu": files["mmlu"],
        },
        ModelApprovalStatus="Approved",
        ApprovalDescription=f"evaluation gate mmlu/accuracy: 0.61 vs 0.55 ({ea.APPROVED}), delta +0.06 -> Approved",
    )
    return aws, cfg, {"action": "gate", "state": completed(cfg)}


def stop_scenario() -> tuple[ea.EvalAws, dict, dict]:
    cfg = ea.config(ea.GATE)
    aws = ea.EvalAws()
    name = "demo-nightly-3-eval-mmlu"
    summary = {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
        "CreationTime": "2026-01-01T00:00:00Z",
        "TrainingJobStatus": "InProgress",
    }
    aws.sm.add_response(
        "list_training_jobs",
        {"TrainingJobSummaries": [summary]},
        {"NameContains": "demo-", "StatusEquals": "InProgress"},
    )
    aws.sm.add_response("stop_training_job", {}, {"TrainingJobName": name})
    return aws, cfg, {"action": "stop", "executionName": ea.EXECUTION}


SCENARIOS: dict[str, Callable[[], tuple[ea.EvalAws, dict, dict]]] = {
    "start": start_scenario,
    "poll": poll_scenario,
    "gate": gate_scenario,
    "stop": stop_scenario,
}


def outcome(monkeypatch, aws: ea.EvalAws, cfg: dict, event: dict):
    monkeypatch.setenv("WORKFLOW_CONFIG", json.dumps(cfg))
    try:
        return es.handler(event, None, aws.clients)
    except NAMED as exc:
        return exc


def lambda_outcome(cfg: dict, event, aws: ea.EvalAws):
    """The Lambda handler's answer or raised error (hypothesis tests cannot use ``monkeypatch``)."""
    with mock.patch.dict(os.environ, {"WORKFLOW_CONFIG": json.dumps(cfg)}):
        try:
            return es.handler(event, None, aws.clients)
        except NAMED as exc:
            return exc


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_happy_scenarios_answer(monkeypatch, scenario):
    aws, cfg, event = SCENARIOS[scenario]()
    assert isinstance(outcome(monkeypatch, aws, cfg, event), dict)
    aws.done()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("code", list(FAULTS))
def test_a_fault_at_any_call_is_retried_or_a_named_error(monkeypatch, scenario, code):
    aws, cfg, event = SCENARIOS[scenario]()
    expected = outcome(monkeypatch, aws, cfg, event)
    for index in range(len(queued(SCENARIOS[scenario]()[0]))):
        aws, cfg, event = SCENARIOS[scenario]()
        stub, position = queued(aws)[index]
        if code in RETRIED:  # one transient fault before the real answer
            stub._queue.insert(position, dict(stub._queue[position]))
        operation = fail(stub, position, code)
        result = outcome(monkeypatch, aws, cfg, event)
        assert isinstance(result, (dict, *NAMED)), (operation, result)
        if code in RETRIED:  # retried to the same answer, or (a caller that does not retry) a named error
            assert not isinstance(result, dict) or result == expected, operation
            if operation in WITH_RETRY:
                assert result == expected, operation
            continue
        if isinstance(result, errors.PreflightError):
            assert code in result.message or type(result) not in (errors.AwsError, errors.EvaluationAwsError)
        if isinstance(result, dict):  # by design: an unreadable judge allow-list is not checked (as in the
            # SDK); a job that cannot be stopped any more (ValidationException) has finished
            assert (operation == "GetObject" and result["jobs"]) or (
                operation == "StopTrainingJob" and code == "ValidationException" and result["notStoppable"]
            ), operation


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=st.sampled_from(["start", "gate"]), pick=st.integers(0, 20), body=junk)
def test_malformed_documents_give_an_answer_or_a_named_error(scenario, pick, body):
    aws, cfg, event = SCENARIOS[scenario]()
    documents = [(stub, i) for stub, i in queued(aws) if document_key(stub._queue[i])]
    stub, position = documents[pick % len(documents)]
    garble(stub, position, body)
    result = lambda_outcome(cfg, event, aws)
    assert isinstance(result, (dict, *NAMED)), result


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=4),
    max_leaves=12,
)
EVENTS = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"action": st.sampled_from(["start", "poll", "gate", "stop", "other"])},
        optional={
            "state": JSON
            | st.fixed_dictionaries({"modelPackageArn": JSON, "jobs": st.lists(JSON, max_size=3)}),
            "executionName": st.just(ea.EXECUTION) | JSON,
            "modelPackageArn": st.just(ea.PACKAGE) | JSON,
            "model": st.sampled_from(["package", "base"]) | JSON,
            "detail": JSON,
        },
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=EVENTS)
def test_malformed_events_are_named_errors_never_crashes(event):
    aws = ea.EvalAws()  # no answers queued: any AWS call fails inside botocore's stubber
    cfg = ea.config(ea.GATE, judge=True)
    result = lambda_outcome(cfg, event, aws)
    if isinstance(result, NAMED):
        assert type(result).__name__.startswith(("PreflightError", "EvaluationError", "SageMaker."))
        return
    assert isinstance(result, dict)  # e.g. stop with a name but nothing running: a well-formed answer


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    metadata=st.dictionaries(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20), max_size=6)
)
def test_any_recorded_metadata_on_the_reference_is_handled(metadata):
    cfg = ea.config(ea.GATE)
    aws, _ = gate_aws(cfg, MMLU)
    aws.approved([ea.APPROVED])
    aws.describe_package(ea.package(ea.APPROVED, "Approved", metadata), ea.APPROVED)
    aws.sm.add_response("update_model_package", {"ModelPackageArn": ea.PACKAGE})
    result = lambda_outcome(cfg, {"action": "gate", "state": completed(cfg)}, aws)
    assert isinstance(result, (dict, *NAMED)), result
