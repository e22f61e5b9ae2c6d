"""The evaluation catalog is the installed SageMaker SDK's: benchmarks, presets, recipe settings, judge list."""

from __future__ import annotations

import pytest

from cdk_sagemaker_finetuning.runtime import evaluation_catalog as catalog


def test_benchmarks_match_the_sdk_table() -> None:
    from sagemaker.train.evaluate.benchmark_evaluator import _BENCHMARK_CONFIG

    sdk = {b.value: config for b, config in _BENCHMARK_CONFIG.items()}
    assert set(sdk) == set(catalog.BENCHMARKS) | {catalog.JUDGE_BENCHMARK}
    for name, bench in catalog.BENCHMARKS.items():
        config = sdk[name]
        assert bench.strategy == config["strategy"], name
        assert bench.metric == config["metrics"][0], name
        assert bench.takes_subtasks == config["subtask_available"], name
        assert bench.subtasks == (tuple(config["subtasks"]) if config["subtasks"] else None), name


def test_only_mmmu_is_nova_only_and_gpqa_takes_no_subtasks() -> None:
    assert [b.name for b in catalog.BENCHMARKS.values() if b.nova_only] == ["mmmu"]
    assert not catalog.BENCHMARKS["gpqa"].takes_subtasks
    assert (
        catalog.BENCHMARKS["strong_reject"].takes_subtasks
        and catalog.BENCHMARKS["strong_reject"].subtasks is None
    )


def test_presets_match_the_sdk() -> None:
    from sagemaker.train.evaluate.custom_scorer_evaluator import get_builtin_metrics

    assert tuple(m.value for m in get_builtin_metrics()) == catalog.PRESET_SCORERS


def test_recipe_settings_are_the_ones_the_sdk_copies_from_the_override_spec() -> None:
    from sagemaker.train.common_utils.recipe_utils import _extract_eval_override_options

    spec = {name: {"default": 1} for name in (*catalog.RECIPE_SETTINGS, "seed", "task", "subtask")}
    assert set(_extract_eval_override_options(spec)) == set(catalog.RECIPE_SETTINGS)


def test_judge_allow_list_location_is_the_sdks() -> None:
    from sagemaker.train.evaluate.llm_as_judge_evaluator import _supported_judge_models_s3_uri

    bucket, key = catalog.judge_models_location("eu-west-1")
    assert f"s3://{bucket}/{key}" == _supported_judge_models_s3_uri("eu-west-1")


def test_judge_allow_list_parsing() -> None:
    document = b'{"supported_judge_models": [{"model_id": "a.b-v1:0"}, {"model_id": 3}, "x"]}'
    assert catalog.parse_judge_models(document) == {"a.b-v1:0"}
    for bad in ('{"models": []}', '{"supported_judge_models": [{}]}', "[]"):
        with pytest.raises(ValueError, match="supported-llmaj-judge-models.json"):
            catalog.parse_judge_models(bad)


@pytest.mark.parametrize(
    ("kind", "model", "benchmark", "expected"),
    [
        ("benchmark", "meta-textgeneration-llama-3-2-1b-instruct", "mmlu", "DeterministicEvaluation"),
        ("benchmark", "nova-textgeneration-lite-v2", "mmlu", "DeterministicTextBenchmark"),
        ("benchmark", "nova-textgeneration-lite-v2", "mmmu", "DeterministicMultiModalBenchmark"),
        ("custom_scorer", "nova-textgeneration-lite-v2", None, "DeterministicEvaluation"),
    ],
)
def test_recipe_type_follows_the_sdk(kind: str, model: str, benchmark: str | None, expected: str) -> None:
    assert catalog.recipe_type(kind, model, benchmark) == expected
    assert catalog.metric_key(model) == ("metric" if "nova" in model else "evaluation_metric")
