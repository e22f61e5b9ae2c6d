"""cdk-finetune hubs / models / techniques, offline with Stubber."""

from __future__ import annotations

import json

import pytest

PUBLIC = {
    "HubName": "SageMakerPublicHub",
    "HubArn": "arn:aws:sagemaker:us-east-1:aws:hub/SageMakerPublicHub",
    "HubDescription": "SageMaker Public Hub",
    "HubStatus": "InService",
    "CreationTime": "2025-01-01T00:00:00Z",
    "LastModifiedTime": "2025-01-01T00:00:00Z",
}
REGISTRY = {
    **PUBLIC,
    "HubName": "MyRegistry",
    "HubArn": "arn:aws:sagemaker:us-east-1:123456789012:hub/MyRegistry",
    "HubDescription": "AI Registry hub for evaluators and datasets",
}
PRIVATE = {
    **PUBLIC,
    "HubName": "team-models",
    "HubArn": "arn:aws:sagemaker:us-east-1:123456789012:hub/team-models",
    "HubDescription": "Curated models of the platform team",
}


def summary(name: str, keywords: list[str], version: str = "1.2.3") -> dict:
    return {
        "HubContentName": name,
        "HubContentArn": f"arn:aws:sagemaker:us-east-1:aws:hub-content/SageMakerPublicHub/Model/{name}/{version}",
        "HubContentVersion": version,
        "HubContentType": "Model",
        "DocumentSchemaVersion": "2.4.0",
        "HubContentStatus": "Available",
        "CreationTime": "2025-01-01T00:00:00Z",
        "HubContentSearchKeywords": keywords,
    }


CUSTOM = ["@capability:customization", "@recipe:finetuning_sft_lora"]


def test_hubs_excludes_ai_registry_and_follows_pages(stubs, run) -> None:
    sm = stubs("sagemaker")
    sm.add_response("list_hubs", {"HubSummaries": [PUBLIC, REGISTRY], "NextToken": "t1"}, {})
    sm.add_response("list_hubs", {"HubSummaries": [PRIVATE]}, {"NextToken": "t1"})
    result = run("hubs")
    assert result.code == 0
    assert "SageMakerPublicHub (InService) - SageMaker Public Hub" in result.out
    assert "team-models (InService) - Curated models of the platform team" in result.out
    assert "MyRegistry" not in result.out


def test_hubs_none_eligible_is_an_error(stubs, run) -> None:
    stubs("sagemaker").add_response("list_hubs", {"HubSummaries": [REGISTRY]}, {})
    result = run("hubs")
    assert result.code == 1
    assert result.err == "error: No hub with base models in us-east-1.\n"


def test_models_lists_only_customizable_models_grouped_with_licenses(stubs, run) -> None:
    sm = stubs("sagemaker")
    sm.add_response("list_hubs", {"HubSummaries": [PUBLIC, REGISTRY]}, {})
    params = {"HubName": "SageMakerPublicHub", "HubContentType": "Model", "MaxResults": 100}
    sm.add_response(
        "list_hub_contents",
        {
            "HubContentSummaries": [
                summary("meta-textgeneration-llama-3-2-1b-instruct", CUSTOM),
                summary("huggingface-llm-falcon-7b", ["@task:text-generation"]),
            ],
            "NextToken": "page2",
        },
        params,
    )
    sm.add_response(
        "list_hub_contents",
        {
            "HubContentSummaries": [
                summary("nova-textgeneration-lite-v2", CUSTOM, "3.50.0"),
                summary("huggingface-reasoning-qwen3-1-7b", CUSTOM),
                summary("acme-custom-model", CUSTOM),
            ]
        },
        {**params, "NextToken": "page2"},
    )
    result = run("models")
    assert result.code == 0
    out = result.out
    assert out.startswith("Customizable models in SageMakerPublicHub (us-east-1): 4\n")
    assert "falcon" not in out
    assert (
        "Meta Llama\n  meta-textgeneration-llama-3-2-1b-instruct  v1.2.3, gated: needs accept_eula\n"
        "    license: Llama 3.2 Community\n"
        "https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct/blob/main/LICENSE.txt\n"
    ) in out
    assert (
        "Amazon Nova\n  nova-textgeneration-lite-v2  v3.50.0\n    license: AWS Service Terms\n"
        "    https://aws.amazon.com/service-terms/\n"
    ) in out
    assert "Qwen\n  huggingface-reasoning-qwen3-1-7b  v1.2.3\n    license: Apache 2.0\n" in out
    assert "Other\n  acme-custom-model  v1.2.3\n    license: unknown - read the model card" in out
    assert out.index("Amazon Nova") < out.index("Meta Llama") < out.index("Qwen") < out.index("Other")


