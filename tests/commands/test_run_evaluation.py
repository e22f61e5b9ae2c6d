"""cdk-finetune status of a run in its evaluation step: the evaluation jobs and their statuses (Stubber)."""

from __future__ import annotations

import json

from cdk_sagemaker_finetuning.runtime import evaluation_request

from .test_runs import COMPLETED, EXEC_ARN, JOB, PACKAGE, T0, execution, job

FORWARD = {"executionArn": EXEC_ARN, "includeExecutionData": True}
NEWEST_FIRST = {**FORWARD, "reverseOrder": True}
MMLU, INFERENCE, JUDGE = (
    evaluation_request.job_name("support-sft", "run-1", suffix)
    for suffix in ("mmlu", "judge-inference", "judge")
)


def event(kind: str, number: int, **details: object) -> dict:
    return {"timestamp": T0, "type": kind, "id": number, **details}


def entry(name: str, evaluation: str, kind: str, status: str, after: str | None = None) -> dict:
    job = {"name": name, "evaluation": evaluation, "kind": kind, "model": "package", "after": after}
    job["status"] = status
    if status == "Pending":
        job["request"] = {"TrainingJobName": name}
    return job


STATE = {
    "executionName": "run-1",
    "modelPackageArn": PACKAGE,
    "jobs": [
        entry(MMLU, "mmlu", "benchmark", "Completed"),
        entry(INFERENCE, "judge", "judge-inference", "InProgress"),
        entry(JUDGE, "judge", "judge", "Pending", after=INFERENCE),
    ],
    "done": False,
}
CREATE_TASK = event(
    "TaskScheduled",
    5,
    taskScheduledEventDetails={
        "resourceType": "sagemaker",
        "resource": "createTrainingJob",
        "region": "us-east-1",
        "parameters": json.dumps({"TrainingJobName": JOB}),
    },
)


def training_completed(stubs, status: str = "RUNNING", **extra: object):
    sfn, sm = stubs("stepfunctions"), stubs("sagemaker")
    sfn.add_response("describe_execution", execution(status, **extra), {"executionArn": EXEC_ARN})
    sfn.add_response("get_execution_history", {"events": [CREATE_TASK]}, FORWARD)
    sm.add_response(
        "describe_training_job",
        job("Completed", COMPLETED, OutputModelPackageArn=PACKAGE),
        {"TrainingJobName": JOB},
    )
    return sfn, sm


def poll_succeeded(number: int, state: dict) -> dict:
    return event(
        "TaskSucceeded",
        number,
        taskSucceededEventDetails={
            "resourceType": "lambda",
            "resource": "arn:aws:lambda:us-east-1:123456789012:function:Evaluation",
            "output": json.dumps(state),
        },
    )


def test_status_while_evaluating_lists_the_jobs_with_live_statuses(stubs, run) -> None:
    sfn, sm = training_completed(stubs)
    newest = [
        event("TaskStateEntered", 42, stateEnteredEventDetails={"name": "PollEvaluation", "input": "{}"}),
        poll_succeeded(41, STATE),
    ]
    sfn.add_response("get_execution_history", {"events": newest}, NEWEST_FIRST)
    sm.add_response(  # only the running job is described; the others keep the step's status
        "describe_training_job",
        {**job("InProgress", COMPLETED[:3]), "TrainingJobName": INFERENCE},
        {"TrainingJobName": INFERENCE},
    )
    result = run("status", EXEC_ARN)
    assert result.code == 0, result.err
    assert f"Evaluation: 3 job(s) of {PACKAGE}" in result.flat_out
    rows = [line.split() for line in result.out.splitlines()[-3:]]
    assert rows == [["Completed", MMLU], ["InProgress", INFERENCE], ["Pending", JUDGE]]
    assert result.out.index("Model package:") < result.out.index("Evaluation:")


def test_status_reads_the_state_from_a_state_exit_and_stops_at_the_newest(stubs, run) -> None:
    sfn, _ = training_completed(stubs)
    done = {**STATE, "jobs": [entry(MMLU, "mmlu", "benchmark", "Completed")], "done": True}
    newest = [  # the Gate state's exit holds the state under "evaluation"; older events are not read
        event(
            "TaskStateExited",
            60,
            stateExitedEventDetails={"name": "Gate", "output": json.dumps({"evaluation": done, "gate": {}})},
        ),
        poll_succeeded(41, STATE),
    ]
    sfn.add_response("get_execution_history", {"events": newest, "nextToken": "older"}, NEWEST_FIRST)
    result = run("status", EXEC_ARN)  # no DescribeTrainingJob: no job is running
    assert result.code == 0, result.err
    assert "1 job(s)" in result.out and MMLU in result.out and INFERENCE not in result.out


