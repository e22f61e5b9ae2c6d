"""Evaluation step Lambda with botocore Stubber: start (preflight, idempotent), poll (dependents, failures),
stop, and the gate's paths: passes -> Approved, fails -> on_fail, first round against the base model."""

from __future__ import annotations

import json

import pytest

from cdk_sagemaker_finetuning.runtime import create_training_job, errors, retry
from cdk_sagemaker_finetuning.runtime import evaluation_gate as eg
from cdk_sagemaker_finetuning.runtime import evaluation_step as es
from tests import workflow_data as wd
from tests.runtime import evaluation_aws as ea

MMLU = {"results": {"all": {"accuracy": 0.61, "stderr": 0.01}}}


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    delays: list[float] = []
    monkeypatch.setattr(retry, "_sleep", delays.append)
    return delays


def handle(monkeypatch, cfg: dict, event: dict, clients):
    """The Lambda entry point with ``cfg`` baked in as ``WORKFLOW_CONFIG``."""
    monkeypatch.setenv("WORKFLOW_CONFIG", json.dumps(cfg))
    return es.handler(event, None, clients)


def started(cfg: dict, aws: ea.EvalAws | None = None) -> dict:
    """``start`` with every call stubbed: lookup, dataset check, the independent jobs created."""
    aws = aws or ea.EvalAws()
    aws.lookup(cfg)
    if cfg["evaluation"]["judge"]:
        aws.data(ea.EVAL_ROWS, bucket="demo-data", key="eval.jsonl")
    for job in ea.planned(cfg):
        if not job["after"]:
            aws.create(job["request"])
    event = {"action": "start", "executionName": ea.EXECUTION, "modelPackageArn": ea.PACKAGE}
    state = es.run(cfg, event, aws.clients)
    aws.done()
    return state


def completed(cfg: dict, base: bool = False) -> dict:
    """The state once every job (of the package, and of the base model if ``base``) completed."""
    jobs = ea.planned(cfg) + (ea.planned(cfg, base=True) if base else [])
    entries = [{**es._entry(j), "status": "Completed"} for j in jobs]
    for entry in entries:
        entry.pop("request")
    return {"executionName": ea.EXECUTION, "modelPackageArn": ea.PACKAGE, "jobs": entries, "done": True}


# -- start -------------------------------------------------------------------------------------------------


def test_start_preflights_then_starts_every_independent_job_with_exact_requests():
    cfg = ea.config(ea.GATE, judge=True)
    state = started(cfg)
    names = [j["name"] for j in state["jobs"]]
    assert names == [
        "demo-nightly-3-eval-mmlu",
        "demo-nightly-3-eval-judge-inference",
        "demo-nightly-3-eval-judge",
    ]
    assert [j["status"] for j in state["jobs"]] == ["InProgress", "InProgress", "Pending"]
    metrics = state["jobs"][2]
    assert metrics["after"] == "demo-nightly-3-eval-judge-inference"
    assert metrics["request"]["HyperParameters"]["inference_data_s3_path"].startswith(
        "s3://demo-output/out/demo-nightly-3-eval-judge-inference/output/output/"
    )
    assert "request" not in state["jobs"][0] and state["done"] is False
    assert state["datasetCheck"]["objects"] == 1
    assert len(json.dumps(state)) < 256 * 1024 // 20  # far below the Step Functions payload limit


def test_a_retried_start_finds_its_jobs_already_started():
    cfg = ea.config(ea.GATE)
    aws = ea.EvalAws()
    aws.lookup(cfg)
    [job] = ea.planned(cfg)
    aws.create(job["request"], error="ResourceInUse")
    state = es.run(
        cfg, {"action": "start", "executionName": ea.EXECUTION, "modelPackageArn": ea.PACKAGE}, aws.clients
    )
    assert state["jobs"][0]["status"] == "InProgress"
    aws.done()