def test_models_with_hub_flag_skips_hub_discovery(stubs, run) -> None:
    stubs("sagemaker").add_response(
        "list_hub_contents",
        {"HubContentSummaries": []},
        {"HubName": "team-models", "HubContentType": "Model", "MaxResults": 100},
    )
    result = run("models", "--hub", "team-models")
    assert result.code == 0
    assert result.out == "No customizable models in team-models (us-east-1).\n"


def test_models_with_several_hubs_needs_a_choice(stubs, run) -> None:
    stubs("sagemaker").add_response("list_hubs", {"HubSummaries": [PUBLIC, PRIVATE]}, {})
    result = run("models")
    assert result.code == 2
    assert (
        "Several hubs hold base models; pass --hub (one of: SageMakerPublicHub, team-models)."
        in result.flat_err
    )


def test_models_asks_for_the_hub_when_interactive(stubs, run, answers) -> None:
    sm = stubs("sagemaker")
    sm.add_response("list_hubs", {"HubSummaries": [PUBLIC, PRIVATE]}, {})
    sm.add_response(
        "list_hub_contents",
        {"HubContentSummaries": []},
        {"HubName": "team-models", "HubContentType": "Model", "MaxResults": 100},
    )
    asked = answers("nope", "team-models")
    result = run("models")
    assert result.code == 0
    assert len(asked) == 2 and "[SageMakerPublicHub/team-models]" in asked[0]


def test_models_unknown_hub_is_invalid_input(stubs, run) -> None:
    stubs("sagemaker").add_client_error(
        "list_hub_contents",
        "ResourceNotFound",
        "Hub nohub does not exist",
        expected_params={"HubName": "nohub", "HubContentType": "Model", "MaxResults": 100},
    )
    result = run("models", "--hub", "nohub")
    assert result.code == 2
    assert (
        result.flat_err
        == "error: Hub 'nohub' does not exist in us-east-1; list hubs with 'cdk-finetune hubs'."
    )


def hub_content(name: str, keywords: list[str], recipes: list[dict], gated: bool = False) -> dict:
    return {
        "HubContentName": name,
        "HubContentArn": f"arn:aws:sagemaker:us-east-1:aws:hub-content/SageMakerPublicHub/Model/{name}/1.2.3",
        "HubContentVersion": "1.2.3",
        "HubContentType": "Model",
        "DocumentSchemaVersion": "2.4.0",
        "HubName": "SageMakerPublicHub",
        "HubArn": PUBLIC["HubArn"],
        "HubContentDocument": json.dumps({"RecipeCollection": recipes, "GatedBucket": gated}),
        "HubContentSearchKeywords": keywords,
        "HubContentStatus": "Available",
        "CreationTime": "2025-01-01T00:00:00Z",
    }


def recipe(
    technique: str, peft: bool, length: str | None = "8K", template: bool = True, **extra: object
) -> dict:
    entry = {
        "CustomizationTechnique": technique,
        "Peft": "LORA" if peft else None,
        "Type": "FineTuning",
        **extra,
    }
    if length:
        entry["SequenceLength"] = length
    if template:
        entry["SmtjRecipeTemplateS3Uri"] = f"s3://recipes/{technique}.yaml"
    return entry


def test_techniques_from_recipes_and_keywords(stubs, run) -> None:
    name = "meta-textgeneration-llama-3-2-1b-instruct"
    recipes = [
        recipe("SFT", True, "8K"),
        recipe("SFT", False, "16K"),
        recipe("SFT", True, "16K"),
        recipe("DPO", True, None),
        recipe("RLAIF", True, template=False),  # not usable serverless
        recipe("CPT", True),  # not an allowed technique
        recipe("SFT", True, "32K", Type="Evaluation"),
    ]
    keywords = [
        "@capability:customization",
        "@recipe:finetuning_sft_lora",
        "@recipe:finetuning_sft_full",
        "@recipe:finetuning_rlvr_lora",
        "@recipe:finetuning_cpt_lora",
        "@task:text",
    ]
    sm = stubs("sagemaker")
    sm.add_response("list_hubs", {"HubSummaries": [PUBLIC]}, {})
    sm.add_response(
        "describe_hub_content",
        hub_content(name, keywords, recipes, gated=True),
        {"HubName": "SageMakerPublicHub", "HubContentType": "Model", "HubContentName": name},
    )
    result = run("techniques", name)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"{name} (SageMakerPublicHub, version 1.2.3)"
    assert lines[1] == "license: Llama 3.2 Community"
    assert "EULA: acceptance required; set accept_eula: true in the spec" in lines
    table = result.out[result.out.index("technique  ") :]
    assert table.splitlines()[2].split() == ["SFT", "LoRA,", "full", "8K,", "16K", "recipe", "+", "keyword"]
    assert table.splitlines()[3].split() == ["DPO", "LoRA", "-", "recipe"]
    assert "RLVR       -               -                 keyword only: no serverless recipe" in table
    assert "RLAIF" not in table and "CPT" not in table and "32K" not in table