def test_status_before_the_first_evaluation_job(stubs, run) -> None:
    sfn, _ = training_completed(stubs)
    newest = [
        event("TaskStateEntered", 31, stateEnteredEventDetails={"name": "StartEvaluation", "input": "{}"}),
        event("ParallelStateEntered", 30, stateEnteredEventDetails={"name": "Evaluate", "input": "{}"}),
    ]
    sfn.add_response("get_execution_history", {"events": newest, "nextToken": "older"}, NEWEST_FIRST)
    result = run("status", EXEC_ARN)
    assert result.code == 0
    assert "Evaluation: the evaluation step is starting (preflight of the evaluations)" in result.flat_out


def test_status_of_a_run_without_evaluation_reads_the_whole_history_once(stubs, run) -> None:
    sfn, _ = training_completed(stubs)
    sfn.add_response("get_execution_history", {"events": [CREATE_TASK]}, NEWEST_FIRST)
    result = run("status", EXEC_ARN)
    assert result.code == 0
    assert "Evaluation" not in result.out


def test_status_of_a_run_that_failed_while_evaluating_shows_the_jobs(stubs, run) -> None:
    cause = json.dumps({"errorMessage": f"evaluation job {MMLU} (mmlu, package) Failed: bad data"})
    sfn, _ = training_completed(stubs, "FAILED", error="EvaluationError.EvaluationJobFailed", cause=cause)
    failed = {**STATE, "jobs": [entry(MMLU, "mmlu", "benchmark", "Failed")]}
    sfn.add_response("get_execution_history", {"events": [poll_succeeded(50, failed)]}, NEWEST_FIRST)
    result = run("status", EXEC_ARN)
    assert result.code == 1
    assert f"  Failed  {MMLU}" in result.out
    assert "Execution FAILED: EvaluationError.EvaluationJobFailed: evaluation job" in result.flat_out


def test_status_wait_prints_an_unchanged_evaluation_table_once(stubs, run, monkeypatch) -> None:
    from cdk_sagemaker_finetuning.commands import runs

    monkeypatch.setattr(runs.time, "sleep", lambda _: None)
    sfn, sm = training_completed(stubs)
    running = {**STATE, "jobs": [entry(MMLU, "mmlu", "benchmark", "InProgress")]}
    sfn.add_response("get_execution_history", {"events": [poll_succeeded(41, running)]}, NEWEST_FIRST)
    mmlu = {**job("InProgress", COMPLETED[:3]), "TrainingJobName": MMLU}
    sm.add_response("describe_training_job", mmlu, {"TrainingJobName": MMLU})
    sfn.add_response("describe_execution", execution("RUNNING"), {"executionArn": EXEC_ARN})
    sm.add_response("describe_training_job", job("Completed", COMPLETED), {"TrainingJobName": JOB})
    sfn.add_response("get_execution_history", {"events": [poll_succeeded(45, running)]}, NEWEST_FIRST)
    sm.add_response("describe_training_job", mmlu, {"TrainingJobName": MMLU})
    output = json.dumps({"trainingJobName": JOB, "evaluation": {"decision": "Approved", "scores": {}}})
    sfn.add_response("describe_execution", execution("SUCCEEDED", output=output), {"executionArn": EXEC_ARN})
    sm.add_response("describe_training_job", job("Completed", COMPLETED), {"TrainingJobName": JOB})
    result = run("status", EXEC_ARN, "--wait", "--interval", "1")
    assert result.code == 0, result.err
    assert result.flat_out.count("Evaluation: 1 job(s)") == 1
    assert result.out.count("Model package:") == 1
    assert "Evaluation: Approved" in result.flat_out


def test_status_of_a_finished_run_shows_the_evaluation_notes(stubs, run) -> None:
    note = "evaluation.dataset arn:x: format not checked. cannot check the data at s3://b/k"
    answer = {"decision": "Approved", "scores": {"mmlu/accuracy": {"candidate": 0.6}}, "notes": [note]}
    output = json.dumps({"trainingJobName": JOB, "evaluation": answer})
    sfn, sm = stubs("stepfunctions"), stubs("sagemaker")
    sfn.add_response("describe_execution", execution("SUCCEEDED", output=output), {"executionArn": EXEC_ARN})
    sm.add_response("describe_training_job", job("Completed", COMPLETED), {"TrainingJobName": JOB})
    result = run("status", EXEC_ARN)  # a succeeded run: its output, no history read
    assert result.code == 0
    assert f"Note: {note}" in result.flat_out
    assert result.out.index("mmlu/accuracy") < result.out.index("Note:")