def test_throttled_create_is_retried_and_other_errors_keep_the_aws_sdk_name(no_sleep, monkeypatch):
    cfg = ea.config(ea.GATE)
    aws = ea.EvalAws()
    aws.lookup(cfg)
    [job] = ea.planned(cfg)
    aws.create(job["request"], error="ThrottlingException")
    aws.create(job["request"])
    es.run(
        cfg, {"action": "start", "executionName": ea.EXECUTION, "modelPackageArn": ea.PACKAGE}, aws.clients
    )
    assert len(no_sleep) == 1
    aws = ea.EvalAws()
    aws.lookup(cfg)
    aws.create(job["request"], error="ResourceLimitExceeded")
    with pytest.raises(create_training_job.SageMakerError) as caught:
        handle(
            monkeypatch,
            cfg,
            {"action": "start", "executionName": ea.EXECUTION, "modelPackageArn": ea.PACKAGE},
            aws.clients,
        )
    assert type(caught.value).__name__ == "SageMaker.ResourceLimitExceededException"


def test_preflight_refuses_a_judge_outside_the_hub_allow_list_before_starting_anything():
    cfg = ea.config(ea.GATE, judge=True)
    aws = ea.EvalAws()
    aws.lookup(cfg, judge_list=json.dumps({"supported_judge_models": [{"model_id": "other.judge"}]}).encode())
    aws.data(ea.EVAL_ROWS, bucket="demo-data", key="eval.jsonl")
    with pytest.raises(errors.InvalidJudgeModel, match="other.judge") as caught:
        es.run(
            cfg,
            {"action": "start", "executionName": ea.EXECUTION, "modelPackageArn": ea.PACKAGE},
            aws.clients,
        )
    assert caught.value.field == "evaluation.judge.model_id"
    aws.done()


def test_preflight_checks_the_evaluation_dataset_format():
    cfg = ea.config(ea.GATE, judge=True)
    aws = ea.EvalAws()
    aws.lookup(cfg)
    aws.data(wd.jsonl(wd.SFT_ROW), bucket="demo-data", key="eval.jsonl")
    with pytest.raises(errors.DatasetFormat, match="needs sagemaker_eval") as caught:
        es.run(
            cfg,
            {"action": "start", "executionName": ea.EXECUTION, "modelPackageArn": ea.PACKAGE},
            aws.clients,
        )
    assert caught.value.field == "evaluation.dataset" and "it fits SFT" in caught.value.message


def test_preflight_refuses_a_gate_metric_the_evaluations_do_not_produce():
    cfg = ea.config({**ea.GATE, "metric": "gpqa/accuracy"})
    with pytest.raises(errors.InvalidInput, match="gpqa/accuracy.*use one of mmlu/accuracy") as caught:
        es.run(cfg, {"action": "start", "executionName": ea.EXECUTION, "modelPackageArn": ea.PACKAGE}, None)
    assert caught.value.field == "evaluation.gate.metric"


# -- poll and stop -----------------------------------------------------------------------------------------


def test_poll_starts_the_judge_metrics_job_after_its_inference_job_then_reports_done():
    cfg = ea.config(ea.GATE, judge=True)
    state = started(cfg)
    mmlu, inference, metrics = ea.planned(cfg)
    aws = ea.EvalAws()
    aws.job(mmlu, "InProgress")
    aws.job(inference, "Completed")
    aws.create(metrics["request"])
    state = es.run(cfg, {"action": "poll", "state": state}, aws.clients)
    assert [j["status"] for j in state["jobs"]] == ["InProgress", "Completed", "InProgress"]
    assert state["done"] is False
    aws.done()
    aws = ea.EvalAws()
    aws.job(mmlu)
    aws.job(metrics)
    state = es.run(cfg, {"action": "poll", "state": state}, aws.clients)
    assert state["done"] is True
    aws.done()


def test_a_failed_evaluation_job_is_a_named_error_and_the_package_stays_pending(monkeypatch):
    cfg = ea.config(ea.GATE)
    state = started(cfg)
    [mmlu] = ea.planned(cfg)
    aws = ea.EvalAws()
    aws.job(mmlu, "Failed", reason="ClientError: the model could not be loaded")
    with pytest.raises(errors.EvaluationJobFailed, match="could not be loaded") as caught:
        handle(monkeypatch, cfg, {"action": "poll", "state": state}, aws.clients)
    assert caught.value.error_name == "EvaluationError.EvaluationJobFailed"
    aws.done()  # no UpdateModelPackage: the approval status is untouched


