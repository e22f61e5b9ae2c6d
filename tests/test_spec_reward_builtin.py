"""Spec validation of ``reward.builtin`` and its options against the built-in reward registry."""

from __future__ import annotations

import pytest

from cdk_sagemaker_finetuning.runtime.reward.builtins import BUILTIN_REWARDS
from cdk_sagemaker_finetuning.spec import FineTuningSpec, SpecError


def rlvr(sft_spec_dict: dict, reward: dict) -> dict:
    return {**sft_spec_dict, "technique": "rlvr", "reward": reward}


def problems(data: dict) -> dict[str, str]:
    with pytest.raises(SpecError) as info:
        FineTuningSpec.from_dict(data)
    return dict(info.value.problems)


def test_unknown_builtin_names_the_field_and_lists_the_builtins(sft_spec_dict):
    found = problems(rlvr(sft_spec_dict, {"builtin": "gsm8k"}))
    assert found["reward.builtin"] == f"'gsm8k' is not a built-in reward; built-ins: {', '.join(BUILTIN_REWARDS)}"


@pytest.mark.parametrize("name", list(BUILTIN_REWARDS))
def test_every_builtin_is_accepted(sft_spec_dict, name):
    options = {"regex_match": {"pattern": "####"},
               "composite": {"components": [{"reward": "numeric_answer", "weight": 1}]}}.get(name, {})
    spec = FineTuningSpec.from_dict(rlvr(sft_spec_dict, {"builtin": name, "options": options}))
    assert spec.reward.builtin == name


def test_bad_builtin_options_name_the_option(sft_spec_dict):
    found = problems(rlvr(sft_spec_dict, {"builtin": "numeric_answer", "options": {"rel_tol": "tight", "x": 1}}))
    assert found["reward.options.rel_tol"] == "'tight' must be a finite number"
    assert found["reward.options.x"].startswith("is not an option of 'numeric_answer'; accepted: rel_tol")


def test_options_without_a_builtin_are_rejected(sft_spec_dict, tmp_path):
    (tmp_path / "mine.py").write_text("def reward(sample):\n    return 0.0\n")
    with pytest.raises(SpecError) as info:
        FineTuningSpec.from_dict(rlvr(sft_spec_dict, {"code": "mine.py", "options": {"a": 1}}), base_dir=tmp_path)
    assert dict(info.value.problems)["reward.options"].startswith("only applies to reward.builtin")
