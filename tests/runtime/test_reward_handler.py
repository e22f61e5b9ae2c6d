"""Reward Lambda handler: event shapes, envelopes, per-sample error isolation, score checks, configuration,
the SageMaker SDK's own verifier, and fuzzing with malformed events."""

from __future__ import annotations

import json
import logging
import math
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_sagemaker_finetuning.constructs.reward_function import reward_code_directory, reward_environment
from cdk_sagemaker_finetuning.runtime.reward import handler as h
from cdk_sagemaker_finetuning.runtime.reward.handler import (
    RewardConfig,
    builtin_config,
    config_from_env,
    handle,
)

GSM = {
    "id": "q1",
    "messages": [
        {"role": "user", "content": "Tom has 3 apples and buys 4 more. How many apples?"},
        {"role": "assistant", "content": "3 + 4 = 7\n#### 7"},
    ],
    "reference_answer": {"ground_truth": "7"},
}
VERL = {
    "data_source": "gsm8k",
    "prompt": [{"role": "user", "content": "What is 10 * 12?"}],
    "ability": "math",
    "reward_model": {"ground_truth": "120", "style": "rule"},
    "response": "10 * 12 = 120. The answer is 120.",
}


def lambda_runtime_serialize(answer) -> bytes:
    """What the Python Lambda runtime (awslambdaric, Python 3.12+) does with a handler's return value."""
    return json.dumps(answer, ensure_ascii=False, allow_nan=True).encode("utf-8")


def body(response: dict) -> list[dict]:
    assert response["statusCode"] == 200
    assert response["headers"] == {"Content-Type": "application/json"}
    return json.loads(response["body"])


@pytest.fixture
def numeric() -> RewardConfig:
    return builtin_config("numeric_answer")


@pytest.mark.parametrize(
    "event",
    [
        [GSM],
        {"batch": [GSM]},
        {"body": json.dumps([GSM])},
        {"body": json.dumps({"batch": [GSM]})},
        {"input": [GSM]},
        {"input": json.dumps({"batch": [GSM]})},
        json.dumps([GSM]),
        GSM,
    ],
    ids=["list", "batch", "body-list", "body-batch", "input", "input-json", "json-string", "single-sample"],
)
def test_every_event_shape_scores_the_same(event, numeric):
    [result] = body(handle(event, numeric))
    assert result["id"] == "q1"
    assert result["aggregate_reward_score"] == 1.0
    assert result["metrics_list"] == [{"name": "correct", "value": 1, "type": "Metric"},
                                      {"name": "formatted", "value": 1, "type": "Metric"}]


def test_nova_envelope_is_a_bare_list():
    config = builtin_config("numeric_answer", envelope="nova")
    response = handle([GSM, VERL], config)
    assert isinstance(response, list)
    assert [r["id"] for r in response] == ["q1", 1]


def test_open_weight_verl_row_reads_reward_model_ground_truth(numeric):
    [result] = body(handle([VERL], numeric))
    assert result["aggregate_reward_score"] == 1.0


@pytest.mark.parametrize("nova", [True, False], ids=["nova", "open-weight"])
def test_lone_surrogates_never_break_the_lambda_serializer(nova):
    def reward(sample):
        return {"score": 0.5, "metrics": {"len\udfff": 1.0}}

    config = RewardConfig(reward=reward, envelope="nova" if nova else "open-weight")
    event = json.loads('[{"id": "sample-\\ud800", "messages": []}, {"id": {"k\\udc00": 1}, "messages": []}]')
    answer = json.loads(lambda_runtime_serialize(handle(event, config)))
    entries = answer if nova else json.loads(answer["body"])
    assert entries[0]["id"] == ("sample-\ufffd" if nova else "sample-\ud800")
    assert [m["name"] for m in entries[0]["metrics_list"]] == ["len\ufffd" if nova else "len\udfff"]
    assert entries[1]["aggregate_reward_score"] == 0.5
    error = handle("\ud800 not json", RewardConfig(reward=reward, envelope="nova" if nova else "open-weight"))
    lambda_runtime_serialize(error)