def test_stop_stops_every_running_evaluation_job_of_the_execution_only():
    cfg = ea.config(ea.GATE, judge=True)
    aws = ea.EvalAws()
    summaries = [
        {
            "TrainingJobName": name,
            "TrainingJobArn": f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:training-job/{name}",
            "CreationTime": "2026-01-01T00:00:00Z",
            "TrainingJobStatus": "InProgress",
        }
        for name in (
            "demo-nightly-3-eval-mmlu",
            "demo-nightly-3-eval-base-judge",
            "demo-nightly-4-eval-mmlu",
            "demo-nightly-3",
        )
    ]
    aws.sm.add_response(
        "list_training_jobs",
        {"TrainingJobSummaries": summaries},
        {"NameContains": "demo-", "StatusEquals": "InProgress"},
    )
    aws.sm.add_response("stop_training_job", {}, {"TrainingJobName": "demo-nightly-3-eval-base-judge"})
    aws.sm.add_client_error(
        "stop_training_job",
        "ValidationException",
        "already completed",
        expected_params={"TrainingJobName": "demo-nightly-3-eval-mmlu"},
    )
    event = {"action": "stop", "detail": {"name": ea.EXECUTION, "status": "ABORTED"}}
    assert es.run(cfg, event, aws.clients) == {
        "executionName": ea.EXECUTION,
        "stopped": ["demo-nightly-3-eval-base-judge"],
        "notStoppable": ["demo-nightly-3-eval-mmlu"],
    }
    aws.done()


# -- the gate ----------------------------------------------------------------------------------------------


def gate_aws(
    cfg: dict, candidate: dict, *, base: dict | None = None, own: dict | None = None
) -> tuple[ea.EvalAws, dict]:
    """Stubs up to the reference lookup: the package, then each scored job's description and results."""
    aws = ea.EvalAws()
    aws.describe_package(ea.package(metadata=own))
    files = {}
    for entry in ea.planned(cfg):
        aws.job(entry)
        files[entry["evaluation"]] = aws.results(entry, candidate)
    for entry in ea.planned(cfg, base=True) if base else []:
        aws.job(entry)
        files[f"base:{entry['evaluation']}"] = aws.results(entry, base)
    return aws, files


def test_gate_passes_against_the_newest_approved_package_and_approves(monkeypatch):
    cfg = ea.config(ea.GATE)
    aws, files = gate_aws(cfg, MMLU)
    aws.approved([ea.PACKAGE, ea.APPROVED])  # the candidate itself is skipped
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
    result = handle(monkeypatch, cfg, {"action": "gate", "state": completed(cfg)}, aws.clients)
    aws.done()
    assert result["decision"] == result["approvalStatus"] == "Approved"
    assert result["gate"]["passed"] is True
    assert result["reference"] == {"model": "approved", "modelPackageArn": ea.APPROVED}
    assert result["scores"]["mmlu/accuracy"] == pytest.approx(
        {"candidate": 0.61, "reference": 0.55, "delta": 0.06}
    )
    assert result["scores"]["mmlu/stderr"] == {"candidate": 0.01, "reference": None, "delta": None}


def test_gate_fails_below_min_delta_and_sets_on_fail():
    cfg = ea.config({**ea.GATE, "minDelta": 0.1})
    aws, files = gate_aws(cfg, MMLU)
    aws.approved([ea.APPROVED])
    aws.describe_package(ea.package(ea.APPROVED, "Approved", {"eval:mmlu/accuracy": "0.55"}), ea.APPROVED)
    aws.update(
        CustomerMetadataProperties={
            "eval:mmlu/accuracy": "0.61",
            "eval:mmlu/stderr": "0.01",
            "eval-results:mmlu": files["mmlu"],
        },
        ModelApprovalStatus="Rejected",
        ApprovalDescription=f"evaluation gate mmlu/accuracy: 0.61 vs 0.55 ({ea.APPROVED}), delta +0.06 -> Rejected",
    )
    result = eg.gate(cfg, aws.clients, completed(cfg))
    aws.done()
    assert result["decision"] == "Rejected" and result["gate"]["passed"] is False


