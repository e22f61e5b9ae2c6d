"""The training workflow with an evaluation step, run on moto's ASL interpreter with the real Lambda code:
the gate's paths (passes -> Approved, fails -> on_fail, first round against the base model, no gate), a failed
evaluation job, an abort during evaluation (the stopper stops the evaluation job), the history-event budget."""

from __future__ import annotations

import json
from functools import cache

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk.assertions import Template
from moto import mock_aws

from cdk_sagemaker_finetuning.constructs import evaluation_function
from cdk_sagemaker_finetuning.runtime import evaluation_step, preflight, retry, stop_orphaned_job
from tests import workflow_data as wd
from tests.constructs import sfn_harness as h
from tests.constructs import test_training_workflow as tw
from tests.constructs.evaluation_harness import (
    APPROVED,
    BASE_JOB,
    EVAL_JOB,
    GATE,
    PACKAGE,
    EvalSageMaker,
    evaluation_config,
)
from tests.constructs.helpers import rule_target_input
from tests.runtime import evaluation_aws as ea


@cache
def definition(poll: int = 0) -> tuple[str, dict]:
    """The resolved ASL and template of a workflow with an evaluation block (synthesized once per poll).

    A 1 s poll fits the history limit only with short jobs: 10 min of training, 1 s per evaluation job."""
    with pytest.MonkeyPatch.context() as patch:
        if poll:
            patch.setattr(evaluation_function, "JOB_SECONDS", 1)
        _, stack, _ = tw.build_stack(
            config=evaluation_config(maxRuntimeSeconds=600) if poll else evaluation_config(),
            poll_interval=cdk.Duration.seconds(poll),
            retry_interval=cdk.Duration.seconds(1),
            timeout_margin=cdk.Duration.seconds(60 if poll else 7200),
        )
    template = Template.from_stack(stack).to_json()
    machine = next(
        r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"
    )
    return h.resolve(machine["Properties"]["DefinitionString"], {}), template


@cache
def clients() -> preflight.Clients:
    """The evaluation step's clients, created in the test's thread (botocore sessions are not safe to create from
    the interpreter's thread meanwhile) and once: moto intercepts a client's calls when it sends them, so a client
    made under one test's mock_aws serves the next one's (~0.1 CPU-s a test)."""
    return preflight.Clients(region=wd.REGION, sts=boto3.client("sts", region_name=wd.REGION))


class Lambdas:
    """The preflight (fixture request) and the evaluation step's real handler with ``config`` baked in."""

    def __init__(self, monkeypatch, config: dict) -> None:
        monkeypatch.setenv("WORKFLOW_CONFIG", json.dumps(config))
        monkeypatch.setattr(retry, "_sleep", lambda seconds: None)
        self.training = tw.Lambda(config=config)
        self.clients = clients()

    def __call__(self, event: dict):
        if event.get("action") in ("start", "poll", "gate", "stop"):
            return evaluation_step.handler(event, None, self.clients)
        return self.training(event)


@pytest.fixture
def aws():
    with mock_aws(config=tw.MOTO_CONFIG):
        s3 = boto3.client("s3", region_name=wd.REGION)
        for bucket in ("demo-output", wd.RECIPE_BUCKET):
            s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=wd.RECIPE_BUCKET, Key=ea.EVAL_SPEC_KEY, Body=json.dumps(ea.EVAL_SPEC).encode())
        yield


def run(monkeypatch, sagemaker, config, *, poll=0, stop_after=None, machine="training"):
    asl, _ = definition(poll)
    events = h.patch_aws(monkeypatch, sagemaker, Lambdas(monkeypatch, config))
    sfn = boto3.client("stepfunctions", region_name=wd.REGION)
    arn = sfn.create_state_machine(
        name=machine, definition=asl, roleArn=f"arn:aws:iam::{wd.ACCOUNT}:role/sfn"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="run-1", input="{}")["executionArn"]
    if stop_after:
        h.wait_for(sfn, execution, until=lambda: stop_after(sagemaker))
        sfn.stop_execution(executionArn=execution, error="Aborted", cause="operator")
    return h.wait_for(sfn, execution), events, arn


# -- the gate's paths --------------------------------------------------------------------------------------