def test_missing_id_falls_back_to_the_position(numeric):
    rows = [dict(GSM, id=None), {k: v for k, v in GSM.items() if k != "id"}]
    assert [r["id"] for r in body(handle(rows, numeric))] == [None, 1]


def test_one_failing_sample_scores_the_floor_and_is_flagged_and_logged(numeric, caplog):
    broken = dict(GSM, id="bad", reference_answer="no number here")
    with caplog.at_level(logging.ERROR, logger="reward"):
        results = body(handle([GSM, broken, "not an object", VERL], numeric))
    assert [r["aggregate_reward_score"] for r in results] == [1.0, -1.0, -1.0, 1.0]
    assert results[1]["metrics_list"] == [{"name": "error", "value": 1, "type": "Metric"}]
    assert results[2]["id"] == 2
    logged = [json.loads(r.message) for r in caplog.records if "reward_error" in r.message]
    assert [entry["id"] for entry in logged] == ["bad", 2]
    assert "has no number" in logged[0]["error"]


def test_error_score_is_configurable():
    config = RewardConfig(reward=lambda s: 1 / 0, error_score=0.0)
    [result] = body(handle([GSM], config))
    assert result["aggregate_reward_score"] == 0.0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "0.5", None, True, [1]])
def test_non_finite_or_non_numeric_scores_are_errors(bad):
    [result] = body(handle([GSM], RewardConfig(reward=lambda s: bad)))
    assert result["aggregate_reward_score"] == -1.0
    assert result["metrics_list"][0]["name"] == "error"


def test_user_scores_are_clamped_and_flagged():
    config = RewardConfig(reward=lambda s: 7.5, score_range=(0.0, 1.0))
    [result] = body(handle([GSM], config))
    assert result["aggregate_reward_score"] == 1.0
    assert {"name": "clamped", "value": 1, "type": "Metric"} in result["metrics_list"]


def test_builtin_scores_are_rescaled_into_the_range():
    config = builtin_config("numeric_answer", score_range=(0.0, 10.0))
    wrong = dict(GSM, messages=[GSM["messages"][0], {"role": "assistant", "content": "#### 8"}])
    scores = [r["aggregate_reward_score"] for r in body(handle([GSM, wrong], config))]
    assert scores == [10.0, 2.5]  # 1.0 -> 10, -0.5 -> 2.5


def test_dict_results_become_metrics_and_bad_metrics_are_dropped():
    def reward(sample):
        return {"score": 0.25, "metrics": {"format": 1, "nan": math.nan, "reward": 9}, "metrics_list": [
            {"name": "length", "value": 12, "type": "Metric"}]}

    [result] = body(handle([GSM], RewardConfig(reward=reward)))
    assert result["aggregate_reward_score"] == 0.25
    names = [m["name"] for m in result["metrics_list"]]
    assert names == ["format", "reward", "length"]  # the NaN metric is dropped, the rest kept in order


def test_user_reward_sees_the_parsed_sample():
    seen = {}

    def reward(sample):
        seen.update(response=sample.response, reference=sample.reference, prompt=sample.prompt, id=sample.id,
                    source=sample["reference_answer"])
        return 0.0

    handle([GSM], RewardConfig(reward=reward))
    assert seen == {"response": "3 + 4 = 7\n#### 7", "reference": "7", "prompt": GSM["messages"][0]["content"],
                    "id": "q1", "source": {"ground_truth": "7"}}


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        ({}, "got an object with keys []"),
        ({"foo": 1}, "got an object with keys ['foo']"),
        ("{not json", "not JSON"),
        (42, "got int"),
        (None, "got NoneType"),
        ({"body": "[1, 2"}, "not JSON"),
        ({"body": {"body": {"body": {"body": {"body": []}}}}}, "nests"),
    ],
)
def test_malformed_events_get_a_structured_400(event, fragment, numeric):
    response = handle(event, numeric)
    assert response["statusCode"] == 400
    error = json.loads(response["body"])["error"]
    assert error["errorType"] == "InvalidEvent"
    assert fragment in error["errorMessage"]


