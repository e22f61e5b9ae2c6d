"""``cdk-finetune plan --evaluation``: offline from the example files, online through Stubber-backed lookups."""

from __future__ import annotations

import io
import json
from pathlib import Path

import botocore.session
import pytest
import yaml
from botocore.response import StreamingBody
from botocore.validate import validate_parameters

from cdk_sagemaker_finetuning import cli
from cdk_sagemaker_finetuning.commands import plan_evaluation
from cdk_sagemaker_finetuning.notebook import load_outputs, stack_outputs
from cdk_sagemaker_finetuning.runtime import evaluation_request, evaluation_step, preflight
from cdk_sagemaker_finetuning.spec import load_spec
from cdk_sagemaker_finetuning.workflow_config import runtime_config
from tests.commands.conftest import Result, assert_fits
from tests.conftest import EXAMPLES

HERE = EXAMPLES / "evaluation"
SPEC = str(HERE / "support-sft-eval.yaml")
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/support-sft/3"
MODEL = "meta-textgeneration-llama-3-2-1b-instruct"
JUDGE = "anthropic.claude-3-5-haiku-20241022-v1:0"
OFFLINE = (
    "--hub-content",
    str(HERE / "hub-content.json"),
    "--recipe-params",
    str(HERE / "recipe-params.json"),
)
SHAPE = (
    botocore.session.get_session()
    .get_service_model("sagemaker")
    .operation_model("CreateTrainingJob")
    .input_shape
)
OUTPUTS = {
    "FineTuning-support-sft": {
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/FineTuning-support-sft-TrainingRole",
        "ModelPackageGroupName": "support-sft",
        "ModelPackageGroupArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/support-sft",
        "TrainUri": "s3://support-data-123456789012/train/train.jsonl",
        "OutputUri": "s3://support-output-123456789012/finetuning/",
    }
}


def body(document: object) -> dict:
    data = json.dumps(document).encode()
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentLength": len(data)}


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    """``cdk-finetune ARGS``; the JSON on stdout may be wide, every note on stderr fits 80 columns."""

    def invoke(*argv: str) -> Result:
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        if code == 0:
            assert_fits(captured.err)
        return Result(code, captured.out, captured.err)

    return invoke


def evaluation_jobs(result) -> list[dict]:
    assert result.code == 0, result.err
    return json.loads(result.out)["EvaluationJobs"]


@pytest.fixture
def outputs_file(tmp_path: Path) -> str:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS))
    return str(path)


def test_offline_example_prints_the_runtime_requests_pinned_to_the_trained_version(run, outputs_file) -> None:
    package_file = str(HERE / "model-package.json")
    result = run(
        "plan",
        SPEC,
        "--evaluation",
        "--model-package",
        PACKAGE,
        *OFFLINE,
        "--model-package-file",
        package_file,
        "--execution-name",
        "nightly-1",
        "--outputs-file",
        outputs_file,
    )
    printed = evaluation_jobs(result)

    spec = load_spec(SPEC)
    stack = OUTPUTS["FineTuning-support-sft"]
    config = {
        **runtime_config(
            spec,
            role_arn=stack["ExecutionRoleArn"],
            model_package_group_arn=stack["ModelPackageGroupArn"],
            output_uri=stack["OutputUri"],
            train_uri=stack["TrainUri"],
        ),
        "evaluation": spec.evaluation.runtime_config(),
    }
    params = json.loads((HERE / "recipe-params.json").read_text())
    package = json.loads((HERE / "model-package.json").read_text())
    expected = evaluation_request.build_evaluation_jobs(
        config, package, {"DeterministicEvaluation": params}, "nightly-1"
    )
    assert printed == [job["request"] for job in expected]
    assert [j["TrainingJobName"] for j in printed] == [
        "support-sft-nightly-1-eval-mmlu",
        "support-sft-nightly-1-eval-gpqa",
        "support-sft-nightly-1-eval-judge-inference",
        "support-sft-nightly-1-eval-judge",
        "support-sft-nightly-1-eval-scorer",
    ]
    for job in printed:
        validate_parameters(job, SHAPE)
        assert job["ServerlessJobConfig"]["BaseModelArn"].endswith(f"/Model/{MODEL}/1.2.3")  # hub has 1.3.0
    assert "not checked against the service's allow-list" in result.flat_err


def test_offline_without_the_package_file_assumes_the_hub_content_version(run) -> None:
    result = run("plan", SPEC, "--evaluation", "--model-package", PACKAGE, *OFFLINE)
    printed = evaluation_jobs(result)
    assert {j["ServerlessJobConfig"]["BaseModelArn"].rsplit("/", 1)[1] for j in printed} == {"1.3.0"}
    assert f"assuming the package was trained from {MODEL} version 1.3.0" in result.flat_err
    assert printed[0]["TrainingJobName"].startswith("support-sft-plan-")


