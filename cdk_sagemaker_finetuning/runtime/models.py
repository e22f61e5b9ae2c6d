"""Facts about SageMaker Hub base models, techniques, judges and regions, kept as data.

Sources: `Model customization <https://docs.aws.amazon.com/sagemaker/latest/dg/customizing-models.html>`_ and
`CreateTrainingJob <https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html>`_.
Several of these lists are unconfirmed by AWS; every consumer takes them as overridable defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PUBLIC_HUB = "SageMakerPublicHub"
TECHNIQUES = ("sft", "dpo", "rlvr", "rlaif")
TRAINING_TYPES = ("lora", "full")

#: API rule for hub, hub content, model package group and training job names.
RESOURCE_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

#: Bedrock aliases the SDK translates to hub content names.
NOVA_ALIASES = {
    "amazon.nova-2-lite-v1": "nova-textgeneration-lite-v2",
    "amazon.nova-lite-v1": "nova-textgeneration-lite",
    "amazon.nova-pro-v1": "nova-textgeneration-pro",
    "amazon.nova-micro-v1": "nova-textgeneration-micro",
}

#: Regions where the SDK allows serverless customization, per model family (unconfirmed service-side).
OPEN_WEIGHT_REGIONS = ("us-east-1", "us-west-2", "ap-northeast-1", "eu-west-1")
NOVA_REGIONS = ("us-east-1", "us-west-2")

#: RLAIF judge model ids and the regions they are allowed in.
JUDGE_MODEL_REGIONS: dict[str, tuple[str, ...]] = {
    "openai.gpt-oss-120b-1:0": OPEN_WEIGHT_REGIONS,
    "openai.gpt-oss-20b-1:0": OPEN_WEIGHT_REGIONS,
    "qwen.qwen3-32b-v1:0": OPEN_WEIGHT_REGIONS,
    "qwen.qwen3-coder-30b-a3b-v1:0": OPEN_WEIGHT_REGIONS,
    "qwen.qwen3-coder-480b-a35b-v1:0": ("us-west-2", "ap-northeast-1"),
    "qwen.qwen3-235b-a22b-2507-v1:0": ("us-west-2", "ap-northeast-1"),
}

#: Built-in RLAIF judge prompts (need no evaluator); unconfirmed per model.
BUILTIN_JUDGE_PROMPTS = (
    "Builtin.Summarize",
    "Builtin.Faithfulness",
    "Builtin.ChainOfThought",
    "Builtin.Evaluation",
)

#: Hyperparameters Nova recipes do not have.
NOVA_FORBIDDEN_HYPERPARAMETERS = ("max_epochs", "lr_warmup_steps_ratio")

#: Hyperparameters the service fills itself; never sent.
SERVICE_FILLED_HYPERPARAMETERS = (
    "data_path",
    "output_path",
    "data_s3_path",
    "output_s3_path",
    "training_data_name",
    "validation_data_name",
    "validation_data_path",
)


@dataclass(frozen=True)
class License:
    """A base model's license as shown to users."""

    name: str
    url: str


_HF = "https://huggingface.co"
#: (hub id pattern, license, license URL; ``{size}`` is the matched size in the upstream spelling)
_LICENSE_TABLE = (
    (
        r"huggingface-reasoning-qwen3-(32b|14b|8b|4b|1-7b|06b)",
        "Apache 2.0",
        f"{_HF}/Qwen/Qwen3-{{size}}/blob/main/LICENSE",
    ),
    (
        r"huggingface-llm-qwen2-5-72b-instruct",
        "Qwen License Agreement",
        f"{_HF}/Qwen/Qwen2.5-72B-Instruct/blob/main/LICENSE",
    ),
    (
        r"huggingface-llm-qwen2-5-(32b|14b|7b)-instruct",
        "Apache 2.0",
        f"{_HF}/Qwen/Qwen2.5-{{size}}-Instruct/blob/main/LICENSE",
    ),
    (
        r"deepseek-llm-r1-distill-(llama-70b|qwen-32b|qwen-14b|llama-8b|qwen-7b|qwen-1-5b)",
        "MIT",
        f"{_HF}/deepseek-ai/DeepSeek-R1-Distill-{{size}}/blob/main/LICENSE",
    ),
    (
        r"openai-reasoning-gpt-oss-(120b|20b)",
        "Apache 2.0 + usage policy",
        f"{_HF}/openai/gpt-oss-{{size}}/blob/main/LICENSE",
    ),
    (
        r"meta-textgeneration-llama-3-3-70b-instruct",
        "Llama 3.3 Community",
        f"{_HF}/meta-llama/Llama-3.3-70B-Instruct/blob/main/LICENSE",
    ),
    (
        r"meta-textgeneration-llama-3-2-(3b|1b)-instruct",
        "Llama 3.2 Community",
        f"{_HF}/meta-llama/Llama-3.2-{{size}}-Instruct/blob/main/LICENSE.txt",
    ),
    (
        r"meta-textgeneration-llama-3-1-8b-instruct",
        "Llama 3.1 Community",
        f"{_HF}/meta-llama/Llama-3.1-8B-Instruct/blob/main/LICENSE",
    ),
    (
        r"meta-vlm-llama-4-scout-17b-16e-instruct",
        "Llama 4 Community",
        f"{_HF}/meta-llama/Llama-4-Scout-17B-16E-Instruct/blob/main/LICENSE",
    ),
    (
        r"nova-textgeneration-(pro|micro|lite|lite-v2)",
        "AWS Service Terms",
        "https://aws.amazon.com/service-terms/",
    ),
    (
        r"huggingface-reasoning-nvidia-nemotron-3-nano-30b-a3b-bf16",
        "NVIDIA Open Model License",
        f"{_HF}/nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16/blob/main/LICENSE",
    ),
    (
        r"huggingface-vlm-qwen3-(6-27b|5-27b|5-9b|5-4b)",
        "Apache 2.0",
        f"{_HF}/Qwen/Qwen3-VL-{{size}}/blob/main/LICENSE",
    ),
    (
        r"huggingface-vlm-gemma-4-31b-it",
        "Gemma Terms of Use",
        f"{_HF}/google/gemma-4-31b-it/blob/main/LICENSE",
    ),
)
_LICENSES = [(re.compile(f"^{pattern}$"), License(name, url)) for pattern, name, url in _LICENSE_TABLE]