def test_malformed_event_for_nova_is_an_error_object():
    response = handle({"nothing": True}, builtin_config("exact_match", envelope="nova"))
    assert response["errorType"] == "InvalidEvent"


def test_empty_batch_is_an_empty_answer(numeric):
    assert body(handle([], numeric)) == []


# -- configuration from the environment --------------------------------------------------------------------


def test_environment_written_by_the_construct_configures_the_handler():
    env = reward_environment(builtin="exact_match", options={"extract": "full"}, score_range=(0, 1), nova=True)
    config = config_from_env(env)
    assert config.envelope == "nova"
    assert config.score_range == (0.0, 1.0)
    assert config.rescale is True
    [result] = handle([dict(GSM, reference_answer="3 + 4 = 7 #### 7")], config)
    assert result["aggregate_reward_score"] == 1.0


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({}, "set REWARD_BUILTIN or REWARD_MODULE"),
        ({"REWARD_BUILTIN": "nope"}, "unknown built-in reward 'nope'; built-ins: numeric_answer"),
        ({"REWARD_BUILTIN": "exact_match", "REWARD_OPTIONS": "{"}, "REWARD_OPTIONS is not JSON"),
        ({"REWARD_BUILTIN": "exact_match", "REWARD_OPTIONS": '{"extract": "x"}'}, "extract: 'x' must be one of"),
        ({"REWARD_BUILTIN": "exact_match", "REWARD_SCORE_RANGE": "[1, 0]"}, "low < high"),
        ({"REWARD_BUILTIN": "exact_match", "REWARD_ENVELOPE": "xml"}, "REWARD_ENVELOPE 'xml'"),
        ({"REWARD_MODULE": "no_such_module_here"}, "cannot import reward module"),
        ({"REWARD_MODULE": "json"}, "defines no reward(sample) function"),
    ],
)
def test_bad_configuration_is_a_structured_error_not_a_crash(monkeypatch, env, fragment):
    for key in h._ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    response = h.lambda_handler([GSM], None)
    error = json.loads(response["body"])["error"] if "body" in response else response
    assert error["errorType"] == "ConfigurationError"
    assert fragment in error["errorMessage"]