def test_gate_passes_against_the_approved_package_and_approves(aws, monkeypatch):
    sagemaker = EvalSageMaker(scores=0.61, approved={"eval:mmlu/accuracy": "0.55"})
    result, events, _ = run(monkeypatch, sagemaker, evaluation_config())
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["outputModelPackageArn"] == PACKAGE and output["status"] == "Completed"
    evaluation = output["evaluation"]
    assert evaluation["decision"] == evaluation["approvalStatus"] == "Approved"
    assert evaluation["gate"]["passed"] is True
    assert evaluation["reference"] == {"model": "approved", "modelPackageArn": APPROVED}
    assert evaluation["scores"]["mmlu/accuracy"] == pytest.approx(
        {"candidate": 0.61, "reference": 0.55, "delta": 0.06}
    )
    assert evaluation["resultsFiles"]["mmlu"].endswith(f"/{EVAL_JOB}/output/output/mmlu/results_2026.json")
    # held pending while evaluating, then approved by the gate, with the scores recorded on the package
    assert sagemaker.statuses_set() == ["PendingManualApproval", "Approved"]
    package = sagemaker.packages[PACKAGE]
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["CustomerMetadataProperties"]["eval:mmlu/accuracy"] == "0.61"
    # the job the step started is exactly the one plan --evaluation prints for this package and execution
    [planned] = ea.planned(evaluation_config())
    expected = json.loads(json.dumps(planned["request"]).replace(ea.EXECUTION, "run-1"))
    assert sagemaker.jobs[EVAL_JOB] == expected
    assert [e["action"] for e in events if "action" in e and e["action"] != "result"][:2] == ["start", "poll"]


@pytest.mark.parametrize("on_fail", ["PendingManualApproval", "Rejected"])
def test_gate_fails_below_the_reference_and_sets_on_fail(aws, monkeypatch, on_fail):
    config = evaluation_config({**GATE, "onFail": on_fail, "minDelta": 0.1})
    sagemaker = EvalSageMaker(scores=0.61, approved={"eval:mmlu/accuracy": "0.55"})
    result, _, _ = run(monkeypatch, sagemaker, config)
    assert result["status"] == "SUCCEEDED", result
    evaluation = json.loads(result["output"])["evaluation"]
    assert (evaluation["decision"], evaluation["gate"]["passed"]) == (on_fail, False)
    assert sagemaker.packages[PACKAGE]["ModelApprovalStatus"] == on_fail
    assert sagemaker.statuses_set() == ["PendingManualApproval", on_fail]


def test_first_round_evaluates_the_base_model_and_compares_with_it(aws, monkeypatch):
    sagemaker = EvalSageMaker(scores=0.61, base=0.4)  # no Approved package yet
    result, events, _ = run(monkeypatch, sagemaker, evaluation_config())
    assert result["status"] == "SUCCEEDED", result
    evaluation = json.loads(result["output"])["evaluation"]
    assert evaluation["reference"] == {"model": "base", "baseModelArn": ea.BASE_ARN}
    assert evaluation["decision"] == "Approved"
    assert evaluation["scores"]["mmlu/accuracy"] == pytest.approx(
        {"candidate": 0.61, "reference": 0.4, "delta": 0.21}
    )
    assert sagemaker.created() == ["demo-run-1", EVAL_JOB, BASE_JOB]
    assert "ModelPackageConfig" not in sagemaker.jobs[BASE_JOB]  # the hub model itself
    assert sagemaker.jobs[BASE_JOB]["ServerlessJobConfig"]["BaseModelArn"] == ea.BASE_ARN
    actions = [e.get("model", e["action"]) for e in events if e.get("action") in ("start", "gate")]
    assert actions == ["start", "gate", "base", "gate"]
    recorded = sagemaker.packages[PACKAGE]["CustomerMetadataProperties"]
    assert (recorded["eval-base:mmlu/accuracy"], recorded["eval-base:model"]) == ("0.4", ea.BASE_ARN)


def test_base_results_without_the_gate_metric_fail_instead_of_looping(aws, monkeypatch):
    sagemaker = EvalSageMaker(scores=0.61, base=None)  # the base model's results lack mmlu/accuracy
    result, _, _ = run(monkeypatch, sagemaker, evaluation_config())
    assert (result["status"], result["error"]) == ("FAILED", "EvaluationError.GateMetricMissing")
    assert "base model's results have no mmlu/accuracy" in result["cause"]
    assert sagemaker.created() == ["demo-run-1", EVAL_JOB, BASE_JOB]  # evaluated once, not in a loop
    assert sagemaker.packages[PACKAGE]["ModelApprovalStatus"] == "PendingManualApproval"


def test_without_a_gate_scores_are_recorded_and_the_configured_status_applies(aws, monkeypatch):
    sagemaker = EvalSageMaker(scores=0.61)
    result, _, _ = run(monkeypatch, sagemaker, evaluation_config(None, approvalStatus="Approved"))
    assert result["status"] == "SUCCEEDED", result
    evaluation = json.loads(result["output"])["evaluation"]
    assert (evaluation["decision"], evaluation["gate"], evaluation["reference"]) == ("Approved", None, None)
    assert evaluation["scores"]["mmlu/accuracy"] == {"candidate": 0.61, "reference": None, "delta": None}
    assert sagemaker.statuses_set() == ["PendingManualApproval", "Approved"]
    assert sagemaker.packages[PACKAGE]["CustomerMetadataProperties"]["eval:mmlu/accuracy"] == "0.61"
    assert sagemaker.created() == ["demo-run-1", EVAL_JOB]  # no base model round without a gate


