"""Fabricated hub content, recipe specs and workflow configs shared by the workflow tests (no AWS)."""

from __future__ import annotations

import copy
import json
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/FinetuneExec"
GROUP_NAME = "demo"
GROUP_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{GROUP_NAME}"
EVALUATOR_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/MYHUB/JsonDoc/my-reward/1.0.0"
REWARD_LAMBDA_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:SageMaker-reward-demo"
PROMPT_EVALUATOR_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/MYHUB/JsonDoc/my-judge/2.0.0"
DATASET_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/MYHUB/DataSet/my-ds/1.0.0"
LLAMA = "meta-textgeneration-llama-3-2-1b-instruct"
QWEN = "huggingface-reasoning-qwen3-06b"
NOVA = "nova-textgeneration-lite-v2"
RECIPE_BUCKET = "jumpstart-cache-prod-us-east-1"
PUBLIC_MODEL_ARN = f"arn:aws:sagemaker:{REGION}:aws:hub-content/SageMakerPublicHub/Model"
PROMPT_DIR = "/opt/ml/code/verl/prompts"

_COMMON = {
    "data_path": {"default": "/opt/ml/input/data/train", "type": "string"},
    "output_path": {"default": "/opt/ml/output", "type": "string"},
}
OSS_SPECS: dict[str, dict[str, Any]] = {
    "SFT": {
        "learning_rate": {"default": 0.0001, "type": "float", "min": 1e-06, "max": 0.001},
        "global_batch_size": {"default": 64, "type": "integer", "min": 1, "max": 1024},
        "max_epochs": {"default": 2, "type": "integer", "min": 1, "max": 10},
        "lr_warmup_steps_ratio": {"default": 0.1, "type": "float", "min": 0.0, "max": 1.0},
        "dataset_max_len": {"default": 4096, "type": "integer", "min": 128, "max": 32768},
        **_COMMON,
    },
    "DPO": {
        "learning_rate": {"default": 5e-05, "type": "float", "min": 1e-06, "max": 0.001},
        "global_batch_size": {"default": 32, "type": "integer", "min": 1, "max": 1024},
        "max_epochs": {"default": 1, "type": "integer", "min": 1, "max": 10},
        "adam_beta": {"default": 0.1, "type": "float", "min": 0.001, "max": 1.0},
        **_COMMON,
    },
    "RLVR": {
        "learning_rate": {"default": 1e-06, "type": "float", "min": 1e-07, "max": 0.0001},
        "use_kl_loss": {"default": True, "type": "boolean"},
        "kl_loss_coef": {"default": 0.001, "type": "float", "min": 0.0, "max": 1.0},
        "max_prompt_length": {"default": 1024, "type": "integer", "min": 64, "max": 8192},
        "max_response_length": {"default": 2048, "type": "integer", "min": 64, "max": 8192},
        "preset_reward_function": {"default": None, "type": "string", "enum": ["prime_code", "prime_math"]},
        "reward_lambda_arn": {"default": "", "type": "string"},
        **_COMMON,
    },
    "RLAIF": {
        "learning_rate": {"default": 1e-06, "type": "float", "min": 1e-07, "max": 0.0001},
        "max_prompt_length": {"default": 1024, "type": "integer", "min": 64, "max": 8192},
        "max_response_length": {"default": 2048, "type": "integer", "min": 64, "max": 8192},
        "judge_model_id": {"default": "bedrock/openai.gpt-oss-20b-1:0", "type": "string"},
        "judge_prompt_template": {
            "default": f"{PROMPT_DIR}/summarize.jinja",
            "type": "string",
            "enum": [f"{PROMPT_DIR}/summarize.jinja", f"{PROMPT_DIR}/faithfulness.jinja"],
        },
        **_COMMON,
    },
}
NOVA_SPECS: dict[str, dict[str, Any]] = {
    technique: {
        "batch_size": {"default": 32, "type": "integer", "min": 1, "max": 256},
        "learning_rate_ratio": {"default": 0.1, "type": "float", "min": 0.0, "max": 1.0},
        "lora_alpha": {"default": 32, "type": "integer", "min": 1, "max": 512},
        "max_steps": {"default": 100, "type": "integer", "min": 1, "max": 10000},
        "reasoning_enabled": {"default": False, "type": "boolean"},
        **({"reward_lambda_arn": {"default": "", "type": "string"}} if technique == "RLVR" else {}),
    }
    for technique in ("SFT", "DPO", "RLVR")
}


def spec_key(model: str, technique: str, lora: bool = True) -> str:
    return f"recipes/{model}/{technique.lower()}-{'lora' if lora else 'full'}-override-params.json"