def test_techniques_translates_nova_alias_and_uses_hub_flag(stubs, run) -> None:
    name = "nova-textgeneration-lite"
    stubs("sagemaker").add_response(
        "describe_hub_content",
        hub_content(name, ["@capability:customization"], [recipe("SFT", True)]),
        {"HubName": "SageMakerPublicHub", "HubContentType": "Model", "HubContentName": name},
    )
    result = run("techniques", "amazon.nova-lite-v1", "--hub", "SageMakerPublicHub")
    assert result.code == 0
    assert "SFT        LoRA            8K                recipe" in result.out
    assert "EULA" not in result.out


def test_techniques_for_a_model_without_any(stubs, run) -> None:
    stubs("sagemaker").add_response(
        "describe_hub_content",
        hub_content("acme-x", ["@task:text"], []),
        {"HubName": "h", "HubContentType": "Model", "HubContentName": "acme-x"},
    )
    result = run("techniques", "acme-x", "--hub", "h")
    assert result.code == 0
    assert "not tagged @capability:customization" in result.flat_out
    assert "No serverless fine-tuning technique found." in result.flat_out


def test_techniques_unknown_model(stubs, run) -> None:
    stubs("sagemaker").add_client_error(
        "describe_hub_content",
        "ResourceNotFound",
        "Hub content not found",
        expected_params={
            "HubName": "SageMakerPublicHub",
            "HubContentType": "Model",
            "HubContentName": "llama-9",
        },
    )
    result = run("techniques", "llama-9", "--hub", "SageMakerPublicHub")
    assert result.code == 2
    assert (
        "Model 'llama-9' is not in hub 'SageMakerPublicHub' (us-east-1), or the hub does" in result.flat_err
    )
    assert "cdk-finetune models" in result.err


def test_techniques_rejects_a_malformed_name_without_calling_aws(run) -> None:
    result = run("techniques", "Llama 3 8B")
    assert result.code == 2
    assert "'Llama 3 8B' is not a hub content name" in result.flat_err


@pytest.mark.parametrize(
    ("code", "message", "exit_code", "expected"),
    [
        (
            "AccessDeniedException",
            "User: x is not authorized to perform: sagemaker:ListHubs",
            1,
            "error: Access denied calling ListHubs: User: x is not authorized to perform:\nsagemaker:ListHubs.",
        ),
        ("ThrottlingException", "Rate exceeded", 1, "error: AWS throttled ListHubs (still after retries)."),
        (
            "ExpiredTokenException",
            "expired",
            1,
            "error: AWS rejected the credentials (ExpiredTokenException)",
        ),
        ("InternalFailure", "boom", 1, "error: ListHubs failed: InternalFailure: boom"),
    ],
)
def test_friendly_aws_errors(stubs, run, code: str, message: str, exit_code: int, expected: str) -> None:
    stubs("sagemaker").add_client_error("list_hubs", code, message)
    result = run("hubs")
    assert result.code == exit_code
    assert result.err.startswith(expected)
    assert "Traceback" not in result.err


def test_no_region(monkeypatch, tmp_path, run) -> None:
    for var in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = run("hubs")
    assert result.code == 2
    assert result.flat_err.startswith("error: No AWS region is configured. Set AWS_DEFAULT_REGION, run 'aws")
    assert "--region" in result.err


def test_no_credentials(monkeypatch, tmp_path, run) -> None:
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    result = run("hubs", "--region", "eu-west-1")
    assert result.code == 1
    assert result.err.startswith("error: No AWS credentials found.")


def test_unknown_profile(monkeypatch, tmp_path, run) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = run("hubs", "--profile", "ghost")
    assert result.code == 2
    assert result.err == "error: AWS profile 'ghost' is not configured.\n"
