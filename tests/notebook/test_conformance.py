"""The generated code, run against the real SageMaker SDK v3 offline, sends the training workflow's request.

Each case renders the script for a spec and the stack outputs, executes it unchanged with every botocore call
answered by :class:`FakeAws` (fabricated hub content and recipe specs, no network), and compares the
``CreateTrainingJob`` request the SDK sent with the one ``runtime/request.py`` builds for the same spec.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from cdk_sagemaker_finetuning.notebook import render_script
from cdk_sagemaker_finetuning.runtime import dataset_registry
from cdk_sagemaker_finetuning.runtime.hub_evaluator import ai_registry_hub_name
from cdk_sagemaker_finetuning.runtime.request import build_create_training_job_request
from cdk_sagemaker_finetuning.spec import FineTuningSpec
from cdk_sagemaker_finetuning.workflow_config import runtime_config
from tests.notebook.cases import (
    CASES,
    EVALUATOR_ARN,
    REWARD_LAMBDA_ARN,
    load_case,
    outputs_for,
    training_data,
)
from tests.notebook.evaluation_fake import EVALUATION_SCORES, EvaluationFakeAws
from tests.notebook.fake_aws import (
    ACCOUNT,
    REGION,
    FakeAws,
    describe_hub_content_response,
    override_spec,
)

#: Request members the SDK and the workflow must agree on (the job name differs by design).
COMPARED = (
    "RoleArn",
    "ServerlessJobConfig",
    "ModelPackageConfig",
    "HyperParameters",
    "InputDataConfig",
    "OutputDataConfig",
    "StoppingCondition",
    "Tags",
)


@functools.cache
def _telemetry_session(make: Callable[[], Any]) -> Any:
    """The SDK's telemetry builds a default ``Session`` (a boto3 session and its clients, ~0.1 s) for every
    decorated call made without one, only to read its telemetry opt-out and hand it to the sender (which the
    fake replaces): one session, made by the SDK's own ``make``, serves every call."""
    return make()


def run_generated(code: str, fake: FakeAws, monkeypatch: pytest.MonkeyPatch, workdir: Path) -> dict[str, Any]:
    """Execute generated code as ``python3 script.py`` would, with the fake AWS and no waiting."""
    from sagemaker.core.telemetry import telemetry_logging

    make = telemetry_logging._get_default_sagemaker_session
    monkeypatch.setattr(telemetry_logging, "_get_default_sagemaker_session", lambda: _telemetry_session(make))
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    monkeypatch.chdir(workdir)
    # The SDK's role check stays on unless the generated code turns it off; restore what the code sets.
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "true")
    monkeypatch.setenv("SAGEMAKER_HUB_NAME", "unset")
    monkeypatch.delenv("SAGEMAKER_HUB_NAME")
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(code, str(workdir / "generated.py"), "exec"), namespace)  # noqa: S102 - the code under test
    assert fake.unanswered == []
    return namespace


def fake_for(spec: FineTuningSpec, outputs: dict[str, dict[str, str]]) -> FakeAws:
    values = next(iter(outputs.values()))
    evaluators = {EVALUATOR_ARN: REWARD_LAMBDA_ARN} if spec.technique == "rlvr" else {}
    kwargs = {
        "models": (spec.hub_content_name,),
        "data": training_data(spec),
        "evaluators": evaluators,
        "groups": {values["ModelPackageGroupName"]},
    }
    if spec.evaluation:  # the generated evaluation cells run too: pipelines finish with results
        return EvaluationFakeAws(**kwargs, pipeline_status="Succeeded", scores=EVALUATION_SCORES)
    return FakeAws(**kwargs)


def workflow_request(
    spec: FineTuningSpec, outputs: dict[str, dict[str, str]], execution: dict[str, Any]
) -> dict[str, Any]:
    """The training workflow's request for the spec, from the same hub content and recipe spec."""
    values = next(iter(outputs.values()))
    config = runtime_config(
        spec,
        role_arn=values["ExecutionRoleArn"],
        model_package_group_arn=values["ModelPackageGroupArn"],
        output_uri=values["OutputUri"],
        train_uri=values["TrainUri"],
        validation_uri=values.get("ValidationUri"),
        evaluator_arn=values.get("EvaluatorArn") if spec.technique == "rlvr" else None,
        judge_prompt_evaluator_arn=values.get("EvaluatorArn") if spec.judge_prompt_path else None,
    )
    model = spec.hub_content_name
    request = build_create_training_job_request(
        config,
        describe_hub_content_response(model, spec.hub),
        override_spec(model, spec.technique.upper(), spec.training_type == "lora"),
        execution,
        account=ACCOUNT,
        region=REGION,
    )
    if spec.data.register_dataset:  # the preflight's registration, on the registry the generated code used
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        dataset_registry.train_from_dataset(
            sagemaker, config, request, region=REGION, account=ACCOUNT, field="data.train", dry_run=False
        )
    return request


