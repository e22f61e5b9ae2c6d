"""The fine-tuning spec: every rule has a failing input whose message names the field, value and rule."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_sagemaker_finetuning import spec as spec_module
from cdk_sagemaker_finetuning.spec import FineTuningSpec, SpecError, load_spec
from cdk_sagemaker_finetuning.spec_messages import block_fields

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
        ({"accept_eula": "yes"}, "accept_eula", "must be true or false"),
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
        (
            {"hyperparameters": {"learning_rate": [1]}},
            "hyperparameters.learning_rate",
            "[1] is invalid: must be a number, true or false or text (a string) (e.g. 0.0001)",
        ),
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


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        (
            {"train": "arn:aws:sagemaker:us-east-1:123456789012:hub-content/HUB/DataSet/my-ds/1.0.0"},
            "data.register_dataset",
            "cannot be true when data.train is already a dataset ARN",
        ),
        ({"train": "s3://demo-data/train/"}, "data.train", "must name one .jsonl object"),
        ({"create_bucket": True, "train": "train/"}, "data.train", "must name one .jsonl object"),
        ({"train": "s3://demo-data/t.jsonl", "dataset_name": "bad_name"}, "data.dataset_name", "no '_' or '.'"),
    ],
)
def test_lineage_rules_name_the_field(sft_spec_dict, data, field, fragment):
    problems = problems_of(with_(sft_spec_dict, data={**data, "register_dataset": True}))
    assert fragment in problems[field], problems


def test_lineage_is_off_by_default_and_names_its_dataset(sft_spec_dict):
    assert FineTuningSpec.from_dict(sft_spec_dict).dataset_name is None
    on = with_(sft_spec_dict, data={"train": "s3://demo-data/t.jsonl", "register_dataset": True})
    assert FineTuningSpec.from_dict(on).dataset_name == "demo-train"
    named = with_(sft_spec_dict, data={**on["data"], "dataset_name": "support-rounds"})
    assert FineTuningSpec.from_dict(named).dataset_name == "support-rounds"
    stray = problems_of(with_(sft_spec_dict, data={"train": "s3://demo-data/t.jsonl", "dataset_name": "x"}))
    assert "only applies with data.register_dataset: true" in stray["data.dataset_name"]


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


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda path: path.mkdir(), "it is a directory; pass a file"),
        (lambda path: path.write_bytes(b"x = '\xe9'\n"), ":1: byte 5 (0xe9) is not UTF-8; save the"),
    ],
    ids=["directory", "latin-1"],
)
@pytest.mark.parametrize("kind", ["reward", "prompt"])
def test_reward_code_and_prompt_files_must_be_utf8_files(sft_spec_dict, tmp_path, make, reason, kind):
    if kind == "reward":
        make(tmp_path / "r.py")
        data, field = with_(sft_spec_dict, technique="rlvr", reward={"code": "r.py"}), "reward.code"
    else:
        make(tmp_path / "judge.jinja")
        rlaif = {"judge_model_id": "qwen.qwen3-32b-v1:0", "prompt": "judge.jinja"}
        data, field = with_(sft_spec_dict, technique="rlaif", rlaif=rlaif), "rlaif.prompt"
    problems = problems_of(data, base_dir=tmp_path)
    assert reason in problems[field]


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


# -- messages a person understands: the rule in words and an example, never a regex or a class name --


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"output": {"kms_key_arn": "key"}},
            "output.kms_key_arn",
            "'key' is invalid: must be a KMS key ARN, key id or alias (alias/name) (e.g. "
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab)",
        ),
        (
            {"data": ["s3://bucket/train.jsonl"]},
            "data",
            "['s3://bucket/train.jsonl'] is invalid: must be a block of fields (create_bucket, train, "
            "validation, register_dataset, dataset_name) (e.g. {train: s3://my-bucket/train/train.jsonl})",
        ),
        (
            {"data": {"train": "s3://b/train.jsonl"}},
            "data.train",
            "'s3://b/train.jsonl' is invalid: must be an S3 URI whose bucket name has 3-63 characters; "
            "'b' is too short (e.g. s3://my-bucket/train/train.jsonl)",
        ),
        (
            {"output": {"s3_uri": "s3://My_Bucket/out/"}},
            "output.s3_uri",
            "bucket name ('My_Bucket') has only lower-case letters, digits, '.' and '-'",
        ),
        (
            {"data": {"train": "arn:aws:sagemaker:us-east-1:123456789012:hub-content/H/DataSet/d"}},
            "data.train",
            "is not a versioned AI Registry dataset ARN; it must look like arn:aws:sagemaker:<region>:",
        ),
        ({"techniqe": "sft"}, "techniqe", "is not a known field; did you mean 'technique'?"),
        ({"data": {"trian": "s3://x"}}, "data.trian", "is not a known field; did you mean 'train'?"),
        (
            {"retraining": {"schedual": "rate(1 day)"}},
            "retraining.schedual",
            "is not a known field; did you mean 'schedule'?",
        ),
        ({"zzz": 1}, "zzz", "is not a known field; the fields here are name, technique, base_model,"),
        (
            {"reward": {"score_range": [1, 2, 3]}},
            "reward.score_range",
            "must be a list of two numbers [low, high]",
        ),
        (
            {"technique": "rlvr", "reward": {"builtin": "exact_match", "score_range": [0, float("inf")]}},
            "reward.score_range",
            "[0, inf] must be two finite numbers [low, high] (e.g. [-1, 1])",
        ),
        ({"tags": {"a|b": "x"}}, "tags.a|b", "the key 'a|b' is invalid: must be 1-128 letters, digits,"),
        ({"data": {}}, "data.train", "is required (e.g. s3://my-bucket/train/train.jsonl)"),
    ],
)
def test_messages_say_the_rule_in_words_with_an_example(sft_spec_dict, change, field, message):
    problems = problems_of(with_(sft_spec_dict, **change))
    assert message in problems[field], problems


def test_unknown_model_family_is_rejected_with_a_region(sft_spec_dict, tmp_path):
    data = with_(sft_spec_dict, base_model="gpt-4o", accept_eula=False, region="us-east-1")
    problems = problems_of(data)
    assert problems["base_model"].startswith(
        "'gpt-4o' is not a model of a known family (DeepSeek, Amazon Nova, Meta Llama, OpenAI gpt-oss,"
    )
    assert "set allow_unknown_model: true (or pass --allow-unknown-model)" in problems["base_model"]
    assert FineTuningSpec.from_dict({**data, "allow_unknown_model": True}).base_model == "gpt-4o"
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    assert load_spec(path, allow_unknown_model=True).allow_unknown_model
    with pytest.raises(SpecError, match="not a model of a known family"):
        load_spec(path)
    assert FineTuningSpec.from_dict({**data, "base_model": "huggingface-reasoning-qwen3-8b"}).region


def test_known_family_check_also_runs_for_a_stack_region(sft_spec_dict):
    spec = FineTuningSpec.from_dict(with_(sft_spec_dict, base_model="gpt-4o", accept_eula=False))
    assert [field for field, _ in spec.check_region("us-east-1")] == ["base_model"]


@pytest.mark.parametrize(
    ("hyperparameters", "field", "message"),
    [
        (
            {"max_epochs": 10**40},
            "hyperparameters.max_epochs",
            f"max_epochs={10**40} is out of range: serverless recipes allow 1 to 100 (e.g. 2)",
        ),
        (
            {"learning_rate": 5},
            "hyperparameters.learning_rate",
            "learning_rate=5 is out of range: serverless recipes allow 1e-10 to 1 (e.g. 0.0001)",
        ),
        ({"learning_rate": "1e-4"}, "hyperparameters.learning_rate", "in YAML write 1.0e-4 or 0.0001"),
        ({"global_batch_size": 0}, "hyperparameters.global_batch_size", "serverless recipes allow 1 to 4096"),
        ({"batch_size": 2.5}, "hyperparameters.batch_size", "batch_size=2.5 must be an integer (e.g. 64)"),
        ({"lora_rank": 100000}, "hyperparameters.lora_rank", "serverless recipes allow 1 to 1024 (e.g. 16)"),
        ({"lr_warmup_steps_ratio": 2}, "hyperparameters.lr_warmup_steps_ratio", "allow 0 to 1 (e.g. 0.1)"),
        ({"max_epochs": True}, "hyperparameters.max_epochs", "must be an integer"),
    ],
)
def test_hyperparameters_outside_the_api_bounds_fail_validation(
    sft_spec_dict, hyperparameters, field, message
):
    problems = problems_of(with_(sft_spec_dict, hyperparameters=hyperparameters))
    assert message in problems[field], problems


def test_hyperparameters_inside_the_bounds_pass(sft_spec_dict):
    hps = {
        "max_epochs": 100,
        "learning_rate": 0.0002,
        "global_batch_size": 64,
        "lora_rank": 16,
        "note": 10**40,
    }
    assert FineTuningSpec.from_dict(with_(sft_spec_dict, hyperparameters=hps)).hyperparameters == hps


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
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "spec '{path}' is nested too deeply to read"),
        ("deep.yaml", b"a: " + b"[" * 100_000 + b"]" * 100_000, "spec '{path}' is nested too deeply to read"),
        (
            "aliases.yaml",
            b"a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
            + b"".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n".encode() for i in range(1, 9)),
            "spec '{path}' expands to more than 100,000 values (YAML aliases?); write it out plainly",
        ),
        ("loop.yaml", b"name: &x [*x]\n", "expands to more than 100,000 values"),
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


def _blocks(path: tuple[str, ...] = ()):
    """Every block's dotted path and its fields, nested ones included."""
    for name in block_fields(FineTuningSpec, list(path)):
        fields = block_fields(FineTuningSpec, [*path, name])
        if fields:
            yield (*path, name), fields
            yield from _blocks((*path, name))