def _size_label(model_id: str, size: str) -> str:
    """Turn a hub id fragment (``1b``, ``1-7b``, ``llama-70b``) into the upstream repository spelling."""
    if model_id.startswith("deepseek"):
        family, _, rest = size.partition("-")
        return f"{family.capitalize()}-{rest.replace('-', '.').upper()}"
    if model_id.startswith("openai-"):
        return size
    if model_id.startswith("huggingface-vlm-qwen3"):
        return size.split("-", 1)[1].upper()
    if model_id.startswith("huggingface-reasoning-qwen3") and size == "06b":
        return "0.6B"
    return size.replace("-", ".").upper()


def license_for(model_id: str) -> License | None:
    """The license of a hub model id, or None when the id is not in the table."""
    for pattern, lic in _LICENSES:
        match = pattern.match(model_id)
        if match:
            size = match.group(1) if match.groups() else ""
            return License(lic.name, lic.url.replace("{size}", _size_label(model_id, size)))
    return None


def hub_content_name(model_id: str) -> str:
    """The hub content name for a model id, translating Nova Bedrock aliases."""
    return NOVA_ALIASES.get(model_id, model_id)


def is_nova(model_id: str) -> bool:
    """Any name containing ``nova`` is treated as Nova (as the SDK does)."""
    return "nova" in hub_content_name(model_id)


def is_gated(model_id: str) -> bool:
    """Synth-time EULA gate: ``meta-`` ids need ``accept_eula``; ``GatedBucket`` is the run-time truth."""
    return hub_content_name(model_id).startswith("meta-")


def allowed_regions(model_id: str) -> tuple[str, ...]:
    """Regions where serverless customization of this model family is offered."""
    return NOVA_REGIONS if is_nova(model_id) else OPEN_WEIGHT_REGIONS


def normalize_judge_prompt(name: str) -> str:
    """Normalize a built-in judge prompt name: strip ``Builtin.``, directories and ``.jinja``; lower-case."""
    base = name.removeprefix("Builtin.").rsplit("/", 1)[-1].removesuffix(".jinja")
    return base.lower()


#: Model families with serverless recipes: (substring of the hub content name, family label), first match wins.
MODEL_FAMILIES = (
    ("deepseek", "DeepSeek"),
    ("nova-", "Amazon Nova"),
    ("meta-", "Meta Llama"),
    ("gpt-oss", "OpenAI gpt-oss"),
    ("nemotron", "NVIDIA Nemotron"),
    ("gemma", "Google Gemma"),
    ("qwen", "Qwen"),
    ("mistral", "Mistral"),
)


def model_family(model_id: str) -> str | None:
    """The family label of a model id (``Qwen``), or None for a model outside the known families."""
    name = hub_content_name(model_id)
    return next((label for key, label in MODEL_FAMILIES if key in name), None)


#: Outer bounds of well-known hyperparameters, in the recipe spec's format plus an ``example``. Every recipe's
#: own range lies inside these (the preflight checks the recipe's range at run time); they only catch values
#: no recipe accepts, such as ``max_epochs: 10**40``, before deployment. Unconfirmed per model.
HYPERPARAMETER_BOUNDS: dict[str, dict[str, object]] = {
    "learning_rate": {"type": "float", "min": 1e-10, "max": 1, "example": 0.0001},
    "min_lr": {"type": "float", "min": 0, "max": 1, "example": 1e-06},
    "max_epochs": {"type": "integer", "min": 1, "max": 100, "example": 2},
    "num_epochs": {"type": "integer", "min": 1, "max": 100, "example": 2},
    "global_batch_size": {"type": "integer", "min": 1, "max": 4096, "example": 64},
    "batch_size": {"type": "integer", "min": 1, "max": 4096, "example": 64},
    "lora_rank": {"type": "integer", "min": 1, "max": 1024, "example": 16},
    "lora_alpha": {"type": "float", "min": 1, "max": 4096, "example": 32},
    "lora_dropout": {"type": "float", "min": 0, "max": 1, "example": 0.05},
    "lr_warmup_steps_ratio": {"type": "float", "min": 0, "max": 1, "example": 0.1},
    "weight_decay": {"type": "float", "min": 0, "max": 1, "example": 0.01},
    "clip_ratio": {"type": "float", "min": 0, "max": 1, "example": 0.2},
    "adam_beta": {"type": "float", "min": 0, "max": 10, "example": 0.1},
    "kl_loss_coef": {"type": "float", "min": 0, "max": 10, "example": 0.001},
    "dataset_max_len": {"type": "integer", "min": 1, "max": 1048576, "example": 8192},
    "max_prompt_length": {"type": "integer", "min": 1, "max": 1048576, "example": 1024},
    "max_response_length": {"type": "integer", "min": 1, "max": 1048576, "example": 2048},
    "max_context_length": {"type": "integer", "min": 1, "max": 1048576, "example": 8192},
}
