"""workflow_config.runtime_config: the spec plus deploy-time values, as the preflight and plan read them."""

from __future__ import annotations

import json

import pytest

from cdk_sagemaker_finetuning.runtime.request import build_create_training_job_request
from cdk_sagemaker_finetuning.spec import FineTuningSpec
from cdk_sagemaker_finetuning.workflow_config import job_name_prefix, runtime_config
from tests import workflow_data as wd

RESOLVED = dict(
    role_arn=wd.ROLE_ARN, model_package_group_arn=wd.GROUP_ARN, output_uri="s3://demo-output/out/"
)


def spec(sft_spec_dict, **changes):
    return FineTuningSpec.from_dict({**sft_spec_dict, **changes})


def test_config_is_json_and_drives_the_request(sft_spec_dict):
    config = runtime_config(
        spec(sft_spec_dict, hyperparameters={"max_epochs": 3}, tags={"team": "ml"}), **RESOLVED
    )
    assert json.loads(json.dumps(config)) == config
    assert (config["technique"], config["trainingType"], config["jobNamePrefix"]) == ("SFT", "LORA", "demo")
    assert config["maxRuntimeSeconds"] == 24 * 3600 and config["mlflow"] is None
    req = build_create_training_job_request(
        config,
        wd.hub_content(),
        wd.override_spec(wd.LLAMA, "SFT"),
        {"name": "r"},
        account=wd.ACCOUNT,
        region=wd.REGION,
    )
    assert req["HyperParameters"]["max_epochs"] == "3"
    assert req["Tags"][-1] == {"Key": "team", "Value": "ml"}
    assert req["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}


def test_nova_alias_and_mlflow_defaults(sft_spec_dict):
    mlflow = {"resource_arn": f"arn:aws:sagemaker:us-east-1:{wd.ACCOUNT}:mlflow-app/app-1"}
    config = runtime_config(
        spec(sft_spec_dict, base_model="amazon.nova-2-lite-v1", accept_eula=False, mlflow=mlflow), **RESOLVED
    )
    assert config["baseModel"] == "nova-textgeneration-lite-v2"
    assert config["mlflow"] == {
        "resourceArn": mlflow["resource_arn"],
        "experimentName": "demo",
        "runName": None,
    }


def test_rlaif_prompts(sft_spec_dict, tmp_path):
    rlaif = {"judge_model_id": "openai.gpt-oss-120b-1:0", "prompt": "Builtin.Summarize"}
    config = runtime_config(spec(sft_spec_dict, technique="rlaif", rlaif=rlaif), **RESOLVED)
    assert (config["judgeModelId"], config["judgePrompt"]) == ("openai.gpt-oss-120b-1:0", "Builtin.Summarize")
    (tmp_path / "judge.jinja").write_text("{{ prompt }} {{ response }}")
    custom = FineTuningSpec.from_dict(
        {**sft_spec_dict, "technique": "rlaif", "rlaif": {**rlaif, "prompt": "judge.jinja"}},
        base_dir=tmp_path,
    )
    with pytest.raises(ValueError, match="judge_prompt_evaluator_arn is required"):
        runtime_config(custom, **RESOLVED)
    config = runtime_config(custom, **RESOLVED, judge_prompt_evaluator_arn=wd.PROMPT_EVALUATOR_ARN)
    assert config["judgePrompt"] is None and config["judgePromptEvaluatorArn"] == wd.PROMPT_EVALUATOR_ARN


def test_rlvr_evaluator_from_spec_or_stack(sft_spec_dict):
    with_arn = spec(sft_spec_dict, technique="rlvr", reward={"evaluator_arn": wd.EVALUATOR_ARN})
    assert runtime_config(with_arn, **RESOLVED)["evaluatorArn"] == wd.EVALUATOR_ARN
    built = spec(sft_spec_dict, technique="rlvr", reward={"builtin": "exact_match"})
    other = wd.EVALUATOR_ARN.replace("my-reward", "built")
    assert runtime_config(built, **RESOLVED, evaluator_arn=other)["evaluatorArn"] == other


def test_created_bucket_needs_the_resolved_uri(sft_spec_dict):
    created = spec(sft_spec_dict, data={"create_bucket": True, "train": "train.jsonl"})
    with pytest.raises(ValueError, match="train_uri is required"):
        runtime_config(created, **RESOLVED)
    assert (
        runtime_config(created, **RESOLVED, train_uri="s3://b/train.jsonl")["trainUri"]
        == "s3://b/train.jsonl"
    )


def test_modes_and_prefix(sft_spec_dict):
    with pytest.raises(ValueError, match="hyperparameter_mode"):
        runtime_config(spec(sft_spec_dict), **RESOLVED, hyperparameter_mode="all")
    long = spec(sft_spec_dict, name="a-very-long-project-name-for-testing-x")
    assert job_name_prefix(long) == "a-very-long-project-name-f"
    assert len(job_name_prefix(long)) <= 26 and not job_name_prefix(
        spec(sft_spec_dict, name="abcdefghijklmnopqrstuvwxy-z")
    ).endswith("-")


def test_lineage_config_names_the_dataset_and_hub_only_when_on(sft_spec_dict):
    assert "registerDataset" not in runtime_config(spec(sft_spec_dict), **RESOLVED)
    data = {"train": "s3://demo-data/r1.jsonl", "register_dataset": True, "dataset_name": "rounds"}
    config = runtime_config(spec(sft_spec_dict, data=data), **RESOLVED)
    assert config["registerDataset"] == {"name": "rounds", "hubName": None}  # the AI Registry hub at run time
    own = runtime_config(spec(sft_spec_dict, data=data), **RESOLVED, dataset_hub_name="team-hub")
    assert own["registerDataset"]["hubName"] == "team-hub"
