#!/usr/bin/env python3
"""CloudFormation resources, outputs and template bytes per FineTuningProject, by technique and feature.

For each variant: the stack holding that project alone, and what one more project of the same kind adds
(shared pieces such as the access-log bucket, the evaluator provider and the bucket-notification handler exist
once per stack). The last column is how many such projects fit in one stack under CloudFormation's quotas
(500 resources, 200 outputs, 200 parameters, 1,000,000 template bytes).

Run: ``.venv/bin/python benchmarks/resources_per_project.py``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from cdk_sagemaker_finetuning import jsii_env

jsii_env.configure()  # before aws_cdk starts jsii: the wheel's Node, no end-of-life banner

import aws_cdk as cdk  # noqa: E402

from cdk_sagemaker_finetuning.constructs.limits import COUNTED, TEMPLATE_BYTES  # noqa: E402
from cdk_sagemaker_finetuning.constructs.project import FineTuningProject  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SFT = {
    "technique": "sft",
    "base_model": "meta-textgeneration-llama-3-2-1b-instruct",
    "accept_eula": True,
    "data": {"train": "s3://demo-data/train.jsonl"},
}
OWN_DATA = {"data": {"create_bucket": True, "train": "train/train.jsonl"}}
QWEN = "huggingface-reasoning-qwen3-8b"
VARIANTS = {
    "SFT minimal (external data)": SFT,
    "SFT, stack-created data bucket": {**SFT, **OWN_DATA},
    "DPO": {**SFT, "technique": "dpo", "base_model": QWEN, "accept_eula": False},
    "RLVR built-in reward": {
        **SFT,
        "technique": "rlvr",
        "base_model": QWEN,
        "accept_eula": False,
        "reward": {"builtin": "numeric_answer"},
    },
    "RLVR custom reward code": {
        **SFT,
        "technique": "rlvr",
        "base_model": QWEN,
        "accept_eula": False,
        "reward": {"code": "rewards/keyword_reward.py"},
    },
    "RLAIF built-in prompt": {
        **SFT,
        "technique": "rlaif",
        "base_model": QWEN,
        "accept_eula": False,
        "rlaif": {"judge_model_id": "qwen.qwen3-32b-v1:0", "prompt": "Builtin.Summarize"},
    },
    "RLAIF custom prompt": {
        **SFT,
        "technique": "rlaif",
        "base_model": QWEN,
        "accept_eula": False,
        "rlaif": {"judge_model_id": "qwen.qwen3-32b-v1:0", "prompt": "prompts/helpfulness.jinja"},
    },
    "SFT + retraining triggers (new data, schedule)": {
        **SFT,
        **OWN_DATA,
        "retraining": {"on_new_data": {"prefix": "incoming/"}, "schedule": "rate(7 days)"},
    },
    "SFT + retraining pipeline (manual approval)": {
        **SFT,
        **OWN_DATA,
        "retraining": {"pipeline": {"manual_approval": True}},
    },
    "SFT + notifications": {**SFT, "notifications": {"emails": ["ml@example.com"]}},
}


def measure(*specs: dict) -> dict[str, int]:
    """Resources, outputs, parameters and template bytes of one stack holding a project per spec."""
    with tempfile.TemporaryDirectory() as outdir:
        app = cdk.App(outdir=outdir)
        stack = cdk.Stack(app, "Measure")
        for index, spec in enumerate(specs):
            FineTuningProject(stack, f"P{index}", name=f"project-{index}", spec_base_dir=EXAMPLES, **spec)
        app.synth()
        path = Path(outdir) / stack.template_file
        template = json.loads(path.read_text())
        counts = {what: len(template.get(what.title(), {})) for what, _, _ in COUNTED}
        return {**counts, "bytes": path.stat().st_size}


def main() -> None:
    header = ("Project", "Alone: resources", "outputs", "KB", "Added: resources", "KB", "Per stack")
    rows = []
    for label, spec in VARIANTS.items():
        alone = measure(spec)
        added = {key: value - alone[key] for key, value in measure(spec, spec).items()}
        quotas = [(what, quota) for what, _, quota in COUNTED] + [("bytes", TEMPLATE_BYTES)]
        fits = min(1 + (quota - alone[what]) // added[what] for what, quota in quotas if added[what])
        rows.append(
            (
                label,
                str(alone["resources"]),
                str(alone["outputs"]),
                f"{alone['bytes'] / 1000:.1f}",
                str(added["resources"]),
                f"{added['bytes'] / 1000:.1f}",
                str(fits),
            )
        )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