def test_bad_input_is_one_line_exit_2(run, tmp_path, sft_spec_dict) -> None:
    no_block = tmp_path / "plain.yaml"
    no_block.write_text(yaml.safe_dump(sft_spec_dict))
    other_package = tmp_path / "package.json"
    other_package.write_text(json.dumps({"ModelPackageArn": PACKAGE.replace("/3", "/9")}))
    no_recipe = tmp_path / "hub.json"
    hub = json.loads((HERE / "hub-content.json").read_text())
    document = json.loads(hub["HubContentDocument"])
    document["RecipeCollection"] = [r for r in document["RecipeCollection"] if r["Type"] != "Evaluation"]
    no_recipe.write_text(json.dumps({**hub, "HubContentDocument": json.dumps(document)}))
    cases = {
        "the spec has no evaluation block": (
            "plan",
            str(no_block),
            "--evaluation",
            "--model-package",
            PACKAGE,
            *OFFLINE,
        ),
        "--evaluation needs --model-package ARN": ("plan", SPEC, "--evaluation", *OFFLINE),
        "its ModelPackageArn differs": (
            "plan",
            SPEC,
            "--evaluation",
            "--model-package",
            PACKAGE,
            *OFFLINE,
            "--model-package-file",
            str(other_package),
        ),
        "pass both --hub-content and --recipe-params": (
            "plan",
            SPEC,
            "--evaluation",
            "--model-package",
            PACKAGE,
            "--hub-content",
            str(no_recipe),
        ),
        "PreflightError.UnsupportedTechnique (evaluation): the base model has no Evaluation recipe of type "
        "DeterministicEvaluation": (
            "plan",
            SPEC,
            "--evaluation",
            "--model-package",
            PACKAGE,
            "--hub-content",
            str(no_recipe),
            "--recipe-params",
            str(HERE / "recipe-params.json"),
        ),
        "PreflightError.InvalidInput (modelPackageArn)": (
            "plan",
            SPEC,
            "--evaluation",
            "--model-package",
            "arn:aws:sagemaker:us-east-1:123456789012:model/x",
            *OFFLINE,
        ),
    }
    for message, argv in cases.items():
        result = run(*argv)
        assert result.code == 2, (message, result.err)
        assert message in result.flat_err, result.err
        assert result.out == "" and "Traceback" not in result.err


def test_reward_scorer_needs_the_deployed_evaluator(run, tmp_path, sft_spec_dict) -> None:
    spec = {
        **sft_spec_dict,
        "technique": "rlvr",
        "reward": {"builtin": "exact_match"},
        "evaluation": {"dataset": "s3://demo-data/e.jsonl", "custom_scorer": {"reward": True}},
    }
    path = tmp_path / "rlvr.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = run("plan", str(path), "--evaluation", "--model-package", PACKAGE, *OFFLINE)
    assert result.code == 2 and "pass --outputs-file with EvaluatorArn" in result.flat_err


