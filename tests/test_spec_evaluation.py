"""The spec's evaluation block: every rule names the dotted field, the bad value and the rule in words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cdk_sagemaker_finetuning.spec import FineTuningSpec, SpecError

EVALUATOR_ARN = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/AIRegistry/JsonDoc/my-reward/1.0.0"
JUDGE = "anthropic.claude-3-5-haiku-20241022-v1:0"
FULL = {
    "dataset": "s3://demo-data/eval.jsonl",
    "benchmarks": ["mmlu", "gpqa"],
    "subtasks": {"mmlu": ["abstract_algebra"]},
    "judge": {"model_id": JUDGE, "metrics": ["Correctness", "Builtin.Helpfulness"]},
    "custom_scorer": {"builtin": "prime_math"},
    "gate": {"metric": "mmlu/accuracy", "compare_to": "approved", "min_delta": 0.0, "on_fail": "Rejected"},
}


def spec(sft_spec_dict: dict[str, Any], evaluation: Any, **changes: Any) -> FineTuningSpec:
    return FineTuningSpec.from_dict({**sft_spec_dict, **changes, "evaluation": evaluation})


def problems(sft_spec_dict: dict[str, Any], evaluation: Any, **changes: Any) -> dict[str, str]:
    with pytest.raises(SpecError) as raised:
        spec(sft_spec_dict, evaluation, **changes)
    return dict(raised.value.problems)


def test_the_issue_block_is_valid_and_frozen(sft_spec_dict) -> None:
    evaluation = spec(sft_spec_dict, FULL).evaluation
    assert evaluation.runtime_config() == {
        "dataset": "s3://demo-data/eval.jsonl",
        "benchmarks": [{"name": "mmlu", "subtasks": ["abstract_algebra"]}, {"name": "gpqa", "subtasks": []}],
        "judge": {"modelId": JUDGE, "metrics": ["Correctness", "Builtin.Helpfulness"]},
        "customScorer": {"preset": "prime_math"},
        "gate": {"metric": "mmlu/accuracy", "compareTo": "approved", "minDelta": 0.0, "onFail": "Rejected"},
    }
    with pytest.raises(ValueError, match="frozen"):
        evaluation.dataset = "s3://x/y"  # type: ignore[misc]
    assert spec(
        sft_spec_dict, {"benchmarks": ["ifeval"], "gate": {"metric": "ifeval/accuracy"}}
    ).evaluation.gate.on_fail == ("PendingManualApproval")


def test_benchmark_and_subtask_rules_follow_the_sdk(sft_spec_dict) -> None:
    found = problems(
        sft_spec_dict,
        {
            "benchmarks": ["mmlu", "gpqa", "llm_judge", "hellaswag", "mmmu", "mmlu"],
            "subtasks": {"gpqa": ["physics"], "mmlu": ["nope"], "bbh": ["navigate"], "math": []},
        },
    )
    assert (
        found["evaluation.benchmarks.2"]
        == "'llm_judge' is not a benchmark here: use the judge block for LLM-as-judge (e.g. mmlu)"
    )
    assert found["evaluation.benchmarks.3"].startswith(
        "'hellaswag' is not a benchmark; use one of mmlu, mmlu_pro"
    )
    assert "only offered for Nova models" in found["evaluation.benchmarks.4"]
    assert found["evaluation.benchmarks.5"] == "'mmlu' is listed twice"
    assert found["evaluation.subtasks.gpqa"].startswith(
        "'gpqa' takes no subtasks (remove them); benchmarks with"
    )
    assert found["evaluation.subtasks.mmlu.0"].startswith(
        "'nope' is not a mmlu subtask; for example: abstract_algebra"
    )
    assert (
        found["evaluation.subtasks.bbh"]
        == "'bbh' is not in evaluation.benchmarks; add it there first or remove it"
    )
    assert (
        found["evaluation.subtasks.math"]
        == "'math' is not in evaluation.benchmarks; add it there first or remove it"
    )


def test_judge_rules(sft_spec_dict) -> None:
    found = problems(
        sft_spec_dict,
        {
            "dataset": "s3://demo-data/e.jsonl",
            "judge": {"model_id": "claude sonnet", "metrics": ["Wit", "Correctness", "Builtin.Correctness"]},
        },
    )
    assert (
        "must be a Bedrock model id such as anthropic.claude-3-5-haiku" in found["evaluation.judge.model_id"]
    )
    assert found["evaluation.judge.metrics.0"].startswith(
        "'Wit' is not a built-in judge metric; use one of Correctness"
    )
    assert found["evaluation.judge.metrics"] == "lists a metric twice (e.g. [Correctness, Helpfulness])"
    nova = {**sft_spec_dict, "base_model": "amazon.nova-lite-v1", "accept_eula": False}
    found = problems(
        nova, {"dataset": "s3://demo-data/e.jsonl", "judge": {"model_id": JUDGE, "metrics": ["Correctness"]}}
    )
    assert "InspectAI" in found["evaluation.judge"]


def test_dataset_rules(sft_spec_dict) -> None:
    found = problems(sft_spec_dict, {"judge": {"model_id": JUDGE, "metrics": ["Correctness"]}})
    assert found == {
        "evaluation.dataset": "is required for judge and custom_scorer (the prompts to answer) "
        "(e.g. s3://my-bucket/eval/eval.jsonl)"
    }
    found = problems(sft_spec_dict, {"dataset": "s3://demo-data/eval.jsonl", "benchmarks": ["gpqa"]})
    assert found["evaluation.dataset"].startswith("is only used by judge and custom_scorer")
    found = problems(
        sft_spec_dict, {"dataset": "https://x/eval.jsonl", "custom_scorer": {"builtin": "prime_code"}}
    )
    assert found["evaluation.dataset"].startswith(
        "'https://x/eval.jsonl' must be an S3 URI (s3://bucket/eval.jsonl)"
    )


def test_custom_scorer_rules(sft_spec_dict) -> None:
    data = "s3://demo-data/e.jsonl"
    found = problems(
        sft_spec_dict, {"dataset": data, "custom_scorer": {"builtin": "bleu", "evaluator_arn": "arn:x"}}
    )
    assert "needs exactly one of builtin, evaluator_arn or reward" in found["evaluation.custom_scorer"]
    assert (
        found["evaluation.custom_scorer.builtin"]
        == "'bleu' is not a preset scorer; use one of prime_math, prime_code"
    )
    assert "must be a versioned evaluator ARN" in found["evaluation.custom_scorer.evaluator_arn"]
    found = problems(sft_spec_dict, {"dataset": data, "custom_scorer": {"reward": True}})
    assert (
        "needs technique 'rlvr' with a reward block (technique is 'sft', no reward block)"
        in found["evaluation.custom_scorer.reward"]
    )
    rlvr = {
        **sft_spec_dict,
        "technique": "rlvr",
        "reward": {"evaluator_arn": EVALUATOR_ARN},
        "hyperparameters": {},
    }
    assert spec(rlvr, {"dataset": data, "custom_scorer": {"reward": True}}).evaluation.runtime_config()[
        "customScorer"
    ] == {"reward": True}
    preset_only = {**rlvr, "reward": None, "hyperparameters": {"preset_reward_function": "prime_math"}}
    assert "evaluation.custom_scorer.reward" in problems(
        preset_only, {"dataset": data, "custom_scorer": {"reward": True}}
    )
    assert (
        "false means nothing"
        in problems(sft_spec_dict, {"dataset": data, "custom_scorer": {"reward": False}})[
            "evaluation.custom_scorer.reward"
        ]
    )


def test_gate_metric_must_be_produced_by_the_chosen_evaluations(sft_spec_dict) -> None:
    found = problems(sft_spec_dict, {"benchmarks": ["mmlu", "math"], "gate": {"metric": "gpqa/accuracy"}})
    assert found["evaluation.gate.metric"] == (
        "'gpqa/accuracy' is not produced by the chosen evaluations; use one of math/exact_match, mmlu/accuracy"
    )
    found = problems(
        sft_spec_dict, {"benchmarks": ["mmlu"], "gate": {"metric": "accuracy", "min_delta": float("inf")}}
    )
    assert (
        "must be <evaluation>/<metric> as the results name it, e.g. mmlu/accuracy"
        in found["evaluation.gate.metric"]
    )
    assert found["evaluation.gate.min_delta"] == "inf must be a finite number, e.g. 0.01"
    data = "s3://demo-data/e.jsonl"
    judged = {"dataset": data, "judge": {"model_id": JUDGE, "metrics": ["Builtin.Faithfulness"]}}
    assert spec(sft_spec_dict, {**judged, "gate": {"metric": "judge/Faithfulness"}}).evaluation.gate
    scored = {
        "dataset": data,
        "custom_scorer": {"builtin": "prime_math"},
        "gate": {"metric": "custom_scorer/reward"},
    }
    assert spec(sft_spec_dict, scored).evaluation.gate.metric == "custom_scorer/reward"


def test_shape_errors_are_worded(sft_spec_dict) -> None:
    found = problems(
        sft_spec_dict,
        {
            "benchmarks": "mmlu",
            "judge": {"model_id": 3},
            "gate": {"metric": "mmlu/accuracy", "on_fail": "Approved"},
            "extra": 1,
        },
    )
    assert found["evaluation.benchmarks"] == "'mmlu' is invalid: must be a list (e.g. [mmlu, gpqa])"
    assert found["evaluation.judge.metrics"] == "is required (e.g. [Correctness, Helpfulness])"
    assert (
        found["evaluation.gate.on_fail"]
        == "'Approved' is not allowed: must be one of 'PendingManualApproval' or 'Rejected'"
    )
    assert found["evaluation.extra"] == (
        "is not a known field; the fields here are dataset, benchmarks, subtasks, judge, custom_scorer, gate"
    )
    assert problems(sft_spec_dict, {}) == {
        "evaluation": "chooses no evaluation: set benchmarks (e.g. [mmlu]), judge or custom_scorer"
    }
    for message in found.values():
        assert "^" not in message and "Strict" not in message


def test_the_readme_block_is_a_valid_evaluation_block(sft_spec_dict) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Evaluation and promotion", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    evaluation = spec(sft_spec_dict, yaml.safe_load(block)["evaluation"]).evaluation
    assert evaluation.gate.metric == "mmlu/accuracy" and evaluation.judge.metrics == [
        "Correctness",
        "Helpfulness",
    ]