def assert_same_job(sdk: dict[str, Any], workflow: dict[str, Any], spec: FineTuningSpec) -> None:
    for member in COMPARED:
        assert sdk.get(member) == workflow.get(member), member
    if spec.mlflow.resource_arn:
        assert sdk["MlflowConfig"] == workflow["MlflowConfig"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_code_sends_the_workflow_request(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_case(case, tmp_path)
    outputs = outputs_for(spec)
    fake = fake_for(spec, outputs).install(monkeypatch)

    namespace = run_generated(render_script(spec, outputs), fake, monkeypatch, tmp_path)

    [sdk] = fake.requests("CreateTrainingJob")
    assert_same_job(sdk, workflow_request(spec, outputs, {"name": "run-1", "input": None}), spec)
    serverless = sdk["ServerlessJobConfig"]
    assert serverless["CustomizationTechnique"] == spec.technique.upper()
    assert serverless["BaseModelArn"].split("/")[3] == spec.hub_content_name
    assert ("Peft" in serverless) == (spec.training_type == "lora")
    assert serverless.get("AcceptEula", False) == spec.hub_content_name.startswith("meta-")
    for name, value in spec.hyperparameters.items():
        assert sdk["HyperParameters"][name] == str(value)
    assert namespace["MODEL_PACKAGE_ARN"] == namespace["training_job"].output_model_package_arn


@pytest.mark.parametrize("case", ["lineage-sft", "lineage-rlvr"])
def test_lineage_registers_the_dataset_version_the_workflow_trains_from(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_case(case, tmp_path)
    outputs = outputs_for(spec)
    fake = fake_for(spec, outputs).install(monkeypatch)

    run_generated(render_script(spec, outputs), fake, monkeypatch, tmp_path)

    [imported] = fake.requests("ImportHubContent")  # the workflow reuses the SDK's version: same document
    assert imported["HubName"] == ai_registry_hub_name(REGION, ACCOUNT)  # the SDK's hub is the preflight's
    role = next(iter(outputs.values()))["ExecutionRoleArn"]
    assert imported == dataset_registry.import_request(
        hub=imported["HubName"],
        name=spec.dataset_name,
        version="2.0.0",  # the fake registry holds version 1.0.0 of every dataset name
        source=spec.data.train,
        role_arn=role,
        technique=spec.technique.upper(),
    )
    [sdk] = fake.requests("CreateTrainingJob")
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/{imported['HubName']}/DataSet/{spec.dataset_name}/2.0.0"
    assert sdk["InputDataConfig"][0] == {
        "ChannelName": "train",
        "DataSource": {"DatasetSource": {"DatasetArn": arn}},
    }
    assert_same_job(sdk, workflow_request(spec, outputs, {"name": "run-1", "input": None}), spec)
    assert len(fake.requests("ImportHubContent")) == 1


@pytest.mark.parametrize("case", ["sft-meta", "rlvr-deepseek"])
def test_next_round_trains_from_the_output_package(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_case(case, tmp_path)
    outputs = outputs_for(spec)
    fake = fake_for(spec, outputs)
    next_data = spec.data.train.replace(".jsonl", "-round-2.jsonl")
    fake.data[next_data] = fake.data[spec.data.train]
    fake.install(monkeypatch)
    code = render_script(spec, outputs)
    assert code.count('NEXT_ROUND_TRAIN_DATA = ""') == 1
    code = code.replace('NEXT_ROUND_TRAIN_DATA = ""', f'NEXT_ROUND_TRAIN_DATA = "{next_data}"')

    run_generated(code, fake, monkeypatch, tmp_path)

    first, second = fake.requests("CreateTrainingJob")
    package = next(iter(fake.model_packages))
    assert second["ModelPackageConfig"]["SourceModelPackageArn"] == package
    execution = {
        "name": "run-2",
        "input": {"trainUri": next_data, "baseModel": package},
        "sourceModelPackageArn": package,
    }
    assert_same_job(second, workflow_request(spec, outputs, execution), spec)
    assert second["ServerlessJobConfig"]["BaseModelArn"] == first["ServerlessJobConfig"]["BaseModelArn"]
    approved = {arn: "Approved" for arn in fake.model_packages} if spec.approval_status == "Approved" else {}
    assert fake.approvals == approved
    assert len(fake.model_packages) == 2


def test_placeholders_stop_the_code_before_any_aws_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = FineTuningSpec.from_dict(
        {**CASES["sft-meta"], "data": {"create_bucket": True, "train": "train.jsonl"}}
    )
    fake = FakeAws(models=(spec.hub_content_name,)).install(monkeypatch)

    with pytest.raises(RuntimeError, match="ROLE_ARN, TRAIN_DATA, S3_OUTPUT_PATH"):
        run_generated(render_script(spec), fake, monkeypatch, tmp_path)
    assert fake.calls == []


def fill_in(code: str, role: str, output: str = "s3://my-finetuning-output/output/") -> str:
    """The placeholder script with the stack's role and output location filled in by hand."""
    return code.replace('"<fill in: stack output ExecutionRoleArn>"', f'"{role}"').replace(
        '"<fill in: stack output OutputUri>"', f'"{output}"'
    )


def test_without_outputs_the_code_creates_the_group_and_writes_where_it_was_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_case("rlaif-builtin", tmp_path)
    fake = FakeAws(models=(spec.hub_content_name,), data=training_data(spec)).install(monkeypatch)
    role = f"arn:aws:iam::{ACCOUNT}:role/my-finetuning-role"
    code = fill_in(render_script(spec), role)

    run_generated(code, fake, monkeypatch, tmp_path)

    assert fake.requests("CreateModelPackageGroup") == [{"ModelPackageGroupName": "summary-rlaif"}]
    [sdk] = fake.requests("CreateTrainingJob")
    assert sdk["RoleArn"] == role
    assert sdk["OutputDataConfig"] == {"S3OutputPath": "s3://my-finetuning-output/output/"}
    assert sdk["ModelPackageConfig"]["ModelPackageGroupArn"].endswith(":model-package-group/summary-rlaif")
    assert sdk["HyperParameters"]["judge_model_id"] == "bedrock/openai.gpt-oss-120b-1:0"
    assert sdk["HyperParameters"]["judge_prompt_template"].endswith("/summarize.jinja")


def test_without_outputs_a_custom_judge_prompt_is_registered_and_passed_by_arn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_case("rlaif-custom", tmp_path)
    fake = FakeAws(models=(spec.hub_content_name,), data=training_data(spec)).install(monkeypatch)
    role = f"arn:aws:iam::{ACCOUNT}:role/my-finetuning-role"
    code = fill_in(render_script(spec), role)

    run_generated(code, fake, monkeypatch, tmp_path)  # from the spec's folder, where prompts/judge.jinja is

    [imported] = fake.requests("ImportHubContent")
    assert (imported["HubContentType"], imported["HubContentName"]) == ("JsonDoc", "voice-rlaif-judge")
    prompt_arn = next(iter(fake.evaluators))
    [sdk] = fake.requests("CreateTrainingJob")
    outputs = {"stack": {**outputs_for(spec)["FineTuning-voice-rlaif"], "EvaluatorArn": prompt_arn}}
    workflow = workflow_request(spec, outputs, {"name": "run-1", "input": None})
    assert sdk["ServerlessJobConfig"] == workflow["ServerlessJobConfig"]
    assert sdk["ServerlessJobConfig"]["EvaluatorArn"] == prompt_arn
    assert sdk["HyperParameters"] == workflow["HyperParameters"]
    assert "judge_prompt_template" not in sdk["HyperParameters"]


@pytest.mark.parametrize("validate_role", [False, True])
def test_the_sdk_role_check_runs_only_when_requested(
    validate_role: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_case("dpo-qwen-full", tmp_path)
    outputs = outputs_for(spec)
    fake = fake_for(spec, outputs).install(monkeypatch)

    run_generated(render_script(spec, outputs, validate_role=validate_role), fake, monkeypatch, tmp_path)

    simulated = fake.requests("SimulatePrincipalPolicy")
    assert bool(simulated) == validate_role
    if validate_role:
        role = outputs["FineTuning-tone-dpo"]["ExecutionRoleArn"]
        assert {request["PolicySourceArn"] for request in simulated} == {role}
        assert "ec2:CreateNetworkInterface" in {a for request in simulated for a in request["ActionNames"]}