def _online(stubs, judges: object) -> None:
    sagemaker, s3, sts = stubs("sagemaker"), stubs("s3"), stubs("sts")
    package = json.loads((HERE / "model-package.json").read_text())
    sagemaker.add_response("describe_model_package", package, {"ModelPackageName": PACKAGE})
    hub = json.loads((HERE / "hub-content.json").read_text())
    sagemaker.add_response(
        "describe_hub_content",
        hub,
        {"HubName": "SageMakerPublicHub", "HubContentType": "Model", "HubContentName": MODEL},
    )
    sts.add_response(
        "get_caller_identity",
        {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/u", "UserId": "U"},
    )
    s3.add_response(
        "get_object",
        body(json.loads((HERE / "recipe-params.json").read_text())),
        {
            "Bucket": "jumpstart-cache-prod-us-east-1",
            "Key": f"recipes/{MODEL}/evaluation-override-params.json",
        },
    )
    where = {
        "Bucket": "jumpstart-cache-prod-us-east-1",
        "Key": "fmhMetadata/supported-llmaj-judge-models.json",
    }
    if judges is None:
        s3.add_client_error(
            "get_object", "NoSuchKey", "The specified key does not exist.", expected_params=where
        )
    else:
        s3.add_response(
            "get_object", body({"supported_judge_models": [{"model_id": m} for m in judges]}), where
        )


def test_online_looks_up_the_package_hub_recipe_and_judge_list(run, stubs, outputs_file) -> None:
    _online(stubs, [JUDGE])
    result = run(
        "plan",
        SPEC,
        "--evaluation",
        "--model-package",
        PACKAGE,
        "--outputs-file",
        outputs_file,
        "--execution-name",
        "nightly-2",
        "--region",
        "us-east-1",
    )
    printed = evaluation_jobs(result)
    assert len(printed) == 5
    assert printed[0]["RoleArn"] == OUTPUTS["FineTuning-support-sft"]["ExecutionRoleArn"]
    assert printed[0]["HyperParameters"]["max_new_tokens"] == "8192"
    assert printed[0]["ServerlessJobConfig"]["BaseModelArn"].endswith("/1.2.3")


def test_online_rejects_a_judge_outside_the_service_list(run, stubs, outputs_file) -> None:
    _online(stubs, ["amazon.nova-pro-v1:0"])
    result = run(
        "plan",
        SPEC,
        "--evaluation",
        "--model-package",
        PACKAGE,
        "--outputs-file",
        outputs_file,
        "--region",
        "us-east-1",
    )
    assert result.code == 2
    assert result.flat_err.startswith(
        f"PreflightError.InvalidJudgeModel (evaluation.judge.model_id): judge model '{JUDGE}' is not a supported"
    )


def test_online_without_the_judge_list_warns_and_plans(run, stubs, outputs_file) -> None:
    _online(stubs, None)
    result = run(
        "plan",
        SPEC,
        "--evaluation",
        "--model-package",
        PACKAGE,
        "--outputs-file",
        outputs_file,
        "--region",
        "us-east-1",
    )
    assert len(evaluation_jobs(result)) == 5
    assert "cannot read the service's judge allow-list" in result.flat_err


def test_online_unknown_package_is_a_named_error(run, stubs, outputs_file) -> None:
    stubs("s3"), stubs("sts")
    stubs("sagemaker").add_client_error(
        "describe_model_package", "ValidationException", "ModelPackage does not exist."
    )
    result = run(
        "plan",
        SPEC,
        "--evaluation",
        "--model-package",
        PACKAGE,
        "--outputs-file",
        outputs_file,
        "--region",
        "us-east-1",
    )
    assert result.code == 2
    assert result.flat_err.startswith("PreflightError.ModelPackageNotFound (modelPackageArn): model package")


def test_online_access_denied_is_an_aws_failure(run, stubs, outputs_file) -> None:
    stubs("s3"), stubs("sts")
    stubs("sagemaker").add_client_error("describe_model_package", "AccessDeniedException", "not authorized")
    result = run(
        "plan",
        SPEC,
        "--evaluation",
        "--model-package",
        PACKAGE,
        "--outputs-file",
        outputs_file,
        "--region",
        "us-east-1",
    )
    assert result.code == 1
    assert (
        result.flat_err
        == "PreflightError.AwsError: DescribeModelPackage failed: AccessDeniedException: not authorized"
    )


EVAL_ROWS = b'{"query": "2+2?", "response": "4"}\n' * 3


def test_the_lambda_sends_the_requests_plan_prints(run, stubs, outputs_file) -> None:
    """The same runtime code: on the same lookups, the evaluation Lambda's CreateTrainingJob calls are the plan."""
    _online(stubs, [JUDGE])
    argv = ["--model-package", PACKAGE, "--outputs-file", outputs_file, "--execution-name", "nightly-7"]
    printed = evaluation_jobs(run("plan", SPEC, "--evaluation", *argv, "--region", "us-east-1"))

    spec = load_spec(SPEC)
    config = plan_evaluation._config(spec, stack_outputs(load_outputs(outputs_file), spec))
    _online(stubs, [JUDGE])  # the Lambda's own lookups, answered alike
    s3, sagemaker = stubs("s3"), stubs("sagemaker")
    bucket, key = "support-data-123456789012", "eval/prompts.jsonl"
    s3.add_response(
        "list_objects_v2",
        {"Contents": [{"Key": key, "Size": len(EVAL_ROWS)}]},
        {"Bucket": bucket, "Prefix": key, "MaxKeys": 1000},
    )
    s3.add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(EVAL_ROWS), len(EVAL_ROWS))},
        {"Bucket": bucket, "Key": key, "Range": "bytes=0-1048575"},
    )
    waits = [r for r in printed if "inference_data_s3_path" in r["HyperParameters"]]  # the judge's metrics
    for request in printed:
        if request not in waits:
            arn = f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{request['TrainingJobName']}"
            sagemaker.add_response("create_training_job", {"TrainingJobArn": arn}, request)
    clients = preflight.Clients(sagemaker=sagemaker.client, s3=s3.client, sts=stubs("sts").client)
    event = {"action": "start", "executionName": "nightly-7", "modelPackageArn": PACKAGE}
    state = evaluation_step.run(config, event, clients)
    assert [job["request"] for job in state["jobs"] if job["status"] == "Pending"] == waits
    assert len(waits) == 1 and len(state["jobs"]) == len(printed) == 5
