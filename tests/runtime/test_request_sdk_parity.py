"""The request builder against the real SageMaker SDK v3 trainers, offline, for the same inputs.

Each case constructs the SDK trainer directly (``SFTTrainer``, ``DPOTrainer``, ``RLVRTrainer``,
``RLAIFTrainer``), runs ``train(wait=False)`` with every botocore call answered by the notebook tests'
:class:`FakeAws` (fabricated hub content and recipe specs; no network), and compares the ``CreateTrainingJob``
request member by member with ``build_create_training_job_request`` fed the same hub content and spec.
"""

from __future__ import annotations

import time

import botocore.session
import pytest
from botocore.validate import validate_parameters

from cdk_sagemaker_finetuning.runtime.request import build_create_training_job_request, job_name
from tests import workflow_data as wd
from tests.notebook.fake_aws import FakeAws, describe_hub_content_response, override_spec

SHAPE = (
    botocore.session.get_session()
    .get_service_model("sagemaker")
    .operation_model("CreateTrainingJob")
    .input_shape
)
MLFLOW = f"arn:aws:sagemaker:us-east-1:{wd.ACCOUNT}:mlflow-app/app-FAKE"
QWEN = "huggingface-reasoning-qwen3-06b"
TRAIN = "s3://demo-data/train.jsonl"
OUTPUT = "s3://demo-output/out/"

CASES = {
    "sft-llama-lora-mlflow": dict(
        technique="SFT",
        model=wd.LLAMA,
        lora=True,
        eula=True,
        hps={"learning_rate": 0.0002, "max_epochs": 3},
        mlflow=True,
        validation=wd.DATASET_ARN,
    ),
    "dpo-qwen-full": dict(technique="DPO", model=QWEN, lora=False, eula=False, hps={"adam_beta": 0.05}),
    "rlvr-llama-evaluator": dict(
        technique="RLVR", model=wd.LLAMA, lora=True, eula=True, hps={"kl_loss_coef": 0.01}
    ),
    "rlvr-qwen-preset": dict(
        technique="RLVR",
        model=QWEN,
        lora=True,
        eula=False,
        hps={"preset_reward_function": "prime_math"},
        preset=True,
    ),
    "rlaif-qwen-builtin": dict(technique="RLAIF", model=QWEN, lora=True, eula=False, hps={}),
    "sft-nova": dict(technique="SFT", model=wd.NOVA, lora=True, eula=False, hps={"warmup_steps": 20}),
    "rlvr-nova": dict(technique="RLVR", model=wd.NOVA, lora=True, eula=False, hps={}),
}


def sdk_request(case: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    from sagemaker.train import DPOTrainer, RLAIFTrainer, RLVRTrainer, SFTTrainer
    from sagemaker.train.common import TrainingType
    from sagemaker.train.configs import StoppingCondition

    fake = FakeAws(
        models=(case["model"],),
        data={TRAIN: wd.jsonl(wd.SFT_ROW)},
        evaluators={wd.EVALUATOR_ARN: f"arn:aws:lambda:us-east-1:{wd.ACCOUNT}:function:SageMaker-reward"},
        groups={wd.GROUP_NAME},
    ).install(monkeypatch)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    kwargs = dict(
        model=case["model"],
        training_type=TrainingType.LORA if case["lora"] else TrainingType.FULL,
        model_package_group=wd.GROUP_ARN,
        training_dataset=TRAIN,
        s3_output_path=OUTPUT,
        role=wd.ROLE_ARN,
        hyperparameters=dict(case["hps"]),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=43200),
        tags=[{"key": "team", "value": "ml"}],
    )
    if case["eula"]:
        kwargs["accept_eula"] = True
    if case.get("validation"):
        kwargs["validation_dataset"] = case["validation"]
    if case.get("mlflow"):
        kwargs.update(mlflow_resource_arn=MLFLOW, mlflow_experiment_name="demo", mlflow_run_name="r1")
    technique = case["technique"]
    if technique == "RLVR" and not case.get("preset"):
        kwargs.update(custom_reward_function=wd.EVALUATOR_ARN, skip_reward_validation=True)
    if technique == "RLAIF":
        kwargs.update(reward_model_id="openai.gpt-oss-120b-1:0", reward_prompt="Builtin.Faithfulness")
    trainer = {"SFT": SFTTrainer, "DPO": DPOTrainer, "RLVR": RLVRTrainer, "RLAIF": RLAIFTrainer}[technique]
    trainer(**kwargs).train(wait=False)
    [request] = fake.requests("CreateTrainingJob")
    return request


def our_request(case: dict) -> dict:
    technique = case["technique"]
    config = wd.config(
        technique,
        case["model"],
        trainingType="LORA" if case["lora"] else "FULL",
        acceptEula=case["eula"],
        trainUri=TRAIN,
        validationUri=case.get("validation"),
        outputUri=OUTPUT,
        hyperparameters=dict(case["hps"]),
        maxRuntimeSeconds=43200,
        tags={"team": "ml"},
        mlflow={"resourceArn": MLFLOW, "experimentName": "demo", "runName": "r1"}
        if case.get("mlflow")
        else None,
        evaluatorArn=None if case.get("preset") else (wd.EVALUATOR_ARN if technique == "RLVR" else None),
        judgePrompt="Builtin.Faithfulness" if technique == "RLAIF" else None,
    )
    return build_create_training_job_request(
        config,
        describe_hub_content_response(case["model"]),
        override_spec(case["model"], technique, case["lora"]),
        {"name": "run-1", "input": None},
        account=wd.ACCOUNT,
        region=wd.REGION,
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_request_as_the_sdk_trainer(name, monkeypatch):
    case = CASES[name]
    sdk = sdk_request(case, monkeypatch)
    ours = our_request(case)
    validate_parameters(ours, SHAPE)
    if not case.get("mlflow"):
        # the one intended difference: without an MLflow ARN the SDK adopts the account's first MLflow app;
        # the workflow sends MlflowConfig only when the spec names one (the SDK picks an MLflow app otherwise)
        assert sdk.pop("MlflowConfig") == {"MlflowResourceArn": MLFLOW}
        assert "MlflowConfig" not in ours
    assert set(sdk) == set(ours)
    for member in sorted(set(sdk) - {"TrainingJobName"}):
        assert ours[member] == sdk[member], member
    assert ours["TrainingJobName"] == job_name("demo", "run-1")
    assert "AlgorithmSpecification" not in ours and "ResourceConfig" not in ours
