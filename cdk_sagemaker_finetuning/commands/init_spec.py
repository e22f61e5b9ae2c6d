"""``cdk-finetune init``: write a starter spec (validated) and, for RLVR, a reward module stub with tests.

Missing choices are asked on a terminal; otherwise they must be given as flags. No AWS calls: check the
model with ``cdk-finetune techniques MODEL`` and the data with ``cdk-finetune data check``.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ..runtime import models
from ..spec import SLUG_RE, FineTuningSpec
from . import _aws, _term

DEFAULT_JUDGE = "openai.gpt-oss-120b-1:0"
DEFAULT_JUDGE_PROMPT = "Builtin.Summarize"
REWARD_FILE, REWARD_TEST_FILE = "reward.py", "test_reward.py"

REWARD_STUB = '''"""Reward function for {name} (RLVR): scores one sample, higher is better, in [-1, 1].

A sample is a training row plus the generated response: open-weight rows carry the reference in
reward_model.ground_truth, Nova rows in reference_answer; the response is a "response" field or the last
assistant message. Replace the example scoring below with your verification plan. Keep at least two
anti-gaming checks and partial credit, so that rewards are not flat (almost always 0 teaches nothing).
Run the tests with: python -m pytest {test_file}
"""

from __future__ import annotations

import re
from typing import Any

ASSISTANT_ROLES = ("assistant", "nova_assistant")


def text_of(content: Any) -> str:
    """Message content as text (a string, a list of {{"text": ...}} blocks, or a dict)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(text_of(part) for part in content)
    if isinstance(content, dict):
        return text_of(content.get("text", content.get("content", "")))
    return "" if content is None else str(content)


def response_of(sample: dict) -> str:
    if "response" in sample:
        return text_of(sample["response"])
    for message in reversed(sample.get("messages") or sample.get("prompt") or []):
        if isinstance(message, dict) and message.get("role") in ASSISTANT_ROLES:
            return text_of(message.get("content"))
    return ""


def reference_of(sample: dict) -> str:
    reference = (sample.get("reward_model") or {{}}).get("ground_truth", sample.get("reference_answer"))
    if isinstance(reference, dict):
        reference = next(iter(reference.values()), "")
    return text_of(reference)


def normalize(text: str) -> str:
    return re.sub(r"[^a-z0-9.\\-]+", " ", text.lower()).strip()


def reward(sample: dict) -> float:
    """Example: exact final answer 1.0, answer present -> 0.3, otherwise -0.5; gaming -> -1.0."""
    response, reference = response_of(sample).strip(), normalize(reference_of(sample))
    if not response:
        return -1.0
    words = response.split()
    if len(words) >= 20 and len(set(words)) < len(words) / 4:  # anti-gaming: repetition / padding
        return -1.0
    if len(response) > 4000:  # anti-gaming: overlong answers
        return -1.0
    final = normalize(response.splitlines()[-1])
    if reference and (final == reference or final.endswith(" " + reference)):
        return 1.0
    if reference and reference in normalize(response):
        return 0.3
    return -0.5
'''

REWARD_TEST = '''"""Tests for reward.py: range and ordering on an excellent, a partial, a bad and a gaming response."""

from reward import reward


def sample(response: str) -> dict:
    return {{
        "prompt": [{{"role": "user", "content": "What is 6 * 7? End with the answer."}}],
        "reward_model": {{"ground_truth": "42", "style": "rule"}},
        "response": response,
    }}


EXCELLENT = sample("6 * 7 = 42\\nThe answer is 42")
PARTIAL = sample("It is 42, or maybe 41\\nI am not sure")
BAD = sample("The answer is 13")
GAMING = sample("42 " * 200)


def test_scores_are_in_range() -> None:
    for case in (EXCELLENT, PARTIAL, BAD, GAMING, sample("")):
        assert -1.0 <= reward(case) <= 1.0


def test_ordering() -> None:
    assert reward(EXCELLENT) > reward(PARTIAL) > reward(BAD) > reward(GAMING)


def test_nova_rows() -> None:
    row = {{
        "messages": [{{"role": "user", "content": "6 * 7?"}}, {{"role": "assistant", "content": "42"}}],
        "reference_answer": {{"answer": "42"}},
    }}
    assert reward(row) == 1.0


if __name__ == "__main__":  # python test_reward.py, without pytest
    for name, test in list(globals().items()):
        if name.startswith("test_"):
            test()
    print("reward.py: all tests passed")