def recipe(
    model: str, technique: str, *, lora: bool = True, sequence: str | None = "8K", **extra: Any
) -> dict:
    entry = {
        "Name": f"{model}-{technique.lower()}-{'lora' if lora else 'full'}",
        "CustomizationTechnique": technique,
        "Type": "FineTuning",
        "Peft": "LORA" if lora else None,
        "SmtjRecipeTemplateS3Uri": f"s3://{RECIPE_BUCKET}/recipes/{model}/{technique.lower()}.yaml",
        "SmtjOverrideParamsS3Uri": f"s3://{RECIPE_BUCKET}/{spec_key(model, technique, lora)}",
        "SmtjImageUri": "123.dkr.ecr.us-east-1.amazonaws.com/llmft:latest",
    }
    if sequence:
        entry["SequenceLength"] = sequence
    entry.update(extra)
    return entry


def hub_content(
    model: str = LLAMA,
    *,
    techniques: tuple[str, ...] = ("SFT", "DPO", "RLVR", "RLAIF"),
    gated: bool | None = None,
    version: str = "1.2.3",
    recipes: list[dict] | None = None,
) -> dict[str, Any]:
    """A DescribeHubContent answer for a public-hub model."""
    if recipes is None:
        recipes = [recipe(model, t, lora=lora) for t in techniques for lora in (True, False)]
    document = {
        "RecipeCollection": recipes,
        "GatedBucket": model.startswith("meta-") if gated is None else gated,
        "TrainingArtifactUri": f"s3://{RECIPE_BUCKET}/models/{model}/",
    }
    return {
        "HubContentName": model,
        "HubContentArn": f"{PUBLIC_MODEL_ARN}/{model}/{version}",
        "HubContentVersion": version,
        "HubContentType": "Model",
        "DocumentSchemaVersion": "2.0.0",
        "HubName": "SageMakerPublicHub",
        "HubContentDocument": json.dumps(document),
        "HubContentSearchKeywords": ["@capability:customization"],
        "HubContentStatus": "Available",
    }


def override_spec(model: str, technique: str) -> dict[str, Any]:
    specs = NOVA_SPECS if "nova" in model else OSS_SPECS
    return copy.deepcopy(specs[technique])


def config(technique: str = "SFT", model: str = LLAMA, **changes: Any) -> dict[str, Any]:
    """A workflow configuration as ``workflow_config.runtime_config`` makes it."""
    base = {
        "version": 1,
        "projectName": "demo",
        "jobNamePrefix": "demo",
        "technique": technique,
        "trainingType": "LORA",
        "hubName": "SageMakerPublicHub",
        "baseModel": model,
        "baseModelVersion": None,
        "acceptEula": model.startswith("meta-"),
        "roleArn": ROLE_ARN,
        "modelPackageGroupName": GROUP_NAME,
        "modelPackageGroupArn": GROUP_ARN,
        "trainUri": "s3://demo-data/train.jsonl",
        "validationUri": None,
        "outputUri": "s3://demo-output/out/",
        "kmsKeyId": None,
        "hyperparameters": {},
        "hyperparameterMode": "defaults",
        "sequenceLength": None,
        "maxRuntimeSeconds": 86400,
        "mlflow": None,
        "tags": {},
        "evaluatorArn": EVALUATOR_ARN if technique == "RLVR" else None,
        "judgeModelId": "openai.gpt-oss-120b-1:0" if technique == "RLAIF" else None,
        "judgePrompt": "Builtin.Summarize" if technique == "RLAIF" else None,
        "judgePromptEvaluatorArn": None,
        "rewardLambdaArn": None,
        "checkData": True,
        "approvedOnly": False,
        "allowConcurrentRuns": False,
        "approvalStatus": "PendingManualApproval",
    }
    base.update(changes)
    return base


#: First records of a valid dataset per technique and model family.
SFT_ROW = {"prompt": "What is 2+2?", "completion": "4"}
DPO_ROW = {"prompt": "Say hi", "chosen": "Hello!", "rejected": "Go away."}
VERL_ROW = {
    "data_source": "math",
    "prompt": [{"role": "user", "content": "2+2?"}],
    "ability": "math",
    "reward_model": {"ground_truth": "4", "style": "rule"},
}
NOVA_SFT_ROW = {
    "schemaVersion": "bedrock-conversation-2024",
    "system": [{"text": "Be brief."}],
    "messages": [
        {"role": "user", "content": [{"text": "2+2?"}]},
        {"role": "assistant", "content": [{"text": "4"}]},
    ],
}
NOVA_RLVR_ROW = {"messages": [{"role": "user", "content": "2+2?"}], "reference_answer": {"answer": "4"}}
ROWS = {"SFT": SFT_ROW, "DPO": DPO_ROW, "RLVR": VERL_ROW, "RLAIF": VERL_ROW}


def jsonl(*rows: dict, count: int = 3) -> bytes:
    rows = rows or (SFT_ROW,)
    return b"".join((json.dumps(rows[i % len(rows)]) + "\n").encode() for i in range(max(count, len(rows))))