def test_first_round_evaluates_the_base_model_once_then_compares_with_it():
    cfg = ea.config({**ea.GATE, "onFail": "PendingManualApproval"})
    # 1. no Approved package: the base model has no recorded scores -> NeedsReference, scores recorded only
    aws, files = gate_aws(cfg, MMLU)
    aws.approved([])
    aws.update(
        CustomerMetadataProperties={
            "eval:mmlu/accuracy": "0.61",
            "eval:mmlu/stderr": "0.01",
            "eval-results:mmlu": files["mmlu"],
        }
    )
    first = eg.gate(cfg, aws.clients, completed(cfg))
    aws.done()
    assert first["decision"] == "NeedsReference"
    assert first["reference"] == {"model": "base", "baseModelArn": ea.BASE_ARN}
    assert first["approvalStatus"] == "PendingManualApproval"
    # 2. the workflow starts the base-model jobs into the same state
    aws = ea.EvalAws()
    aws.lookup(cfg)
    [base_job] = ea.planned(cfg, base=True)
    assert "ModelPackageConfig" not in base_job["request"]
    aws.create(base_job["request"])
    event = {"action": "start", "executionName": ea.EXECUTION, "modelPackageArn": ea.PACKAGE, "model": "base"}
    state = es.run(cfg, {**event, "state": completed(cfg)}, aws.clients)
    aws.done()
    assert [j["name"] for j in state["jobs"]] == ["demo-nightly-3-eval-mmlu", "demo-nightly-3-eval-base-mmlu"]
    # 3. gate again: base scores recorded on the candidate, compared, approved
    base = {"results": {"all": {"accuracy": 0.4}}}
    aws, files = gate_aws(cfg, MMLU, base=base)
    aws.approved([])
    aws.update(
        CustomerMetadataProperties={
            "eval:mmlu/accuracy": "0.61",
            "eval-base:mmlu/accuracy": "0.4",
            "eval-base:model": ea.BASE_ARN,
            "eval:mmlu/stderr": "0.01",
            "eval-results:mmlu": files["mmlu"],
            "eval-base-results:mmlu": files["base:mmlu"],
        },
        ModelApprovalStatus="Approved",
        ApprovalDescription=f"evaluation gate mmlu/accuracy: 0.61 vs 0.4 ({ea.BASE_ARN}), delta +0.21 -> Approved",
    )
    result = eg.gate(cfg, aws.clients, completed(cfg, base=True))
    aws.done()
    assert result["decision"] == "Approved"
    assert result["reference"] == {"model": "base", "baseModelArn": ea.BASE_ARN}
    assert result["scores"]["mmlu/accuracy"] == pytest.approx(
        {"candidate": 0.61, "reference": 0.4, "delta": 0.21}
    )


def test_compare_to_base_reuses_base_scores_recorded_for_the_same_base_version():
    cfg = ea.config({**ea.GATE, "compareTo": "base"})
    aws, files = gate_aws(cfg, MMLU)
    aws.approved([ea.APPROVED])
    recorded = {"eval:mmlu/accuracy": "0.9", "eval-base:mmlu/accuracy": "0.7", "eval-base:model": ea.BASE_ARN}
    aws.describe_package(ea.package(ea.APPROVED, "Approved", recorded), ea.APPROVED)
    aws.update(
        CustomerMetadataProperties={
            "eval:mmlu/accuracy": "0.61",
            "eval:mmlu/stderr": "0.01",
            "eval-results:mmlu": files["mmlu"],
        },
        ModelApprovalStatus="Rejected",
        ApprovalDescription=f"evaluation gate mmlu/accuracy: 0.61 vs 0.7 ({ea.BASE_ARN}), delta -0.09 -> Rejected",
    )
    result = eg.gate(cfg, aws.clients, completed(cfg))
    aws.done()
    assert result["reference"]["model"] == "base" and result["decision"] == "Rejected"


def test_without_a_gate_scores_are_recorded_and_the_configured_status_applies():
    cfg = {**ea.config(None), "approvalStatus": "Approved"}
    aws, files = gate_aws(cfg, MMLU)
    aws.update(
        CustomerMetadataProperties={
            "eval:mmlu/accuracy": "0.61",
            "eval:mmlu/stderr": "0.01",
            "eval-results:mmlu": files["mmlu"],
        },
        ModelApprovalStatus="Approved",
        ApprovalDescription="evaluation recorded; approval status Approved from the configuration",
    )
    result = eg.gate(cfg, aws.clients, completed(cfg))
    aws.done()
    assert result["decision"] == "Approved" and result["reference"] is None


