"""The CreateTrainingJob request builder: SDK rules per technique, named errors, botocore shape validation."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.validate import validate_parameters
from hypothesis import given
from hypothesis import strategies as st

from cdk_sagemaker_finetuning.runtime import errors, request
from tests import workflow_data as wd

PUBLIC_MODEL_ARN = "arn:aws:sagemaker:us-east-1:aws:hub-content/SageMakerPublicHub/Model"
SHAPE = (
    botocore.session.get_session()
    .get_service_model("sagemaker")
    .operation_model("CreateTrainingJob")
    .input_shape
)


def build(
    technique="SFT", model=wd.LLAMA, *, hub=None, spec=None, name="run-1", input=None, source=None, **cfg
):
    return request.build_create_training_job_request(
        wd.config(technique, model, **cfg),
        hub or wd.hub_content(model),
        wd.override_spec(model, technique) if spec is None else spec,
        {"name": name, "input": input or {}, "sourceModelPackageArn": source},
        account=wd.ACCOUNT,
        region=wd.REGION,
    )


@pytest.mark.parametrize("technique", ["SFT", "DPO", "RLVR", "RLAIF"])
def test_request_per_technique_is_a_valid_serverless_request(technique):
    req = build(technique)
    validate_parameters(req, SHAPE)
    assert "AlgorithmSpecification" not in req and "ResourceConfig" not in req
    serverless = req["ServerlessJobConfig"]
    assert serverless["JobType"] == "FineTuning"
    assert serverless["CustomizationTechnique"] == technique
    assert serverless["Peft"] == "LORA"
    assert serverless["BaseModelArn"].endswith(f"/Model/{wd.LLAMA}/1.2.3")
    assert req["ModelPackageConfig"] == {"ModelPackageGroupArn": wd.GROUP_ARN}
    assert req["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataType"] == "S3Prefix"
    assert not {"data_path", "output_path", "reward_lambda_arn"} & set(req["HyperParameters"])


def test_sft_request_matches_reference_example():
    req = build(validationUri=wd.DATASET_ARN, hyperparameters={"learning_rate": 0.0002, "max_epochs": 3})
    assert req == {
        "TrainingJobName": "demo-run-1",
        "RoleArn": wd.ROLE_ARN,
        "HyperParameters": {
            "learning_rate": "0.0002",
            "global_batch_size": "64",
            "max_epochs": "3",
            "lr_warmup_steps_ratio": "0.1",
            "dataset_max_len": "4096",
        },
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://demo-data/train.jsonl",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            },
            {"ChannelName": "validation", "DataSource": {"DatasetSource": {"DatasetArn": wd.DATASET_ARN}}},
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://demo-output/out/"},
        "ServerlessJobConfig": {
            "JobType": "FineTuning",
            "BaseModelArn": f"{PUBLIC_MODEL_ARN}/{wd.LLAMA}/1.2.3",
            "CustomizationTechnique": "SFT",
            "Peft": "LORA",
            "AcceptEula": True,
        },
        "ModelPackageConfig": {"ModelPackageGroupArn": wd.GROUP_ARN},
        "Tags": [
            {"Key": "sagemaker-sdk:jumpstart-model-id", "Value": wd.LLAMA},
            {"Key": "sagemaker-sdk:jumpstart-hub-name", "Value": "SageMakerPublicHub"},
        ],
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    }


def test_sdk_stringification_of_defaults():
    spec = {"lr": {"default": 5e-05, "type": "float"}, "flag": {"default": True}, "unset": {"default": None}}
    hps, _ = request.resolve_hyperparameters({"technique": "SFT"}, spec, {}, region=wd.REGION)
    assert hps == {"lr": "5e-05", "flag": "True"}


def test_execution_input_overrides_spec_overrides_default():
    req = build(
        hyperparameters={"learning_rate": 0.0002}, input={"hyperparameters": {"learning_rate": 0.0003}}
    )
    assert req["HyperParameters"]["learning_rate"] == "0.0003"


@pytest.mark.parametrize(
    ("values", "error", "words"),
    [
        ({"learning_rate": 0.5}, errors.HyperparameterOutOfRange, "1e-06 to 0.001"),
        ({"max_epochs": 0}, errors.HyperparameterOutOfRange, "max_epochs=0"),
        ({"learing_rate": 0.0001}, errors.UnknownHyperparameter, "learing_rate is not a hyperparameter"),
        ({"max_epochs": 2.5}, errors.InvalidHyperparameter, "must be an integer"),
        ({"max_epochs": True}, errors.InvalidHyperparameter, "must be an integer"),
        ({"learning_rate": "1e-4"}, errors.InvalidHyperparameter, "1.0e-4"),
        ({"data_path": "s3://x/y"}, errors.InvalidHyperparameter, "filled by the service"),
        ({"dataset_max_len": 16384}, errors.HyperparameterOutOfRange, "sequence length 8192"),
    ],
)
def test_hyperparameter_rejections(values, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace("+", r"\+")) as info:
        build(hyperparameters=values)
    assert info.value.field.startswith("hyperparameters")


def test_enum_rejection_and_acceptance():
    with pytest.raises(errors.InvalidHyperparameter, match="choose one of prime_code, prime_math"):
        build("RLVR", hyperparameters={"preset_reward_function": "nope"})
    req = build("RLVR", evaluatorArn=None, hyperparameters={"preset_reward_function": "prime_code"})
    assert req["HyperParameters"]["preset_reward_function"] == "prime_code"
    assert "EvaluatorArn" not in req["ServerlessJobConfig"]


def test_invalid_characters_in_value_rejected():
    spec = {"note": {"default": "x", "type": "string"}}
    with pytest.raises(errors.InvalidHyperparameter, match="at most 2500 characters"):
        request.resolve_hyperparameters({"technique": "SFT"}, spec, {"note": "a;b"}, region=wd.REGION)


def test_explicit_mode_sends_only_user_keys():
    req = build(hyperparameterMode="explicit", hyperparameters={"max_epochs": 3})
    assert req["HyperParameters"] == {"max_epochs": "3"}


def test_rlvr_evaluator_drops_lambda_arn_and_empty_preset():
    req = build("RLVR")
    assert req["ServerlessJobConfig"]["EvaluatorArn"] == wd.EVALUATOR_ARN
    assert "reward_lambda_arn" not in req["HyperParameters"]
    assert "preset_reward_function" not in req["HyperParameters"]
    assert req["HyperParameters"]["use_kl_loss"] == "True"
    other = wd.EVALUATOR_ARN.replace("my-reward/1.0.0", "other/3.0.0")
    assert build("RLVR", input={"evaluatorArn": other})["ServerlessJobConfig"]["EvaluatorArn"] == other


def test_rlvr_without_reward_is_rejected():
    with pytest.raises(errors.RewardMissing, match="preset_reward_function"):
        build("RLVR", evaluatorArn=None)


def test_rlvr_rejects_unversioned_evaluator():
    with pytest.raises(errors.InvalidInput, match="versioned evaluator ARN"):
        build("RLVR", evaluatorArn=wd.EVALUATOR_ARN.rsplit("/", 1)[0])


def test_rl_length_ceiling():
    with pytest.raises(errors.HyperparameterOutOfRange, match="= 9216 exceeds"):
        build("RLVR", hyperparameters={"max_prompt_length": 1024, "max_response_length": 8192})


@pytest.mark.parametrize("prompt", ["Builtin.Faithfulness", "faithfulness", "faithfulness.jinja"])
def test_rlaif_builtin_prompt_matches_enum_value(prompt):
    req = build("RLAIF", judgePrompt=prompt)
    assert req["HyperParameters"]["judge_model_id"] == "bedrock/openai.gpt-oss-120b-1:0"
    assert req["HyperParameters"]["judge_prompt_template"] == f"{wd.PROMPT_DIR}/faithfulness.jinja"
    assert "EvaluatorArn" not in req["ServerlessJobConfig"]


def test_rlaif_custom_prompt_uses_evaluator_and_drops_template():
    req = build("RLAIF", judgePrompt=None, judgePromptEvaluatorArn=wd.PROMPT_EVALUATOR_ARN)
    assert req["ServerlessJobConfig"]["EvaluatorArn"] == wd.PROMPT_EVALUATOR_ARN
    assert "judge_prompt_template" not in req["HyperParameters"]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"judgePrompt": "Builtin.ChainOfThought"}, "available: summarize, faithfulness"),
        ({"judgeModelId": "anthropic.claude"}, "is not allowed"),
        ({"judgeModelId": "qwen.qwen3-235b-a22b-2507-v1:0"}, "not available in us-east-1"),
    ],
)
def test_rlaif_judge_rejections(changes, words):
    with pytest.raises(errors.InvalidJudgeModel, match=words):
        build("RLAIF", **changes)


def test_nova_sft_uses_converse_and_no_eula():
    req = build("SFT", wd.NOVA, hub=wd.hub_content(wd.NOVA, techniques=("SFT", "RLVR")))
    channel = req["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    assert channel["S3DataType"] == "Converse"
    assert "AcceptEula" not in req["ServerlessJobConfig"]
    assert "max_epochs" not in req["HyperParameters"]
    validate_parameters(req, SHAPE)


def test_nova_rlvr_uses_s3prefix_and_drops_lambda_arn():
    req = build("RLVR", wd.NOVA, hub=wd.hub_content(wd.NOVA, techniques=("SFT", "RLVR")))
    assert req["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataType"] == "S3Prefix"
    assert "reward_lambda_arn" not in req["HyperParameters"]


def test_gated_model_without_eula_is_rejected():
    with pytest.raises(errors.EulaNotAccepted, match="accept_eula: true") as info:
        build(acceptEula=False)
    assert info.value.error_name == "PreflightError.EulaNotAccepted"
    assert type(info.value).__name__ == "PreflightError.EulaNotAccepted"


def test_eula_accepted_for_a_non_gated_model_is_not_sent():
    req = build(acceptEula=True, hub=wd.hub_content(gated=False))
    assert "AcceptEula" not in req["ServerlessJobConfig"]  # as the notebook, which omits accept_eula


def test_continuous_customization_sets_source_and_forces_eula():
    source = f"arn:aws:sagemaker:us-east-1:{wd.ACCOUNT}:model-package/demo/2"
    req = build(acceptEula=False, source=source)
    assert req["ModelPackageConfig"]["SourceModelPackageArn"] == source
    assert req["ServerlessJobConfig"]["AcceptEula"] is True
    validate_parameters(req, SHAPE)


def test_unsupported_technique_and_training_type():
    hub = wd.hub_content(techniques=("SFT",))
    with pytest.raises(
        errors.UnsupportedTechnique, match="no DPO recipe; serverless techniques offered: SFT"
    ):
        build("DPO", hub=hub)
    only_lora = wd.hub_content(recipes=[wd.recipe(wd.LLAMA, "SFT", lora=True)])
    with pytest.raises(errors.UnsupportedTechnique, match="no full SFT recipe") as info:
        build(hub=only_lora, trainingType="FULL")
    assert info.value.field == "training_type"
    no_template = wd.hub_content(recipes=[wd.recipe(wd.LLAMA, "SFT", SmtjRecipeTemplateS3Uri=None)])
    with pytest.raises(errors.UnsupportedTechnique, match="none runs serverless"):
        build(hub=no_template)


def test_full_training_omits_peft():
    req = build(trainingType="FULL")
    assert "Peft" not in req["ServerlessJobConfig"]


def test_recipe_selection_by_sequence_length_and_subscription():
    recipes = [
        wd.recipe(wd.LLAMA, "SFT", sequence="4K", Name="short"),
        wd.recipe(wd.LLAMA, "SFT", sequence="32K", Name="sub", IsSubscriptionModel=True),
        wd.recipe(wd.LLAMA, "SFT", sequence="32K", Name="long"),
    ]
    doc = {"RecipeCollection": recipes}
    chosen, sub = request.select_recipe(doc, "SFT", "LORA", "32K")
    assert chosen["Name"] == "long" and sub["Name"] == "sub"
    with pytest.raises(errors.UnsupportedTechnique, match="available: 32K, 4K"):
        request.select_recipe(doc, "SFT", "LORA", "8K")
    req = build(hub=wd.hub_content(recipes=recipes), sequenceLength="32K")
    assert req["ServerlessJobConfig"]["SequenceLength"] == "32K"


def test_subscription_spec_keys_are_settable_but_unset():
    merged = request.merge_subscription_spec(
        {"a": {"default": 1}}, {"a": {"default": 9}, "b": {"default": 2}}
    )
    assert merged == {"a": {"default": 1}, "b": {"default": None}}


def test_spec_uri_replaces_customer_id():
    entry = {"SmtjOverrideParamsS3Uri": "s3://arn:aws:s3:us-east-1:{customer_id}:accesspoint/ap/k.json"}
    uri = request.spec_uri(entry, wd.ACCOUNT)
    assert request.split_s3_uri(uri) == (f"arn:aws:s3:us-east-1:{wd.ACCOUNT}:accesspoint/ap", "k.json")


def test_mlflow_tags_kms_and_input_data_override():
    mlflow = {
        "resourceArn": f"arn:aws:sagemaker:us-east-1:{wd.ACCOUNT}:mlflow-app/app-1",
        "experimentName": "demo",
    }
    req = build(
        mlflow=mlflow,
        tags={"team": "ml"},
        kmsKeyId="alias/data",
        input={"trainUri": "s3://other/train2.jsonl", "mlflowRunName": "round-2"},
    )
    assert req["MlflowConfig"] == {
        "MlflowResourceArn": mlflow["resourceArn"],
        "MlflowExperimentName": "demo",
        "MlflowRunName": "round-2",
    }
    assert req["Tags"][2] == {"Key": "team", "Value": "ml"}
    assert req["OutputDataConfig"]["KmsKeyId"] == "alias/data"
    assert req["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://other/train2.jsonl"
    validate_parameters(req, SHAPE)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ([1], "input"),
        ({"trainUrl": "s3://x/y"}, "input.trainUrl"),
        ({"hyperparameters": [1]}, "input.hyperparameters"),
        ({"baseModel": "previous"}, "input.baseModel"),
        ({"approvedOnly": "yes"}, "input.approvedOnly"),
        ({"trainUri": ""}, "input.trainUri"),
    ],
)
def test_malformed_execution_input(raw, field):
    with pytest.raises(errors.InvalidInput) as info:
        request.parse_execution_input(raw)
    assert info.value.field == field


def test_bad_data_sources():
    with pytest.raises(errors.InvalidInput, match="versioned dataset ARN"):
        build(input={"trainUri": wd.DATASET_ARN.rsplit("/", 1)[0]})


def test_missing_config_keys_are_named():
    with pytest.raises(errors.InvalidInput, match="lacks roleArn"):
        build(roleArn=None)


def test_job_name_is_deterministic_valid_and_unique():
    long = "a" * 80
    assert request.job_name("demo", "run_1") == "demo-run-1"
    name = request.job_name("p" * 26, long)
    assert len(name) == 63 and name.startswith("p" * 26 + "-")
    assert name != request.job_name("p" * 26, long[:-1] + "b")
    uuid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    assert request.job_name("p" * 26, uuid) == "p" * 26 + "-" + uuid


@given(st.text(alphabet="abcXYZ019-_", min_size=1, max_size=80))
def test_job_names_always_match_the_api_rule(execution_name):
    name = request.job_name("my-project", execution_name)
    assert request.models.RESOURCE_NAME_RE.match(name)
    assert name.startswith("my-project-")


def test_every_error_has_a_catchable_name():
    names = {cls.error_name for cls in errors.ALL_ERRORS}
    assert "PreflightError.DatasetFormat" in names and "PreflightError.ModelPackageGroupNotFound" in names
    for cls in errors.ALL_ERRORS:
        assert cls.__name__ == cls.error_name
        assert issubclass(cls, errors.PreflightError)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
KEYS = st.sampled_from([*request.INPUT_KEYS, "learning_rate", "bogus"])
HP_NAMES = st.sampled_from(["learning_rate", "max_epochs", "global_batch_size", "data_path", "nope", ""])


@given(
    st.one_of(JSON, st.dictionaries(KEYS, JSON, max_size=4)),
    st.dictionaries(HP_NAMES, JSON, max_size=3),
)
def test_any_input_gives_a_valid_request_or_a_named_error(raw_input, hyperparameters):
    """Whatever arrives as execution input, the builder answers a valid request or a PreflightError."""
    if isinstance(raw_input, dict) and "hyperparameters" not in raw_input:
        raw_input = {**raw_input, "hyperparameters": hyperparameters}
    execution = {"name": "run-1", "input": raw_input}
    try:
        req = request.build_create_training_job_request(
            wd.config(),
            wd.hub_content(),
            wd.override_spec(wd.LLAMA, "SFT"),
            execution,
            account=wd.ACCOUNT,
            region=wd.REGION,
        )
    except errors.PreflightError as exc:
        assert exc.error_name.startswith("PreflightError")
        return
    validate_parameters(req, SHAPE)
