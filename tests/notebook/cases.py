"""Specs covering every technique template and the Meta, Nova and other model families, with their stack outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cdk_sagemaker_finetuning.spec import FineTuningSpec
from tests.notebook.fake_aws import ACCOUNT, REGION

EVALUATOR_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/AIRegistry/JsonDoc/demo-reward/1.0.0"
PROMPT_EVALUATOR_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/AIRegistry/JsonDoc/demo-judge/1.0.0"
REWARD_LAMBDA_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:SageMaker-demo-reward"
TRAIN_DATASET_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/AIRegistry/DataSet/demo-train/1.0.0"
JUDGE_PROMPT = (
    "Score the response to {{ prompt }}:\n{{ response }}\nReturn JSON with a score from 0.0 to 1.0.\n"
)

CASES: dict[str, dict[str, Any]] = {
    "sft-meta": {
        "name": "support-sft",
        "technique": "sft",
        "base_model": "meta-textgeneration-llama-3-2-1b-instruct",
        "accept_eula": True,
        "data": {
            "train": "s3://demo-data/sft/train.jsonl",
            "validation": "s3://demo-data/sft/validation.jsonl",
        },
        "hyperparameters": {"learning_rate": 0.0002, "max_epochs": 2},
        "max_runtime_hours": 12,
        "mlflow": {
            "resource_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/app-TEAM",
            "run_name": "run-1",
        },
        "tags": {"project": "support-assistant"},
    },
    "dpo-qwen-full": {
        "name": "tone-dpo",
        "technique": "dpo",
        "base_model": "huggingface-llm-qwen2-5-7b-instruct",
        "training_type": "full",
        "data": {"train": TRAIN_DATASET_ARN},
        "hyperparameters": {"adam_beta": 0.05, "global_batch_size": 32},
    },
    "rlvr-deepseek": {
        "name": "math-rlvr",
        "technique": "rlvr",
        "base_model": "deepseek-llm-r1-distill-qwen-7b",
        "data": {"train": "s3://demo-data/rlvr/train.jsonl"},
        "reward": {"builtin": "exact_match"},
        "hyperparameters": {"max_response_length": 1024},
        "approval_status": "Approved",
        "output": {"kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f0e0d0c-1111-2222-3333-444455556666"},
    },
    "rlvr-dataset-arn": {
        "name": "code-rlvr",
        "technique": "rlvr",
        "base_model": "huggingface-reasoning-qwen3-8b",
        "data": {"train": TRAIN_DATASET_ARN},
        "reward": {"evaluator_arn": EVALUATOR_ARN},
    },
    "rlvr-preset": {
        "name": "code-preset",
        "technique": "rlvr",
        "base_model": "huggingface-reasoning-qwen3-4b",
        "data": {"train": "s3://demo-data/rlvr/code.jsonl"},
        "hyperparameters": {"preset_reward_function": "prime_code"},
    },
    "rlaif-builtin": {
        "name": "summary-rlaif",
        "technique": "rlaif",
        "base_model": "openai-reasoning-gpt-oss-20b",
        "data": {"train": "s3://demo-data/rlaif/train.jsonl"},
        "rlaif": {"judge_model_id": "openai.gpt-oss-120b-1:0", "prompt": "Builtin.Summarize"},
        "sequence_length": "8K",
    },
    "rlaif-custom": {
        "name": "voice-rlaif",
        "technique": "rlaif",
        "base_model": "huggingface-reasoning-qwen3-8b",
        "data": {"train": "s3://demo-data/rlaif/voice.jsonl"},
        "rlaif": {"judge_model_id": "qwen.qwen3-32b-v1:0", "prompt": "prompts/judge.jinja"},
    },
    "sft-nova": {
        "name": "nova-sft",
        "technique": "sft",
        "base_model": "amazon.nova-lite-v1",
        "region": "us-east-1",
        "data": {"train": "s3://demo-data/nova/train.jsonl"},
        "hyperparameters": {"learning_rate": 2e-05},
    },
    "sft-private-hub": {
        "name": "hub-sft",
        "technique": "sft",
        "base_model": "huggingface-llm-qwen2-5-14b-instruct",
        "hub": "team-models",
        "data": {"train": "s3://demo-data/sft/hub.jsonl"},
    },
    "rlvr-nova": {
        "name": "nova-rlvr",
        "technique": "rlvr",
        "base_model": "nova-textgeneration-lite-v2",
        "data": {"train": "s3://demo-data/nova/rlvr.jsonl"},
        "reward": {"builtin": "exact_match"},
    },
    "eval-benchmarks-gate": {
        "name": "support-eval",
        "technique": "sft",
        "base_model": "meta-textgeneration-llama-3-2-1b-instruct",
        "accept_eula": True,
        "data": {"train": "s3://demo-data/sft/train.jsonl"},
        "mlflow": {"resource_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/app-TEAM"},
        "tags": {"project": "support-assistant"},
        "evaluation": {
            "benchmarks": ["mmlu", "gpqa"],
            "subtasks": {"mmlu": ["abstract_algebra", "anatomy"]},
            "gate": {"metric": "mmlu/accuracy", "min_delta": 0.01, "on_fail": "Rejected"},
        },
    },
    "eval-judge": {
        "name": "tone-judge",
        "technique": "dpo",
        "base_model": "huggingface-llm-qwen2-5-7b-instruct",
        "data": {"train": "s3://demo-data/dpo/train.jsonl"},
        "output": {"kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f0e0d0c-1111-2222-3333-444455556666"},
        "evaluation": {
            "dataset": "s3://demo-data/eval/prompts.jsonl",
            "judge": {
                "model_id": "anthropic.claude-3-5-haiku-20241022-v1:0",
                "metrics": ["Correctness", "Builtin.Helpfulness"],
            },
            "gate": {"metric": "judge/Correctness", "compare_to": "base"},
        },
    },
    "eval-custom-scorer": {
        "name": "math-scored",
        "technique": "rlvr",
        "base_model": "deepseek-llm-r1-distill-qwen-7b",
        "data": {"train": "s3://demo-data/rlvr/train.jsonl"},
        "reward": {"builtin": "exact_match"},
        "evaluation": {
            "dataset": "s3://demo-data/eval/math.jsonl",
            "benchmarks": ["math"],
            "custom_scorer": {"reward": True},
        },
    },
    "lineage-sft": {
        "name": "traced-sft",
        "technique": "sft",
        "base_model": "meta-textgeneration-llama-3-2-1b-instruct",
        "accept_eula": True,
        "data": {
            "train": "s3://demo-data/sft/round-1.jsonl",
            "validation": "s3://demo-data/sft/validation.jsonl",
            "register_dataset": True,
        },
    },
    "lineage-rlvr": {
        "name": "traced-rlvr",
        "technique": "rlvr",
        "base_model": "deepseek-llm-r1-distill-qwen-7b",
        "data": {
            "train": "s3://demo-data/rlvr/round-1.jsonl",
            "register_dataset": True,
            "dataset_name": "math-rounds",
        },
        "reward": {"builtin": "exact_match"},
    },
}

#: Training records in each technique's format (the SDK reads a few for its reward check and data sniffing).
RECORDS = {
    "sft": {"prompt": "What is 2+2?", "completion": "4"},
    "dpo": {"prompt": "Say hi", "chosen": "Hello!", "rejected": "hi"},
    "rlvr": {
        "data_source": "math",
        "prompt": [{"role": "user", "content": "2+2?"}],
        "ability": "math",
        "reward_model": {"ground_truth": "4", "style": "rule"},
    },
}
RECORDS["rlaif"] = RECORDS["rlvr"]


def load_case(name: str, base_dir: Path) -> FineTuningSpec:
    """The case's spec; a custom judge prompt file is written under ``base_dir``."""
    data = CASES[name]
    prompt = data.get("rlaif", {}).get("prompt", "")
    if prompt.endswith(".jinja"):
        (base_dir / prompt).parent.mkdir(parents=True, exist_ok=True)
        (base_dir / prompt).write_text(JUDGE_PROMPT)
    return FineTuningSpec.from_dict(data, base_dir=base_dir)