def test_the_gate_answer_carries_the_start_s_note_on_an_unchecked_dataset():
    cfg = {**ea.config(None), "approvalStatus": "Approved"}
    aws, files = gate_aws(cfg, MMLU)
    aws.update(
        CustomerMetadataProperties={
            "eval:mmlu/accuracy": "0.61",
            "eval:mmlu/stderr": "0.01",
            "eval-results:mmlu": files["mmlu"],
        },
        ModelApprovalStatus="Approved",
        ApprovalDescription="evaluation recorded; approval status Approved from the configuration",
    )
    note = "evaluation.dataset arn:...: format not checked. ..."
    state = {**completed(cfg), "datasetCheck": {"checked": False, "note": note}}
    assert eg.gate(cfg, aws.clients, state)["notes"] == [note]
    aws.done()


def test_a_candidate_without_the_gate_metric_records_its_scores_and_stays_pending():
    cfg = ea.config(ea.GATE)
    aws, files = gate_aws(cfg, {"results": {"all": {"exact_match": 0.3}}})
    aws.update(
        CustomerMetadataProperties={"eval:mmlu/exact_match": "0.3", "eval-results:mmlu": files["mmlu"]}
    )
    with pytest.raises(errors.GateMetricMissing, match="no mmlu/accuracy; they have mmlu/exact_match"):
        eg.gate(cfg, aws.clients, completed(cfg))
    aws.done()


def test_gate_refuses_a_state_with_unfinished_jobs():
    cfg = ea.config(ea.GATE)
    state = completed(cfg)
    state["jobs"][0]["status"] = "InProgress"
    with pytest.raises(errors.InvalidState, match="not completed yet: demo-nightly-3-eval-mmlu"):
        eg.gate(cfg, None, state)


def test_recorded_properties_respect_the_api_limits_gate_metric_first():
    existing = {f"team:{i}": "x" for i in range(45)}
    candidate = {f"custom_scorer/m{i}": float(i) for i in range(8)} | {"custom_scorer/acc%": 0.5}
    files = {"custom_scorer": "s3://b/" + "k" * 300}
    written, dropped = eg.properties(candidate, files, {}, {}, ea.BASE_ARN, existing, "custom_scorer/m7")
    assert len(written) + len(existing) == 50
    assert next(iter(written)) == "eval:custom_scorer/m7"
    assert "eval-results:custom_scorer" in dropped
    assert "eval:custom_scorer/acc_" in written or "eval:custom_scorer/acc_" in dropped
    assert all(
        len(k) <= 128 and len(v) <= 256 and not eg._NOT_ALLOWED.search(k + v) for k, v in written.items()
    )


@pytest.mark.parametrize(
    "gate",
    [
        {**ea.GATE, "onFail": "Approved"},
        {**ea.GATE, "compareTo": "latest"},
        {**ea.GATE, "minDelta": "0.1"},
        {**ea.GATE, "metric": None},
    ],
)
def test_a_malformed_gate_never_approves(gate):
    with pytest.raises(errors.InvalidInput, match="onFail: PendingManualApproval [|] Rejected") as caught:
        eg.gate(ea.config(gate), None, completed(ea.config(ea.GATE)))
    assert caught.value.field == "evaluation.gate"


def test_start_refuses_a_state_of_another_package():
    cfg = ea.config(ea.GATE)
    aws = ea.EvalAws()
    aws.lookup(cfg)
    state = {**completed(cfg), "modelPackageArn": ea.APPROVED}
    event = {"action": "start", "executionName": ea.EXECUTION, "modelPackageArn": ea.PACKAGE, "model": "base"}
    with pytest.raises(errors.InvalidState, match="not of"):
        es.run(cfg, {**event, "state": state}, aws.clients)


def test_base_results_without_the_gate_metric_are_an_error_not_a_second_round():
    cfg = ea.config({**ea.GATE, "onFail": "PendingManualApproval"})
    aws, files = gate_aws(cfg, MMLU, base={"results": {"all": {"stderr": 0.02}}})
    aws.approved([])
    aws.update(
        CustomerMetadataProperties={
            "eval:mmlu/accuracy": "0.61",
            "eval-base:model": ea.BASE_ARN,
            "eval:mmlu/stderr": "0.01",
            "eval-base:mmlu/stderr": "0.02",
            "eval-results:mmlu": files["mmlu"],
            "eval-base-results:mmlu": files["base:mmlu"],
        }
    )
    with pytest.raises(errors.GateMetricMissing, match="base model's results have no mmlu/accuracy"):
        eg.gate(cfg, aws.clients, completed(cfg, base=True))
    aws.done()  # the scores are recorded; the approval status is left as it is