'''


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "init",
        help="write a starter spec (and an RLVR reward stub with tests)",
        description="Write a validated starter spec <dir>/<name>.yaml; for RLVR also reward.py "
        "(reward(sample) -> float) and test_reward.py. Missing choices are asked on a terminal.",
    )
    parser.add_argument("--name", help="project name: lower-case letters, digits and hyphens")
    parser.add_argument(
        "--technique",
        choices=models.TECHNIQUES,
        type=str.lower,
        help="fine-tuning technique (see 'recommend')",
    )
    parser.add_argument("--model", help="base model hub content name (see 'cdk-finetune models')")
    parser.add_argument(
        "--training-type",
        choices=models.TRAINING_TYPES,
        default="lora",
        help="LoRA adapters or full fine-tuning (default lora)",
    )
    parser.add_argument("--data", metavar="S3URI", help="training data (default: a bucket the stack creates)")
    parser.add_argument("--validation-data", metavar="S3URI", help="validation data (optional)")
    parser.add_argument("--accept-eula", action="store_true", help="accept a gated model's license")
    parser.add_argument(
        "--allow-unknown-model",
        action="store_true",
        help="write allow_unknown_model: true (a base model outside the known families)",
    )
    parser.add_argument("--region", help="target region (enables region checks in validation)")
    parser.add_argument("--judge-model", default=DEFAULT_JUDGE, help=f"RLAIF judge ({DEFAULT_JUDGE})")
    parser.add_argument(
        "--judge-prompt", default=DEFAULT_JUDGE_PROMPT, help=f"RLAIF prompt ({DEFAULT_JUDGE_PROMPT})"
    )
    parser.add_argument("--dir", default=".", help="folder to write into (default: the current one)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.set_defaults(handler=run)


def _choice(args: argparse.Namespace, key: str, question: str, choices: tuple[str, ...] = ()) -> str:
    value = getattr(args, key)
    if value:
        return value
    if not _term.interactive():
        raise _aws.CommandError(f"--{key.replace('_', '-')} is required: {question}", _aws.INVALID)
    return _term.ask(question, choices)


def _accept_eula(args: argparse.Namespace, model: str) -> bool:
    if not models.is_gated(model) or args.accept_eula:
        return models.is_gated(model)
    lic = models.license_for(models.hub_content_name(model))
    terms = f"the {lic.name} license ({lic.url})" if lic else "its license (see the model card)"
    if _term.interactive() and _term.ask_yes_no(
        f"{model} is gated by {terms}. Do you accept the license terms?"
    ):
        return True
    raise _aws.CommandError(
        f"{model} is gated by {terms}: read it and pass --accept-eula (training fails without acceptance).",
        _aws.INVALID,
    )


def build_spec(args: argparse.Namespace) -> dict[str, Any]:
    name = _choice(args, "name", "Project name (lower-case letters, digits, hyphens)")
    technique = _choice(args, "technique", "Technique", models.TECHNIQUES)
    model = _choice(args, "model", "Base model (hub content name from 'cdk-finetune models')")
    spec: dict[str, Any] = {"name": name, "technique": technique, "base_model": model}
    if _accept_eula(args, model):
        spec["accept_eula"] = True
    spec["training_type"] = args.training_type
    if args.allow_unknown_model:
        spec["allow_unknown_model"] = True
    if args.region:
        spec["region"] = args.region
    if args.data:
        spec["data"] = {"train": args.data}
    else:
        spec["data"] = {"create_bucket": True, "train": "train/train.jsonl"}
    if args.validation_data:
        spec["data"]["validation"] = args.validation_data
    if technique == "rlvr":
        spec["reward"] = {"code": REWARD_FILE}
    if technique == "rlaif":
        spec["rlaif"] = {"judge_model_id": args.judge_model, "prompt": args.judge_prompt}
    return spec


def render(spec: dict[str, Any]) -> str:
    header = "# Starter fine-tuning spec from 'cdk-finetune init'. Check it: cdk-finetune validate <file>\n"
    lic = models.license_for(models.hub_content_name(spec["base_model"]))
    if lic:
        header += f"# {spec['base_model']} license: {lic.name} - {lic.url}\n"
    return header + yaml.safe_dump(spec, sort_keys=False)


def validate(spec: dict[str, Any], directory: Path, stubs: dict[str, str]) -> None:
    """Validate the spec as if the stub files were already next to it (nothing is written on failure)."""
    with tempfile.TemporaryDirectory() as scratch:
        for name, text in stubs.items():
            (Path(scratch) / name).write_text(text, encoding="utf-8")
        FineTuningSpec.from_dict(spec, base_dir=scratch if stubs else directory)  # cli.main reports it


@_aws.friendly_errors
def run(args: argparse.Namespace) -> int:
    spec = build_spec(args)
    if not re.match(SLUG_RE, spec["name"]):
        raise _aws.CommandError(
            f"--name {spec['name']!r} must be lower-case letters, digits and single hyphens.", _aws.INVALID
        )
    directory = Path(args.dir)
    if directory.exists() and not directory.is_dir():
        raise _aws.CommandError(
            f"--dir {args.dir!r} is a file; pass a folder (new or existing).", _aws.INVALID
        )
    stubs = {}
    if spec["technique"] == "rlvr":
        stubs = {
            REWARD_FILE: REWARD_STUB.format(name=spec["name"], test_file=REWARD_TEST_FILE),
            REWARD_TEST_FILE: REWARD_TEST.format(),
        }
    spec_path = directory / f"{spec['name']}.yaml"
    files = {spec_path: render(spec), **{directory / name: text for name, text in stubs.items()}}
    existing = [str(path) for path in files if path.exists()]
    if existing and not args.force:
        raise _aws.CommandError(f"Not overwriting {', '.join(existing)} (use --force).", _aws.INVALID)
    validate(spec, directory, stubs)
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        print(_term.field("Wrote", path))
    print(
        _term.wrap(
            f"Next: cdk-finetune data check <your data> --technique {spec['technique']} --model "
            f"{spec['base_model']}; add {spec_path} to the cdk.json context list "
            f"cdk-sagemaker-finetuning:specs; cdk deploy; cdk-finetune start FineTuning-{spec['name']}"
        )
    )
    return 0