def outputs_for(spec: FineTuningSpec) -> dict[str, dict[str, str]]:
    """What ``cdk deploy --outputs-file`` would write for the spec's stack."""
    group = spec.model_package_group_name
    values = {
        "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/FineTuning-{spec.name}-TrainingRole",
        "ModelPackageGroupName": group,
        "ModelPackageGroupArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{group}",
        "TrainUri": spec.data.train,
        "OutputUri": f"s3://finetuning-{spec.name}-output/output/",
        "StateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:FineTuning-{spec.name}",
    }
    if spec.data.validation:
        values["ValidationUri"] = spec.data.validation
    if spec.reward and spec.reward.builtin:
        values["EvaluatorArn"] = EVALUATOR_ARN
    if spec.judge_prompt_path:
        values["EvaluatorArn"] = PROMPT_EVALUATOR_ARN
    return {f"FineTuning-{spec.name}": values}


def training_data(spec: FineTuningSpec) -> dict[str, bytes]:
    """Three records in the technique's format at every S3 data URI of the spec."""
    lines = "".join(json.dumps(RECORDS[spec.technique]) + "\n" for _ in range(3)).encode()
    uris = [spec.data.train, spec.data.validation]
    return {uri: lines for uri in uris if uri and uri.startswith("s3://")}