#: Blocks and their fields, so the generator reaches nested rules too.
BLOCK_FIELDS = dict(_blocks())
awkward_strings = st.sampled_from(
    [
        "Bad Name",
        "s3://b",
        "s3://B/x",
        "s3://ok-bucket/a b",
        "arn:aws:kms:x",
        "arn:aws:sagemaker:us-east-1:123456789012:hub-content/H/DataSet/d",
        "gpt-4o",
        "rate(7 weeks)",
        "not-an-email",
        "1e-4",
        "a|b",
        "x" * 300,
        "eu-central-1",
        "Builtin.Nope",
    ]
)
nested_values = st.one_of(values, awkward_strings, st.integers(-(10**40), 10**40), st.floats())


@st.composite
def malformed_specs(draw):
    base = {
        "name": "demo",
        "technique": draw(st.sampled_from(["rlvr", "sft", "rlaif"])),
        "base_model": "meta-textgeneration-llama-3-2-1b-instruct",
        "accept_eula": True,
        "region": draw(st.sampled_from([None, "us-east-1", "eu-west-1"])),
        "data": {"train": "s3://demo/train.jsonl"},
        "reward": {"builtin": "exact_match"},
        "rlaif": {"judge_model_id": "qwen.qwen3-32b-v1:0", "prompt": "x.jinja"},
        "hyperparameters": {"max_epochs": 2},
    }
    for key in draw(st.lists(st.sampled_from(FIELDS + ["extra", "techniqe", 3]), max_size=4)):
        if draw(st.booleans()):
            base.pop(key, None)
        else:
            base[key] = draw(st.one_of(values, awkward_strings))
    for path in draw(st.lists(st.sampled_from(sorted(BLOCK_FIELDS)), max_size=3)):
        block = base
        for part in path:
            block[part] = dict(block[part]) if isinstance(block.get(part), dict) else {}
            block = block[part]
        block[draw(st.sampled_from(BLOCK_FIELDS[path] + ["extra", "trian", "schedual"]))] = draw(
            nested_values
        )
    for mapping in draw(st.lists(st.sampled_from(["hyperparameters", "tags"]), max_size=2)):
        key = draw(st.sampled_from(["max_epochs", "learning_rate", "lora_rank", "batch_size", "a|b", "team"]))
        base[mapping] = {key: draw(nested_values)}
    return draw(st.one_of(st.just(base), values))


#: Words of pydantic's own messages and the spec's class names: none may reach a user.
LEAKS = [
    "pattern '",
    "Input should",
    "String should",
    "Field required",
    "instance of",
    "Strict",
    "pydantic",
    *(name for name in dir(spec_module) if name.endswith("Spec") and name[0].isupper()),
]


#: Every message shows a valid value: an example, the choices, the known fields, or the fix.
EXAMPLE_MARKERS = (
    "e.g.",
    "did you mean",
    "the fields here are",
    "one of",
    "true or false",
    "accepted:",
    "allowed:",
    "built-ins:",
    "in YAML write",
    "set accept_eula: true",
    "remove it",
)


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(malformed_specs())
def test_malformed_specs_only_raise_spec_error(data):
    try:
        FineTuningSpec.from_dict(data)
    except SpecError as exc:
        assert exc.problems and all(isinstance(f, str) and isinstance(m, str) for f, m in exc.problems)
        for field, message in exc.problems:
            assert not [leak for leak in LEAKS if leak in message], (field, message)
            assert message.strip() and "\n" not in message
            assert any(marker in message for marker in EXAMPLE_MARKERS), (field, message)