def test_user_module_through_the_environment(monkeypatch, tmp_path):
    (tmp_path / "my_scorer_mod.py").write_text(
        "def reward(sample):\n    return {'score': 0.5 if 'apples' in sample.prompt else -0.5, 'metrics': {'len': 3}}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("REWARD_MODULE", "my_scorer_mod")
    monkeypatch.delenv("REWARD_BUILTIN", raising=False)
    [result] = body(h.lambda_handler([GSM], None))
    assert result["aggregate_reward_score"] == 0.5
    assert {"name": "len", "value": 3.0, "type": "Metric"} in result["metrics_list"]


def test_unexpected_failure_is_still_a_structured_answer(monkeypatch):
    monkeypatch.setenv("REWARD_BUILTIN", "numeric_answer")
    monkeypatch.delenv("REWARD_MODULE", raising=False)
    monkeypatch.setattr(h, "score_sample", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    response = h.lambda_handler([GSM], None)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["errorType"] == "InternalError"


# -- the SageMaker SDK's verifier, against the deployed entry point ----------------------------------------


@pytest.mark.parametrize("nova", [False, True], ids=["open-weight", "nova"])
def test_sdk_verifier_accepts_the_packaged_handler(monkeypatch, nova):
    from sagemaker.train.common_utils.rlvr_reward_verifier import verify_reward_function

    directory = reward_code_directory()
    monkeypatch.syspath_prepend(str(directory))
    for module in [m for m in sys.modules if m == "reward_runtime" or m.startswith("reward_runtime.")]:
        monkeypatch.delitem(sys.modules, module)
    for key, value in reward_environment(builtin="numeric_answer", options={}, score_range=(-1, 1),
                                         nova=nova).items():
        monkeypatch.setenv(key, value)
    samples = [GSM, dict(GSM, id="q2", reference_answer="8"), dict(GSM, id="q3", reference_answer="none")]
    report = verify_reward_function(str(directory / "lambda_function.py"), samples, is_nova=nova)
    assert report["success"] is True
    assert report["successful_samples"] == 3
    outputs = [r["output"] for r in report["results"]]
    assert [o["aggregate_reward_score"] for o in outputs] == [1.0, -0.5, -1.0]


def test_sdk_verifier_accepts_user_code_packaged_with_the_runtime(monkeypatch, tmp_path):
    from sagemaker.train.common_utils.rlvr_reward_verifier import verify_reward_function

    user = tmp_path / "my_reward.py"
    user.write_text("def reward(sample):\n    return 1.0 if sample.response.strip().endswith('7') else 0.0\n")
    directory = reward_code_directory(user)
    assert (directory / "user_reward.py").read_text() == user.read_text()
    monkeypatch.syspath_prepend(str(directory))
    for module in [m for m in sys.modules if m.startswith(("reward_runtime", "user_reward"))]:
        monkeypatch.delitem(sys.modules, module)
    for key, value in reward_environment(builtin=None, options={}, score_range=(0, 1), nova=False).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("REWARD_BUILTIN", raising=False)
    report = verify_reward_function(str(directory / "lambda_function.py"), [GSM], is_nova=False)
    assert report["results"][0]["output"]["aggregate_reward_score"] == 1.0


# -- fuzzing ---------------------------------------------------------------------------------------------

# lone surrogates (valid in JSON text as "\\ud800", invalid UTF-8) included: they break Lambda's serializer
odd_text = st.text(max_size=30) | st.lists(st.text(max_size=4) | st.characters(categories=["Cs"]), max_size=6).map("".join)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | odd_text
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "messages", "role", "content", "prompt", "reference_answer", "reward_model",
                         "ground_truth", "batch", "body", "input", "response", "text", "type", "answer"])
        | odd_text,
        children, max_size=5),
    max_leaves=25,
)
events = json_values | json_values.map(json.dumps) | json_values.map(lambda v: {"body": json.dumps(v)}) | st.binary(
    max_size=40)


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events, builtin=st.sampled_from(["numeric_answer", "exact_match", "multiple_choice", "json_valid",
                                               "length_penalty", "repetition_penalty"]),
       nova=st.booleans())
def test_fuzzed_events_never_raise_and_always_answer_in_contract(event, builtin, nova):
    config = builtin_config(builtin, envelope="nova" if nova else "open-weight")
    response = handle(event, config)
    lambda_runtime_serialize(response)
    if nova and isinstance(response, dict):
        assert set(response) == {"errorType", "errorMessage"}
        return
    if not nova:
        assert response["statusCode"] in (200, 400)
        if response["statusCode"] == 400:
            return
        response = json.loads(response["body"])
    for entry in response:
        assert -1.0 <= entry["aggregate_reward_score"] <= 1.0
        json.dumps(entry, allow_nan=False)


reward_results = st.recursive(
    json_scalars | st.integers(min_value=-(10**400), max_value=10**400) | st.just(math.inf),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["score", "aggregate_reward_score", "reward", "metrics", "metrics_list", "name", "value"])
        | st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=1000, deadline=None)
@given(result=reward_results, low=st.floats(-5, 0), width=st.floats(0.5, 5))
def test_fuzzed_user_reward_results_never_fail_the_batch(result, low, width):
    config = RewardConfig(reward=lambda sample: result, score_range=(low, low + width))
    entries = body(handle([GSM, dict(GSM, id="second")], config))
    assert [e["id"] for e in entries] == ["q1", "second"]
    for entry in entries:
        assert low <= entry["aggregate_reward_score"] <= low + width
        json.dumps(entry, allow_nan=False)
