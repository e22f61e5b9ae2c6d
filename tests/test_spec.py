"""The fine-tuning spec: every rule has a failing input whose message names the field, value and rule."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_sagemaker_finetuning.spec import FineTuningSpec, SpecError, load_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def problems_of(data: dict, **kwargs) -> dict[str, str]:
    with pytest.raises(SpecError) as info:
        FineTuningSpec.from_dict(data, **kwargs)
    return dict(info.value.problems)


def with_(base: dict, **changes) -> dict:
    data = copy.deepcopy(base)
    data.update(changes)
    return data


def test_minimal_spec_gets_documented_defaults(sft_spec_dict):
    spec = FineTuningSpec.from_dict(sft_spec_dict)
    assert spec.training_type == "lora"
    assert spec.hub == "SageMakerPublicHub"
    assert spec.model_package_group_name == "demo"
    assert spec.output.s3_uri is None  # stack-created bucket
    assert spec.max_runtime_hours == 24
    assert spec.base_model_version is None


def test_spec_is_frozen(sft_spec_dict):
    spec = FineTuningSpec.from_dict(sft_spec_dict)
    with pytest.raises(Exception, match="frozen"):
        spec.name = "other"


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"name": "Bad_Name"}, "name", "lower-case letters, digits and single hyphens"),
        ({"name": "x" * 41}, "name", "at most 40"),
        ({"name": ""}, "name", "at least 1"),
        ({"technique": "ppo"}, "technique", "'sft', 'dpo', 'rlvr' or 'rlaif'"),
        ({"training_type": "qlora"}, "training_type", "'lora' or 'full'"),
        ({"base_model": "bad model"}, "base_model", "'bad model'"),
        ({"base_model": "amazon.nova-lite-v9"}, "base_model", "Nova aliases"),
        ({"base_model_version": "latest"}, "base_model_version", "'latest'"),
        ({"hub": "my_hub"}, "hub", "no '_' or '.'"),
        ({"accept_eula": "yes"}, "accept_eula", "valid boolean"),
        ({"sequence_length": "8k"}, "sequence_length", "'8k'"),
        ({"max_runtime_hours": 0}, "max_runtime_hours", "greater than 0"),
        ({"max_runtime_hours": 1000}, "max_runtime_hours", "less than or equal to 672"),
        ({"region": "mars"}, "region", "'mars'"),
        ({"unknown": 1}, "unknown", "not a known field"),
        ({"data": {"train": "http://bucket/x"}}, "data.train", "must be an S3 URI"),
        ({"data": {"train": "s3://b/x", "validation": "s3:/b"}}, "data.validation", "must be an S3 URI"),
        ({"data": {"create_bucket": True, "train": "s3://b/x"}}, "data.train", "object key or prefix"),
        ({"data": {}}, "data.train", "is required"),
        ({"output": {"s3_uri": "s3://B"}}, "output.s3_uri", "an S3 URI"),
        ({"output": {"kms_key_arn": "key"}}, "output.kms_key_arn", "'key'"),
        ({"model_package_group": {"name": "a_b"}}, "model_package_group.name", "no '_' or '.'"),
        ({"model_package_group": {"name": "a" * 64}}, "model_package_group.name", "at most 63"),
        ({"mlflow": {"resource_arn": "arn:aws:s3:::x"}}, "mlflow.resource_arn", "arn:aws:s3:::x"),
        ({"mlflow": {"experiment_name": ""}}, "mlflow.experiment_name", "at least 1"),
        ({"tags": {"aws:owner": "x"}}, "tags.aws:owner", "must not start with 'aws:'"),
        ({"tags": {"team": "a|b"}}, "tags.team", "'a|b'"),
        ({"hyperparameters": {"learning_rate": [1]}}, "hyperparameters.learning_rate", "valid number"),
        ({"hyperparameters": {"data_path": "s3://x"}}, "hyperparameters.data_path", "filled by the service"),
        (
            {"hyperparameters": {"reward_lambda_arn": "x"}},
            "hyperparameters.reward_lambda_arn",
            "filled by the service",
        ),
        ({"hyperparameters": {"note": "a;b"}}, "hyperparameters.note", "'a;b'"),
        ({"hyperparameters": {"lr": float("nan")}}, "hyperparameters.lr", "finite"),
        ({"hyperparameters": {"judge_model_id": "x"}}, "hyperparameters.judge_model_id", "only used by"),
        ({"hyperparameters": {f"k{i}": i for i in range(101)}}, "hyperparameters", "at most 100"),
        ({"retraining": {}}, "retraining", "at least one trigger"),
        ({"retraining": {"schedule": "weekly"}}, "retraining.schedule", "EventBridge schedule expression"),
        ({"retraining": {"pipeline": {"source_key": "s3://b/k"}}}, "retraining.pipeline.source_key", "a key"),
        (
            {"retraining": {"pipeline": {"repository": {"connection_arn": "x", "owner": "o", "repo": "r"}}}},
            "retraining.pipeline.repository.connection_arn",
            "'x'",
        ),
        ({"notifications": {"emails": ["nope"]}}, "notifications.emails.0", "an e-mail address"),
        ({"approval_status": "Yes"}, "approval_status", "'PendingManualApproval', 'Approved' or 'Rejected'"),
    ],
)
def test_field_rules_name_the_field_value_and_rule(sft_spec_dict, change, field, fragment):
    problems = problems_of(with_(sft_spec_dict, **change))
    assert field in problems, problems
    assert fragment in problems[field]


def test_retraining_on_s3_needs_s3_data(sft_spec_dict):
    arn = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/HUB/DataSet/my-ds/1.0.0"
    problems = problems_of(with_(sft_spec_dict, data={"train": arn}, retraining={"on_new_data": {}}))
    assert "watches S3" in problems["retraining.on_new_data"]


def test_retraining_defaults(sft_spec_dict):
    spec = FineTuningSpec.from_dict(with_(sft_spec_dict, retraining={"schedule": "rate(7 days)"}))
    assert spec.retraining.approved_only is True and spec.retraining.continue_from_latest is False
    assert spec.approval_status == "PendingManualApproval"
    assert spec.output_prefix == "Demo"


def test_meta_models_require_eula_with_license_and_url(sft_spec_dict):
    problems = problems_of(with_(sft_spec_dict, accept_eula=False))
    assert "Llama 3.2 Community" in problems["accept_eula"]
    assert (
        "https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct/blob/main/LICENSE.txt"
        in problems["accept_eula"]
    )


def test_non_gated_models_need_no_eula(sft_spec_dict):
    spec = FineTuningSpec.from_dict(
        with_(sft_spec_dict, base_model="huggingface-reasoning-qwen3-8b", accept_eula=False)
    )
    assert not spec.accept_eula


@pytest.mark.parametrize("key", ["max_epochs", "lr_warmup_steps_ratio"])
def test_nova_models_cannot_set_oss_only_hyperparameters(sft_spec_dict, key):
    data = with_(
        sft_spec_dict, base_model="amazon.nova-2-lite-v1", accept_eula=False, hyperparameters={key: 1}
    )
    problems = problems_of(data)
    assert "not a Nova hyperparameter" in problems[f"hyperparameters.{key}"]


def test_nova_alias_resolves_to_hub_content_name(sft_spec_dict):
    spec = FineTuningSpec.from_dict(
        with_(sft_spec_dict, base_model="amazon.nova-2-lite-v1", accept_eula=False)
    )
    assert spec.hub_content_name == "nova-textgeneration-lite-v2"
    assert spec.is_nova


def test_rlvr_requires_a_reward_or_preset(sft_spec_dict):
    problems = problems_of(with_(sft_spec_dict, technique="rlvr"))
    assert "required for technique 'rlvr'" in problems["reward"]
    spec = FineTuningSpec.from_dict(
        with_(sft_spec_dict, technique="rlvr", hyperparameters={"preset_reward_function": "prime_code"})
    )
    assert spec.reward is None


def test_empty_preset_reward_is_rejected(sft_spec_dict):
    problems = problems_of(
        with_(sft_spec_dict, technique="rlvr", hyperparameters={"preset_reward_function": " "})
    )
    assert "must not be empty" in problems["hyperparameters.preset_reward_function"]


def test_reward_needs_exactly_one_source(sft_spec_dict):
    arn = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/HUB/JsonDoc/my-eval/1.0.0"
    problems = problems_of(
        with_(sft_spec_dict, technique="rlvr", reward={"evaluator_arn": arn, "builtin": "x"})
    )
    assert "exactly one of" in problems["reward"]


def test_reward_evaluator_arn_needs_a_version(sft_spec_dict):
    arn = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/HUB/JsonDoc/my-eval"
    problems = problems_of(with_(sft_spec_dict, technique="rlvr", reward={"evaluator_arn": arn}))
    assert arn[:40] in problems["reward.evaluator_arn"]


def test_reward_code_must_exist_relative_to_the_spec(sft_spec_dict, tmp_path):
    problems = problems_of(
        with_(sft_spec_dict, technique="rlvr", reward={"code": "missing.py"}), base_dir=tmp_path
    )
    assert str(tmp_path / "missing.py") in problems["reward.code"]
    (tmp_path / "mine.py").write_text("def reward(sample):\n    return 1.0\n")
    spec = FineTuningSpec.from_dict(
        with_(sft_spec_dict, technique="rlvr", reward={"code": "mine.py"}), base_dir=tmp_path
    )
    assert spec.reward_code_path == tmp_path / "mine.py"


def test_reward_score_range_must_be_ordered(sft_spec_dict):
    arn = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/HUB/JsonDoc/my-eval/1.0.0"
    problems = problems_of(
        with_(sft_spec_dict, technique="rlvr", reward={"evaluator_arn": arn, "score_range": [1, 0]})
    )
    assert "low < high" in problems["reward.score_range"]


@pytest.mark.parametrize("technique", ["sft", "dpo", "rlaif"])
def test_reward_block_only_for_rlvr(sft_spec_dict, technique):
    arn = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/HUB/JsonDoc/my-eval/1.0.0"
    problems = problems_of(with_(sft_spec_dict, technique=technique, reward={"evaluator_arn": arn}))
    assert "only allowed for technique 'rlvr'" in problems["reward"]


def test_rlaif_requires_its_block(sft_spec_dict):
    assert "required for technique 'rlaif'" in problems_of(with_(sft_spec_dict, technique="rlaif"))["rlaif"]


def test_rlaif_block_only_for_rlaif(sft_spec_dict):
    rlaif = {"judge_model_id": "openai.gpt-oss-120b-1:0", "prompt": "Builtin.Summarize"}
    assert "only allowed for technique 'rlaif'" in problems_of(with_(sft_spec_dict, rlaif=rlaif))["rlaif"]


def test_rlaif_judge_and_prompt_rules(sft_spec_dict):
    problems = problems_of(
        with_(
            sft_spec_dict,
            technique="rlaif",
            rlaif={"judge_model_id": "anthropic.claude", "prompt": "judge.txt"},
        )
    )
    assert "not an allowed judge model" in problems["rlaif.judge_model_id"]
    assert "Builtin.* name or a path to a .jinja file" in problems["rlaif.prompt"]
    problems = problems_of(
        with_(
            sft_spec_dict,
            technique="rlaif",
            rlaif={"judge_model_id": "qwen.qwen3-32b-v1:0", "prompt": "Builtin.X"},
        )
    )
    assert "not a built-in prompt" in problems["rlaif.prompt"]


def test_rlaif_judge_checked_against_known_region(sft_spec_dict):
    rlaif = {"judge_model_id": "qwen.qwen3-235b-a22b-2507-v1:0", "prompt": "Builtin.Summarize"}
    problems = problems_of(with_(sft_spec_dict, technique="rlaif", rlaif=rlaif, region="eu-west-1"))
    assert "not allowed in 'eu-west-1'" in problems["rlaif.judge_model_id"]
    spec = FineTuningSpec.from_dict(with_(sft_spec_dict, technique="rlaif", rlaif=rlaif, region="us-west-2"))
    assert spec.check_region("us-west-2") == []


def test_model_family_region_allow_list(sft_spec_dict):
    problems = problems_of(with_(sft_spec_dict, base_model="amazon.nova-lite-v1", region="eu-west-1"))
    assert "us-east-1, us-west-2" in problems["region"]


def test_several_problems_are_reported_together(sft_spec_dict):
    with pytest.raises(SpecError) as info:
        FineTuningSpec.from_dict(with_(sft_spec_dict, name="Bad Name", technique="ppo", hub="a_b"))
    assert {field for field, _ in info.value.problems} == {"name", "technique", "hub"}
    assert info.value.field == "name"
    assert "3 problems" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_cross_field_problems_are_reported_together(sft_spec_dict):
    data = with_(sft_spec_dict, accept_eula=False, tags={"aws:x": "y"}, hyperparameters={"data_path": "x"})
    assert set(problems_of(data)) == {"accept_eula", "tags.aws:x", "hyperparameters.data_path"}


def test_non_mapping_input():
    with pytest.raises(SpecError) as info:
        FineTuningSpec.from_dict(["not", "a", "mapping"])
    assert info.value.field == "<root>"


def test_load_yaml_and_json_give_the_same_spec(tmp_path, sft_spec_dict):
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(sft_spec_dict))
    (tmp_path / "s.json").write_text(json.dumps(sft_spec_dict))
    assert load_spec(tmp_path / "s.yaml").model_dump() == load_spec(tmp_path / "s.json").model_dump()


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("missing.yaml", None, "cannot read spec '{path}': it does not exist"),
        ("folder.yaml", "dir", "cannot read spec '{path}': it is a directory; pass a file"),
        ("latin1.yaml", "name: caf\xe9\n".encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 9)"),
        ("bad.yaml", b"name: [unclosed", "spec '{path}' is not valid YAML: expected ',' or ']'"),
        ("bad.json", b'{"name": ', "spec '{path}' is not valid JSON: Expecting value at line 1 column 10"),
    ],
)
def test_load_reports_unreadable_and_unparsable_files(tmp_path, name, content, words):
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.field == "<file>"
    assert words.format(path=path) in str(info.value)
    assert len(str(info.value).splitlines()) == 2  # the heading and one line


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_spec_is_valid(path):
    assert load_spec(path).name


# -- property-based: malformed specs only ever raise SpecError --

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(
        ["sft", "rlvr", "rlaif", "s3://b/k", "meta-x", "amazon.nova-lite-v1", "Builtin.Summarize"]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
FIELDS = list(FineTuningSpec.model_fields)


@st.composite
def malformed_specs(draw):
    base = {
        "name": "demo",
        "technique": "rlvr",
        "base_model": "meta-textgeneration-llama-3-2-1b-instruct",
        "accept_eula": True,
        "data": {"train": "s3://demo/train.jsonl"},
        "reward": {"builtin": "exact_match"},
        "rlaif": {"judge_model_id": "qwen.qwen3-32b-v1:0", "prompt": "x.jinja"},
    }
    for key in draw(st.lists(st.sampled_from(FIELDS + ["extra", 3]), max_size=4)):
        if draw(st.booleans()):
            base.pop(key, None)
        else:
            base[key] = draw(values)
    return draw(st.one_of(st.just(base), values))


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(malformed_specs())
def test_malformed_specs_only_raise_spec_error(data):
    try:
        FineTuningSpec.from_dict(data)
    except SpecError as exc:
        assert exc.problems and all(isinstance(f, str) and isinstance(m, str) for f, m in exc.problems)
