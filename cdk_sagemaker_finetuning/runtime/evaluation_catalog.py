"""Facts about serverless evaluation jobs, kept as data: what the SageMaker Python SDK 3.27 evaluators use.

Copied from ``sagemaker/train/evaluate/`` (``benchmark_evaluator._BENCHMARK_CONFIG``,
``custom_scorer_evaluator._BuiltInMetric``, ``llm_as_judge_evaluator``); ``tests/runtime/
test_evaluation_catalog.py`` compares them with the installed SDK. Standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: ``StoppingCondition.MaxRuntimeInSeconds`` of every evaluation job (fixed in the SDK's templates).
MAX_RUNTIME_SECONDS = 86400
#: Evaluation names used in result keys ``<evaluation>/<metric>`` besides the benchmark names.
JUDGE = "judge"
CUSTOM_SCORER = "custom_scorer"
#: Hyperparameter ``name`` and output folder of the LLM-as-judge inference job (fixed in the SDK's template).
JUDGE_INFERENCE_NAME = "CustomInference"
JUDGE_BASE_INFERENCE_NAME = "BaseInference"
#: Generation settings of the LLM-as-judge metrics job (fixed in ``_get_llmaj_template_additions``).
JUDGE_GENERATION = {"max_new_tokens": "8192", "temperature": "0", "top_k": "-1", "top_p": "1.0"}
#: Recipe settings the SDK copies from the evaluation recipe's override spec (``_extract_eval_override_options``).
RECIPE_SETTINGS = (
    "max_new_tokens",
    "temperature",
    "top_k",
    "top_p",
    "aggregation",
    "postprocessing",
    "max_model_len",
)
#: Custom scorer presets (``get_builtin_metrics()``).
PRESET_SCORERS = ("prime_math", "prime_code")
#: Bedrock's built-in LLM-as-judge metrics (the SDK passes names through; Bedrock documents this list).
JUDGE_METRICS = (
    "Correctness",
    "Completeness",
    "Faithfulness",
    "Helpfulness",
    "Coherence",
    "Relevance",
    "FollowingInstructions",
    "ProfessionalStyleAndTone",
    "Harmfulness",
    "Stereotyping",
    "Refusal",
)
#: Where the service keeps the judge allow-list, per region (``_supported_judge_models_s3_uri``).
JUDGE_MODELS_BUCKET = "jumpstart-cache-prod-{region}"
JUDGE_MODELS_KEY = "fmhMetadata/supported-llmaj-judge-models.json"


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_MMLU_SUBTASKS = _names(
    "abstract_algebra anatomy astronomy business_ethics clinical_knowledge college_biology "
    "college_chemistry college_computer_science college_mathematics college_medicine college_physics "
    "computer_security conceptual_physics econometrics electrical_engineering elementary_mathematics "
    "formal_logic global_facts high_school_biology high_school_chemistry high_school_computer_science "
    "high_school_european_history high_school_geography high_school_government_and_politics "
    "high_school_macroeconomics high_school_mathematics high_school_microeconomics high_school_physics "
    "high_school_psychology high_school_statistics high_school_us_history high_school_world_history "
    "human_aging human_sexuality international_law jurisprudence logical_fallacies machine_learning "
    "management marketing medical_genetics miscellaneous moral_disputes moral_scenarios nutrition "
    "philosophy prehistory professional_accounting professional_law professional_medicine "
    "professional_psychology public_relations security_studies sociology us_foreign_policy virology "
    "world_religions"
)
_BBH_SUBTASKS = _names(
    "boolean_expressions causal_judgement date_understanding disambiguation_qa dyck_languages "
    "formal_fallacies geometric_shapes hyperbaton logical_deduction_five_objects "
    "logical_deduction_seven_objects logical_deduction_three_objects movie_recommendation "
    "multistep_arithmetic_two navigate object_counting penguins_in_a_table reasoning_about_colored_objects "
    "ruin_names salient_translation_error_detection snarks sports_understanding temporal_sequences "
    "tracking_shuffled_objects_five_objects tracking_shuffled_objects_seven_objects "
    "tracking_shuffled_objects_three_objects web_of_lies word_sorting"
)
_MATH_SUBTASKS = _names(
    "algebra counting_and_probability geometry intermediate_algebra number_theory prealgebra precalculus"
)
_MMMU_SUBTASKS = _names(
    "Accounting Agriculture Architecture_and_Engineering Art Art_Theory Basic_Medical_Science Biology "
    "Chemistry Clinical_Medicine Computer_Science Design Diagnostics_and_Laboratory_Medicine Economics "
    "Electronics Energy_and_Power Finance Geography History Literature Manage Marketing Materials Math "
    "Mechanical_Engineering Music Pharmacy Physics Psychology Public_Health Sociology"
)


@dataclass(frozen=True)
class Benchmark:
    """One SDK benchmark: its strategy, the metric it reports, and which subtasks it takes."""

    name: str
    strategy: str
    metric: str
    takes_subtasks: bool
    subtasks: tuple[str, ...] | None = None
    """The subtasks the SDK lists; ``None`` with ``takes_subtasks``: any name (the SDK lists none)."""
    nova_only: bool = False


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("mmlu", "zs_cot", "accuracy", True, _MMLU_SUBTASKS),
        Benchmark("mmlu_pro", "zs_cot", "accuracy", False),
        Benchmark("bbh", "fs_cot", "accuracy", True, _BBH_SUBTASKS),
        Benchmark("gpqa", "zs_cot", "accuracy", False),
        Benchmark("math", "zs_cot", "exact_match", True, _MATH_SUBTASKS),
        Benchmark("strong_reject", "zs", "deflection", True),
        Benchmark("ifeval", "zs", "accuracy", False),
        Benchmark("mmmu", "zs_cot", "accuracy", True, _MMMU_SUBTASKS, nova_only=True),
    )
}
#: In the SDK's table too, but it judges responses the benchmark job cannot be given; use the judge block.
JUDGE_BENCHMARK = "llm_judge"


def is_nova(model_name: str) -> bool:
    """Nova models (any name containing ``nova``, as the SDK's ``_is_nova_model``)."""
    return "nova" in model_name.lower()


def metric_key(model_name: str) -> str:
    """The hyperparameter naming the metric: ``metric`` for Nova, ``evaluation_metric`` otherwise."""
    return "metric" if is_nova(model_name) else "evaluation_metric"


def recipe_type(kind: str, model_name: str, benchmark: str | None = None) -> str:
    """The ``EvaluationType`` of the hub evaluation recipe whose override spec gives the generation settings.

    Benchmarks on Nova use ``DeterministicTextBenchmark`` (``DeterministicMultiModalBenchmark`` for mmmu);
    everything else, and the custom scorer always, ``DeterministicEvaluation``.
    """
    if kind == "benchmark" and is_nova(model_name):
        return "DeterministicMultiModalBenchmark" if benchmark == "mmmu" else "DeterministicTextBenchmark"
    return "DeterministicEvaluation"


def judge_models_location(region: str) -> tuple[str, str]:
    """``(bucket, key)`` of the supported-judge-models list for ``region``."""
    return JUDGE_MODELS_BUCKET.format(region=region), JUDGE_MODELS_KEY


def parse_judge_models(raw: bytes | str | Mapping[str, Any]) -> set[str]:
    """The model ids of a ``supported-llmaj-judge-models.json`` document; ``ValueError`` if it has none."""
    document = json.loads(raw) if isinstance(raw, bytes | str) else raw
    entries = document.get("supported_judge_models") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise ValueError(f"{JUDGE_MODELS_KEY} has no 'supported_judge_models' list")
    ids = {e["model_id"] for e in entries if isinstance(e, Mapping) and isinstance(e.get("model_id"), str)}
    if not ids:
        raise ValueError(f"{JUDGE_MODELS_KEY} lists no model_id")
    return ids