# -- failures ----------------------------------------------------------------------------------------------


def test_a_failed_evaluation_job_fails_the_run_with_its_reason_and_leaves_the_package_pending(
    aws, monkeypatch
):
    reason = "ClientError: the evaluation dataset has no query field"
    sagemaker = EvalSageMaker(scores=0.61, eval_statuses=("InProgress", "Failed"), reason=reason)
    result, events, _ = run(monkeypatch, sagemaker, evaluation_config())
    assert (result["status"], result["error"]) == ("FAILED", "EvaluationError.EvaluationJobFailed")
    assert EVAL_JOB in result["cause"] and reason in result["cause"]
    assert sagemaker.statuses_set() == ["PendingManualApproval"]
    assert sagemaker.packages[PACKAGE]["ModelApprovalStatus"] == "PendingManualApproval"
    assert events[-1] == {"action": "stop", "executionName": "run-1"}  # the catch stops what still runs
    assert sagemaker.count("StopTrainingJob") == 0  # the failed job is not running


def test_an_error_during_evaluation_stops_the_running_evaluation_jobs(aws, monkeypatch):
    sagemaker = EvalSageMaker(scores=0.61, eval_statuses=("InProgress",))
    original = sagemaker.DescribeTrainingJob
    polls = []

    def describe(params):  # the second poll hits an error the Lambda cannot retry away
        if params["TrainingJobName"] == EVAL_JOB:
            polls.append(1)
            if len(polls) == 2:
                raise h.client_error("AccessDeniedException", "not authorized")
        return original(params)

    sagemaker.DescribeTrainingJob = describe
    result, _, _ = run(monkeypatch, sagemaker, evaluation_config())
    assert (result["status"], result["error"]) == ("FAILED", "EvaluationError.AwsError")
    assert [p for op, p in sagemaker.calls if op == "StopTrainingJob"] == [{"TrainingJobName": EVAL_JOB}]


def test_aborted_during_evaluation_the_stopper_stops_the_evaluation_job(aws, monkeypatch):
    sagemaker = EvalSageMaker(scores=0.61, eval_statuses=("InProgress",))
    result, _, machine_arn = run(
        monkeypatch,
        sagemaker,
        evaluation_config(),
        poll=1,  # the abort lands in a Wait, as most of a real run's time is spent
        stop_after=lambda sm: sum(1 for op, p in sm.calls if p.get("TrainingJobName") == EVAL_JOB) >= 2,
    )
    assert result["status"] == "ABORTED"
    assert sagemaker.count("StopTrainingJob") == 0  # an aborted execution runs no Catch
    _, template = definition(0)
    rule = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Events::Rule")
    [machine] = [
        k for k, r in template["Resources"].items() if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    event = {
        "detail": {
            "executionArn": result["executionArn"],
            "stateMachineArn": machine_arn,
            "name": "run-1",
            "status": "ABORTED",
        }
    }
    delivered = rule_target_input(rule, event, {machine: machine_arn})
    assert delivered["workflows"] == [[machine_arn, "demo", ["mmlu"]]]
    outcome = stop_orphaned_job.handler(delivered, None, boto3.client("sagemaker", region_name=wd.REGION))
    assert outcome == {
        "trainingJobName": "demo-run-1",
        "action": "none",
        "status": "Completed",
        "evaluationJobs": [
            {"trainingJobName": EVAL_JOB, "action": "stopped", "status": "InProgress"},
            {"trainingJobName": BASE_JOB, "action": "none", "status": "NotFound"},
        ],
    }
    assert [p for op, p in sagemaker.calls if op == "StopTrainingJob"] == [{"TrainingJobName": EVAL_JOB}]


def _history_events(execution_arn: str) -> int:
    sfn = boto3.client("stepfunctions", region_name=wd.REGION)
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    return sum(len(page["events"]) for page in pages)


def test_an_evaluation_poll_writes_nine_history_events(aws, monkeypatch):
    """The budget behind the poll interval: 9 events per poll, under 100 for the rest of an evaluated run."""
    counts = []
    for polls in (1, 4):
        statuses = ("InProgress",) * polls + ("Completed",)
        sagemaker = EvalSageMaker(
            scores=0.61, approved={"eval:mmlu/accuracy": "0.55"}, eval_statuses=statuses
        )
        with monkeypatch.context() as patched:  # the harness patches moto once per run
            result, _, _ = run(patched, sagemaker, evaluation_config(), machine=f"training-{polls}")
        assert result["status"] == "SUCCEEDED", result
        counts.append(_history_events(result["executionArn"]))
    assert counts[1] - counts[0] == 3 * 9
    assert counts[0] - 4 * 9 < 100  # 2 training and 2 evaluation polls, the rest of the run under 100 events
