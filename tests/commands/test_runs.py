"""cdk-finetune start / status, offline with Stubber (CloudFormation, Step Functions, SageMaker)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cdk_sagemaker_finetuning.commands import runs
from cdk_sagemaker_finetuning.runtime.request import INPUT_KEYS

SM_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:FineTuningWorkflow"
EXEC_ARN = "arn:aws:states:us-east-1:123456789012:execution:FineTuningWorkflow:run-1"
JOB = "meta-llama-sft-20261122-abc"
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/support-sft/3"
T0 = datetime(2026, 11, 22, 1, 0, 0, tzinfo=UTC)


def stack(outputs: dict[str, str]) -> dict:
    return {
        "Stacks": [
            {
                "StackName": "support-sft",
                "CreationTime": T0,
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


def transition(status: str, minute: int, message: str) -> dict:
    return {"Status": status, "StartTime": T0.replace(minute=minute), "StatusMessage": message}


def job(status: str, transitions: list[dict], **extra: object) -> dict:
    return {
        "TrainingJobName": JOB,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{JOB}",
        "TrainingJobStatus": status,
        "SecondaryStatus": transitions[-1]["Status"] if transitions else "Starting",
        "SecondaryStatusTransitions": transitions,
        "CreationTime": T0,
        "ModelArtifacts": {"S3ModelArtifacts": "s3://out/"},
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        **extra,
    }


STARTING = [
    transition("Starting", 0, "Starting the training job"),
    transition("Pending", 2, "Preparing the instances for training"),
]
TRAINING = [*STARTING, transition("Training", 9, "Training image download completed. Training in progress.")]
COMPLETED = [*TRAINING, transition("Completed", 40, "Training job completed")]
PROGRESS = {"TotalStepCountPerEpoch": 50, "CurrentStep": 25, "CurrentEpoch": 2, "MaxEpoch": 2}


def execution(status: str, **extra: object) -> dict:
    return {
        "executionArn": EXEC_ARN,
        "stateMachineArn": SM_ARN,
        "name": "run-1",
        "status": status,
        "startDate": T0,
        **extra,
    }


def test_input_keys_match_the_workflow_contract() -> None:
    assert {runs.TRAIN_INPUT, runs.VALIDATION_INPUT} <= set(INPUT_KEYS)


def test_start_resolves_the_stack_output_and_passes_the_data(stubs, run) -> None:
    cfn, sfn = stubs("cloudformation"), stubs("stepfunctions")
    cfn.add_response(
        "describe_stacks",
        stack({"OutputUri": "s3://o/", "StateMachineArn": SM_ARN}),
        {"StackName": "support-sft"},
    )
    sfn.add_response(
        "start_execution",
        {"executionArn": EXEC_ARN, "startDate": T0},
        {
            "stateMachineArn": SM_ARN,
            "input": json.dumps(
                {"trainUri": "s3://data/round2.jsonl", "validationUri": "s3://data/val.jsonl"}
            ),
            "name": "round-2",
        },
    )
    result = run(
        "start",
        "support-sft",
        "--data",
        "s3://data/round2.jsonl",
        "--validation-data",
        "s3://data/val.jsonl",
        "--name",
        "round-2",
    )
    assert result.code == 0
    assert result.out.splitlines()[:2] == ["Started execution:", EXEC_ARN]
    assert "cdk-finetune status EXECUTION_ARN --wait" in result.out


def test_start_with_a_state_machine_arn_and_no_data(stubs, run) -> None:
    stubs("stepfunctions").add_response(
        "start_execution",
        {"executionArn": EXEC_ARN, "startDate": T0},
        {"stateMachineArn": SM_ARN, "input": "{}"},
    )
    assert run("start", SM_ARN).code == 0


def test_start_stack_without_workflow_output(stubs, run) -> None:
    stubs("cloudformation").add_response(
        "describe_stacks", stack({"OutputUri": "s3://o/"}), {"StackName": "support-sft"}
    )
    result = run("start", "support-sft")
    assert result.code == 2
    assert (
        "Stack 'support-sft' has no StateMachineArn output (outputs: OutputUri); was it deployed with the "
        "training workflow?"
    ) in result.flat_err


def test_start_picks_a_project_of_a_platform_stack(stubs, run) -> None:
    cfn, sfn = stubs("cloudformation"), stubs("stepfunctions")
    outputs = {"SupportSftStateMachineArn": SM_ARN, "MathRlvrStateMachineArn": SM_ARN + "-math"}
    cfn.add_response("describe_stacks", stack(outputs), {"StackName": "platform"})
    sfn.add_response(
        "start_execution",
        {"executionArn": EXEC_ARN, "startDate": T0},
        {"stateMachineArn": SM_ARN, "input": "{}"},
    )
    assert run("start", "platform", "--project", "support-sft").code == 0


def test_start_platform_stack_needs_a_project(stubs, run) -> None:
    outputs = {"SupportSftStateMachineArn": SM_ARN, "MathRlvrStateMachineArn": SM_ARN + "-math"}
    stubs("cloudformation").add_response("describe_stacks", stack(outputs), {"StackName": "platform"})
    result = run("start", "platform")
    assert result.code == 2
    assert "choose one with --project NAME" in result.flat_err
    assert "holds several projects (MathRlvr, SupportSft)" in result.flat_err


def test_start_unknown_stack(stubs, run) -> None:
    stubs("cloudformation").add_client_error(
        "describe_stacks",
        "ValidationError",
        "Stack with id nope does not exist",
        expected_params={"StackName": "nope"},
    )
    result = run("start", "nope")
    assert result.code == 2
    assert result.flat_err == "error: Stack 'nope' does not exist in us-east-1; deploy it first (cdk deploy)."


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["start", "arn:aws:states:us-east-1:123456789012:activity:x"], "is not a state machine ARN"),
        (["start", SM_ARN, "--data", "/local/train.jsonl"], "--data '/local/train.jsonl' must be an S3 URI"),
        (["start", SM_ARN, "--validation-data", "s3:/x"], "--validation-data 's3:/x' must be an S3 URI"),
    ],
)
def test_start_rejects_bad_targets_and_data_before_calling_aws(run, argv, message) -> None:
    result = run(*argv)
    assert result.code == 2
    assert message in result.flat_err


def test_start_with_a_used_execution_name(stubs, run) -> None:
    stubs("stepfunctions").add_client_error(
        "start_execution",
        "ExecutionAlreadyExists",
        "Execution Already Exists: 'x'",
        expected_params={"stateMachineArn": SM_ARN, "input": "{}", "name": "round-1"},
    )
    result = run("start", SM_ARN, "--name", "round-1")
    assert result.code == 2
    assert result.err == "error: An execution named 'round-1' already exists; choose another --name.\n"


def test_start_access_denied(stubs, run) -> None:
    stubs("stepfunctions").add_client_error(
        "start_execution", "AccessDeniedException", "not authorized to perform: states:StartExecution"
    )
    result = run("start", SM_ARN)
    assert result.code == 1
    assert result.flat_err.startswith("error: Access denied calling StartExecution: not authorized")


def test_status_of_a_running_job_shows_transitions_and_progress(stubs, run) -> None:
    stubs("sagemaker").add_response(
        "describe_training_job", job("InProgress", TRAINING, ProgressInfo=PROGRESS), {"TrainingJobName": JOB}
    )
    result = run("status", JOB)
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == f"Training job: {JOB}"
    assert lines[1] == "  01:00:00  Starting: Starting the training job"
    assert lines[2] == "  01:02:00  Pending: Preparing the instances for training"
    assert lines[3].startswith("  01:09:00  Training: Training image download completed.")
    assert "Status:       InProgress (Training)" in lines
    assert "Progress:     [##################......]  75.0%  epoch 2/2, step 25/50" in lines
    assert "Model package" not in result.out


def test_status_of_a_completed_job_by_arn(stubs, run) -> None:
    stubs("sagemaker").add_response(
        "describe_training_job",
        job("Completed", COMPLETED, OutputModelPackageArn=PACKAGE, BillableTokenCount=1234567),
        {"TrainingJobName": JOB},
    )
    result = run("status", f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{JOB}")
    assert result.code == 0
    assert f"Model package:\n{PACKAGE}\n" in result.out
    assert "Billable tokens: 1,234,567" in result.out
    assert "Progress" not in result.out


def test_status_of_a_failed_job(stubs, run) -> None:
    reason = "ClientError: Invalid input error: Number of samples 5 out of bounds between 32 and inf"
    stubs("sagemaker").add_response(
        "describe_training_job", job("Failed", STARTING, FailureReason=reason), {"TrainingJobName": JOB}
    )
    result = run("status", JOB)
    assert result.code == 1
    assert f"Failure reason: {reason}" in result.flat_out


def test_status_unknown_job(stubs, run) -> None:
    stubs("sagemaker").add_client_error(
        "describe_training_job",
        "ValidationException",
        "Requested resource not found.",
        expected_params={"TrainingJobName": "x"},
    )
    result = run("status", "x")
    assert result.code == 2
    assert result.flat_err == "error: No training job named 'x' in us-east-1; check the name and the region."


def test_status_throttled(stubs, run) -> None:
    stubs("sagemaker").add_client_error("describe_training_job", "ThrottlingException", "Rate exceeded")
    result = run("status", JOB)
    assert result.code == 1
    assert "throttled DescribeTrainingJob" in result.err


def test_status_wait_polls_until_the_job_ends(stubs, run, monkeypatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(runs.time, "sleep", sleeps.append)
    sm = stubs("sagemaker")
    sm.add_response("describe_training_job", job("InProgress", STARTING), {"TrainingJobName": JOB})
    sm.add_response(
        "describe_training_job",
        job("InProgress", TRAINING, ProgressInfo={**PROGRESS, "CurrentEpoch": 1}),
        {"TrainingJobName": JOB},
    )
    sm.add_response(
        "describe_training_job",
        job("InProgress", TRAINING, ProgressInfo={**PROGRESS, "CurrentEpoch": 1}),
        {"TrainingJobName": JOB},
    )
    sm.add_response(
        "describe_training_job",
        job("Completed", COMPLETED, OutputModelPackageArn=PACKAGE),
        {"TrainingJobName": JOB},
    )
    result = run("status", JOB, "--wait", "--interval", "5")
    assert result.code == 0
    assert sleeps == [5.0, 5.0, 5.0]
    out = result.out
    assert out.count("Training job:") == 1
    assert out.count("Starting: Starting the training job") == 1
    assert out.count("25.0%") == 1  # an unchanged progress bar is not printed again
    assert out.index("Pending") < out.index("25.0%") < out.index("Completed: Training job completed")
    assert out.rstrip().endswith(PACKAGE)


def test_status_of_an_execution_finds_the_job_in_the_history(stubs, run) -> None:
    sfn, sm = stubs("stepfunctions"), stubs("sagemaker")
    sfn.add_response("describe_execution", execution("RUNNING"), {"executionArn": EXEC_ARN})
    history = {"executionArn": EXEC_ARN, "includeExecutionData": True}
    sfn.add_response(
        "get_execution_history",
        {
            "events": [
                {
                    "timestamp": T0,
                    "type": "ExecutionStarted",
                    "id": 1,
                    "executionStartedEventDetails": {"input": "{}"},
                },
            ],
            "nextToken": "n1",
        },
        history,
    )
    sfn.add_response(
        "get_execution_history",
        {
            "events": [
                {
                    "timestamp": T0,
                    "type": "TaskScheduled",
                    "id": 5,
                    "taskScheduledEventDetails": {
                        "resourceType": "sagemaker",
                        "resource": "createTrainingJob",
                        "region": "us-east-1",
                        "parameters": json.dumps(
                            {"TrainingJobName": JOB, "RoleArn": "arn:aws:iam::123456789012:role/x"}
                        ),
                    },
                },
            ]
        },
        {**history, "nextToken": "n1"},
    )
    sm.add_response(
        "describe_training_job", job("InProgress", TRAINING, ProgressInfo=PROGRESS), {"TrainingJobName": JOB}
    )
    result = run("status", EXEC_ARN)
    assert result.code == 0
    assert result.out.splitlines()[:2] == ["Execution:    run-1: RUNNING", f"Training job: {JOB}"]
    assert "75.0%" in result.out


def test_status_of_an_execution_in_preflight(stubs, run) -> None:
    sfn = stubs("stepfunctions")
    sfn.add_response("describe_execution", execution("RUNNING"), {"executionArn": EXEC_ARN})
    sfn.add_response(
        "get_execution_history", {"events": []}, {"executionArn": EXEC_ARN, "includeExecutionData": True}
    )
    result = run("status", EXEC_ARN)
    assert result.code == 0
    assert "Checking the configuration and data (preflight); no training job yet." in result.out


def test_status_of_a_failed_preflight_shows_the_error_message(stubs, run) -> None:
    cause = json.dumps(
        {
            "errorMessage": "base_model: 'llama-9' is not in hub SageMakerPublicHub",
            "errorType": "PreflightError.NotFound",
            "stackTrace": [],
        }
    )
    sfn = stubs("stepfunctions")
    sfn.add_response(
        "describe_execution",
        execution("FAILED", error="PreflightError.NotFound", cause=cause),
        {"executionArn": EXEC_ARN},
    )
    sfn.add_response(
        "get_execution_history", {"events": []}, {"executionArn": EXEC_ARN, "includeExecutionData": True}
    )
    result = run("status", EXEC_ARN)
    assert result.code == 1
    assert (
        "Execution FAILED: PreflightError.NotFound: base_model: 'llama-9' is not in hub SageMakerPublicHub"
        in result.flat_out
    )


def test_start_wait_follows_the_execution_to_its_model_package(stubs, run, monkeypatch) -> None:
    monkeypatch.setattr(runs.time, "sleep", lambda _: None)
    sfn, sm = stubs("stepfunctions"), stubs("sagemaker")
    sfn.add_response(
        "start_execution",
        {"executionArn": EXEC_ARN, "startDate": T0},
        {"stateMachineArn": SM_ARN, "input": json.dumps({"trainUri": "s3://data/t.jsonl"})},
    )
    sfn.add_response("describe_execution", execution("RUNNING"), {"executionArn": EXEC_ARN})
    sfn.add_response(
        "get_execution_history",
        {
            "events": [
                {
                    "timestamp": T0,
                    "type": "TaskSucceeded",
                    "id": 4,
                    "taskSucceededEventDetails": {
                        "resourceType": "lambda",
                        "resource": "invoke",
                        "output": json.dumps({"Payload": {"trainingJobName": JOB, "request": {}}}),
                    },
                },
            ]
        },
        {"executionArn": EXEC_ARN, "includeExecutionData": True},
    )
    sm.add_response("describe_training_job", job("InProgress", STARTING), {"TrainingJobName": JOB})
    output = json.dumps({"trainingJobName": JOB, "status": "Completed", "outputModelPackageArn": PACKAGE})
    sfn.add_response("describe_execution", execution("SUCCEEDED", output=output), {"executionArn": EXEC_ARN})
    sm.add_response(
        "describe_training_job",
        job("Completed", COMPLETED, OutputModelPackageArn=PACKAGE),
        {"TrainingJobName": JOB},
    )
    result = run("start", SM_ARN, "--data", "s3://data/t.jsonl", "--wait")
    assert result.code == 0, result.err
    assert "run-1: RUNNING" in result.out and "run-1: SUCCEEDED" in result.out
    assert result.out.rstrip().endswith(PACKAGE)


def test_status_unknown_execution_and_bad_arn(stubs, run) -> None:
    stubs("stepfunctions").add_client_error(
        "describe_execution",
        "ExecutionDoesNotExist",
        "Execution does not exist",
        expected_params={"executionArn": EXEC_ARN},
    )
    result = run("status", EXEC_ARN)
    assert result.code == 2 and result.flat_err == f"error: No execution {EXEC_ARN}."
    bad = run("status", SM_ARN)
    assert bad.code == 2 and "is not an execution or training job ARN" in bad.flat_err


def test_status_wait_on_an_execution_that_fails_in_preflight(stubs, run, monkeypatch) -> None:
    monkeypatch.setattr(runs.time, "sleep", lambda _: None)
    sfn = stubs("stepfunctions")
    history = {"executionArn": EXEC_ARN, "includeExecutionData": True}
    for _ in range(2):
        sfn.add_response("describe_execution", execution("RUNNING"), {"executionArn": EXEC_ARN})
        sfn.add_response("get_execution_history", {"events": []}, history)
    failed = execution("FAILED", error="States.TaskFailed", cause="preflight crashed")
    sfn.add_response("describe_execution", failed, {"executionArn": EXEC_ARN})
    sfn.add_response("get_execution_history", {"events": []}, history)
    result = run("status", EXEC_ARN, "--wait")
    assert result.code == 1
    assert result.out.count("no training job yet") == 1
    assert result.out.count("run-1: RUNNING") == 1
    assert result.out.rstrip().endswith("Execution FAILED: States.TaskFailed: preflight crashed")


def test_status_of_an_evaluated_run_shows_the_gate_and_the_scores_side_by_side(stubs, run) -> None:
    approved = "arn:aws:sagemaker:us-east-1:123456789012:model-package/support-sft/2"
    evaluation = {
        "decision": "Rejected",
        "approvalStatus": "Rejected",
        "gate": {"metric": "mmlu/accuracy", "minDelta": 0.0, "passed": False},
        "reference": {"model": "approved", "modelPackageArn": approved},
        "scores": {
            "mmlu/accuracy": {"candidate": 0.52, "reference": 0.55, "delta": -0.03},
            "mmlu/stderr": {"candidate": 0.01, "reference": None, "delta": None},
        },
    }
    output = {"trainingJobName": JOB, "outputModelPackageArn": PACKAGE, "evaluation": evaluation}
    sfn, sm = stubs("stepfunctions"), stubs("sagemaker")
    sfn.add_response(
        "describe_execution",
        execution("SUCCEEDED", output=json.dumps(output), stopDate=T0),
        {"executionArn": EXEC_ARN},
    )
    sm.add_response(
        "describe_training_job",
        job("Completed", COMPLETED, OutputModelPackageArn=PACKAGE),
        {"TrainingJobName": JOB},
    )
    result = run("status", EXEC_ARN)
    assert result.code == 0
    lines = result.out.splitlines()
    assert "Evaluation:   Rejected (gate mmlu/accuracy failed)" in lines
    assert f"Reference: approved model\n  {approved}" in result.out  # the ARN wraps at 80 columns
    [accuracy] = [line for line in lines if line.lstrip().startswith("mmlu/accuracy")]
    assert accuracy.split() == ["mmlu/accuracy", "0.5200", "0.5500", "-0.0300"]
    [stderr] = [line for line in lines if line.lstrip().startswith("mmlu/stderr")]
    assert stderr.split() == ["mmlu/stderr", "0.0100", "-", "-"]


def test_status_of_a_run_without_evaluation_shows_no_scores(stubs, run) -> None:
    sfn, sm = stubs("stepfunctions"), stubs("sagemaker")
    output = {"trainingJobName": JOB, "outputModelPackageArn": PACKAGE}
    sfn.add_response(
        "describe_execution",
        execution("SUCCEEDED", output=json.dumps(output), stopDate=T0),
        {"executionArn": EXEC_ARN},
    )
    sm.add_response("describe_training_job", job("Completed", COMPLETED), {"TrainingJobName": JOB})
    result = run("status", EXEC_ARN)
    assert result.code == 0 and "Evaluation" not in result.out
