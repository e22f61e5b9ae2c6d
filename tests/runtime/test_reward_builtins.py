"""Built-in rewards on hand-made cases: excellent > partial > bad, and every anti-gaming check."""

from __future__ import annotations

from fractions import Fraction

import pytest

from cdk_sagemaker_finetuning.runtime.reward.builtins import (
    BUILTIN_REWARDS,
    extract_final_number,
    normalize_text,
    option_problems,
    parse_number,
)
from cdk_sagemaker_finetuning.runtime.reward.sample import Sample, reference_answer, response_text

PROMPT = "Natalia sold clips to 48 of her friends in April, and then she sold half as many in May. How many?"


def sample(response, reference="72", prompt=PROMPT, **extra) -> Sample:
    row = {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}],
           "reference_answer": reference, **extra}
    return Sample(row, 0)


def score(name, response, reference="72", prompt=PROMPT, **options) -> float:
    return BUILTIN_REWARDS[name](sample(response, reference, prompt), **options)["score"]


def metrics(name, response, reference="72", prompt=PROMPT, **options) -> dict:
    return BUILTIN_REWARDS[name](sample(response, reference, prompt), **options)["metrics"]


# -- shared anti-gaming ------------------------------------------------------------------------------------

ADVERSARIAL = {
    "empty": "",
    "whitespace": "   \n\t ",
    "padding": "#### 72 " + "x" * 25_000,
    "echo": PROMPT,
    "echo-with-answer-tail": PROMPT + " 72",
}


@pytest.mark.parametrize("name", [n for n in BUILTIN_REWARDS if n != "composite"])
@pytest.mark.parametrize("case", ADVERSARIAL)
def test_every_builtin_gives_gaming_responses_the_minimum(name, case):
    options = {"regex_match": {"pattern": "72"}}.get(name, {})
    result = BUILTIN_REWARDS[name](sample(ADVERSARIAL[case], "72"), **options)
    assert result["score"] == -1.0
    reason = {"whitespace": "empty", "echo-with-answer-tail": "echo"}.get(case, case)
    assert result["metrics"] == {f"gaming_{reason}": 1}


def test_long_prompt_quoted_inside_a_long_answer_is_not_echo():
    long_answer = "Let me restate: " + PROMPT + " " + "In May she sold 48 / 2 = 24 clips. " * 6 + "#### 72"
    assert score("numeric_answer", long_answer) == 1.0


@pytest.mark.parametrize("name", [n for n in BUILTIN_REWARDS if n != "composite"])
def test_huge_responses_within_max_chars_still_score(name):
    huge = "1 " * 200_000 + "#### 1 " + "\u00e9\U0001f600 " * 1000  # numbers, marker and unicode, 400 KB
    options = {"regex_match": {"pattern": "1"}}.get(name, {})
    reference = "B" if name == "multiple_choice" else "1"
    result = BUILTIN_REWARDS[name](sample(huge, reference), max_chars=10**6, **options)
    assert -1.0 <= result["score"] <= 1.0
    assert not any(key.startswith("gaming_") for key in result["metrics"])


# -- numeric_answer ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("42", 42), ("-3.5", Fraction(-7, 2)), ("1,234,567", 1234567), ("$1,200.50", Fraction(240100, 200)),
     ("3/4", Fraction(3, 4)), ("\\frac{3}{4}", Fraction(3, 4)), ("-\\dfrac{1}{2}", Fraction(-1, 2)),
     ("12%", 12), ("1e3", 1000), ("72.", 72), ("abc", None), ("1/0", None)],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("She sold 48/2 = 24 in May, 48 + 24 = 72.\n#### 72", (72, True, 1)),
        ("So the total is $\\boxed{72}$.", (72, True, 1)),
        ("The answer is 1,234.", (1234, True, 1)),
        ("Final answer: \\boxed{\\frac{3}{4}}", (Fraction(3, 4), True, 1)),
        ("48 + 24 = 72", (72, False, 0)),
        ("#### 70\n#### 72", (72, True, 2)),
        ("\\boxed{70, 72}", (70, True, 2)),
        ("no digits", (None, False, 0)),
    ],
)
def test_extract_final_number(response, expected):
    assert extract_final_number(response) == expected


def test_numeric_ordering_excellent_partial_bad_gaming():
    excellent = score("numeric_answer", "48 / 2 = 24; 48 + 24 = 72\n#### 72")
    partial = score("numeric_answer", "48 + 24 = 72")
    wrong_marked = score("numeric_answer", "#### 70")
    wrong = score("numeric_answer", "maybe 70")
    nothing = score("numeric_answer", "I cannot tell.")
    spam = score("numeric_answer", "#### 70\n#### 71\n#### 72")
    assert excellent == 1.0 > partial == 0.5 > wrong_marked == -0.5 > wrong == -0.75 > nothing == -1.0
    assert spam == -1.0


@pytest.mark.parametrize("reference", ["72", "72.0", "#### 72", "\\boxed{72}", "$72", {"answer": "72"},
                                       '{"ground_truth": "72"}', ["71", "72"]])
def test_numeric_reference_forms(reference):
    assert score("numeric_answer", "#### 72", reference=reference) == 1.0


def test_numeric_fractions_thousands_and_tolerance():
    assert score("numeric_answer", "The answer is 0.75", reference="3/4") == 1.0
    assert score("numeric_answer", "#### 1,000,000", reference="1000000") == 1.0
    assert score("numeric_answer", "#### 3.3333333", reference="10/3", rel_tol=1e-6) == 1.0
    assert score("numeric_answer", "#### 3.33", reference="10/3") == -0.5


def test_numeric_require_marker():
    assert score("numeric_answer", "it is 72", require_marker=True) == -0.5


def test_numeric_reference_without_a_number_is_an_error():
    with pytest.raises(ValueError, match="has no number"):
        score("numeric_answer", "#### 72", reference="seventy-two")


def test_numeric_unicode_digits_and_text():
    assert score("numeric_answer", "Ответ: итого — #### 72 🍎") == 1.0


# -- exact_match -------------------------------------------------------------------------------------------


def test_normalize_text():
    assert normalize_text("  The  Eiffel-Tower!! ") == "eiffel tower"
    assert normalize_text("Ｐａｒｉｓ") == "paris"  # full-width letters (NFKC)


def test_exact_match_ordering():
    ref = "Paris"
    exact = score("exact_match", "The answer is: paris.", reference=ref, prompt="Capital of France?")
    partial = score("exact_match", "Answer: Paris, France", reference=ref, prompt="Capital of France?")
    wrong = score("exact_match", "Answer: Lyon", reference=ref, prompt="Capital of France?")
    assert exact == 1.0 > partial > wrong == -1.0


def test_exact_match_stuffing_many_words_earns_little():
    stuffed = "Answer: " + " ".join(["paris", "lyon", "nice", "marseille", "lille", "bordeaux"] * 3)
    assert score("exact_match", stuffed, reference="Paris", prompt="Capital?") < -0.7


def test_exact_match_accepts_any_listed_reference_and_boxed():
    assert score("exact_match", "\\boxed{NYC}", reference=["New York", "NYC"], prompt="city?") == 1.0


def test_exact_match_without_partial_credit():
    assert score("exact_match", "Answer: Paris France", reference="Paris", prompt="q", partial_credit=False) == -1


# -- multiple_choice ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("response", ["The answer is (B).", "Answer: B", "B) 24 clips", "**B**", "\\boxed{B}",
                                      "Reasoning...\nB"])
def test_multiple_choice_correct_forms(response):
    assert score("multiple_choice", response, reference="B", prompt="Pick one: A) 12 B) 24 C) 36 D) 48") == 1.0


def test_multiple_choice_ordering_and_spam():
    prompt = "Pick one: A) 12 B) 24 C) 36 D) 48"
    assert score("multiple_choice", "Answer: C", reference="(B) 24", prompt=prompt) == -0.5
    assert score("multiple_choice", "I am not sure", reference="B", prompt=prompt) == -1.0
    assert score("multiple_choice", "Answer: A\nAnswer: B\nAnswer: C", reference="B", prompt=prompt) == -1.0
    assert metrics("multiple_choice", "Answer: A. Answer: B", reference="B", prompt=prompt) == {
        "gaming_answer_spam": 1}


def test_multiple_choice_reference_must_be_a_choice():
    with pytest.raises(ValueError, match="not one of the choices"):
        score("multiple_choice", "Answer: B", reference="7", prompt="q")


# -- regex_match -------------------------------------------------------------------------------------------


def test_regex_format_compliance_partial_credit():
    options = {"patterns": [r"<think>.+</think>", r"<answer>\s*\d+\s*</answer>"], "flags": ["DOTALL"]}
    full = score("regex_match", "<think>48+24</think><answer>72</answer>", **options)
    half = score("regex_match", "<think>48+24</think> 72", **options)
    none = score("regex_match", "72", **options)
    assert (full, half, none) == (1.0, 0.0, -1.0)


def test_regex_fullmatch():
    assert score("regex_match", "  72  ", pattern=r"\d+", fullmatch=True) == 1.0
    assert score("regex_match", "it is 72", pattern=r"\d+", fullmatch=True) == -1.0


# -- json_valid --------------------------------------------------------------------------------------------


def test_json_ordering():
    keys = {"required_keys": ["name", "age", "address.city"]}
    full = score("json_valid", '{"name": "Ann", "age": 3, "address": {"city": "Oslo"}}', **keys)
    fenced = score("json_valid", '```json\n{"name": "Ann", "age": 3, "address": {"city": "Oslo"}}\n```', **keys)
    wrapped = score("json_valid", 'Sure! {"name": "Ann", "age": 3, "address": {"city": "Oslo"}} Hope it helps',
                    **keys)
    partial = score("json_valid", '{"name": "Ann"}', **keys)
    dummy = score("json_valid", '{"name": "", "age": null, "address": {}}', **keys)
    not_object = score("json_valid", "[1, 2]", **keys)
    broken = score("json_valid", '{"name": "Ann"', **keys)
    assert full == fenced == 1.0 > wrapped == 0.75 > partial == 0.0 > dummy == -0.5 == not_object > broken == -1


def test_json_strict_rejects_surrounding_text():
    assert score("json_valid", 'Here: {"a": 1}', allow_surrounding_text=False) == -1.0


def test_json_unicode():
    assert score("json_valid", '{"名前": "José 🎉"}', required_keys=["名前"]) == 1.0


# -- length and repetition ---------------------------------------------------------------------------------


def test_length_band():
    assert score("length_penalty", "word " * 50, min_length=10, max_length=100) == 1.0
    assert score("length_penalty", "word " * 5, min_length=10, max_length=100) == 0.0
    assert score("length_penalty", "word " * 150, min_length=10, max_length=100) == 0.0
    assert score("length_penalty", "word " * 300, min_length=10, max_length=100) == -1.0


def test_repetition():
    varied = " ".join(f"w{i}" for i in range(60))
    looped = "the cat sat on the mat " * 20
    assert score("repetition_penalty", varied) == 1.0
    assert score("repetition_penalty", looped) < -0.8


# -- composite ---------------------------------------------------------------------------------------------


COMPONENTS = [
    {"reward": "numeric_answer", "weight": 3},
    {"reward": "regex_match", "weight": 1, "options": {"pattern": "####"}},
]


def test_composite_weighted_mean_and_metrics():
    result = BUILTIN_REWARDS["composite"](sample("48 + 24 = 72"), components=COMPONENTS)
    assert result["score"] == pytest.approx((3 * 0.5 + 1 * -1.0) / 4)
    assert result["metrics"]["numeric_answer"] == 0.5
    assert result["metrics"]["numeric_answer.correct"] == 1


def test_composite_gaming_in_any_component_forces_minimum():
    components = [{"reward": "length_penalty", "weight": 10}, {"reward": "numeric_answer", "weight": 1}]
    result = BUILTIN_REWARDS["composite"](sample("#### 70\n#### 72"), components=components)
    assert result["score"] == -1.0


# -- options validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "options", "problem"),
    [
        ("numeric_answer", {"rel_tol": "x"}, ("rel_tol", "'x' must be a finite number")),
        ("numeric_answer", {"tolerance": 1}, ("tolerance", "is not an option of 'numeric_answer'; accepted: rel_tol")),
        ("regex_match", {}, ("pattern", "is required (or patterns)")),
        ("regex_match", {"pattern": "("}, ("pattern", "'(' is not a valid regular expression")),
        ("regex_match", {"pattern": "a", "flags": ["X"]}, ("flags", "['X'] item 'X' must be one of IGNORECASE")),
        ("multiple_choice", {"choices": "AA"}, ("choices", "'AA' must be at least two distinct letters")),
        ("json_valid", {"required_keys": "name"}, ("required_keys", "'name' must be a list")),
        ("length_penalty", {"min_length": 10, "max_length": 5}, ("min_length", "must not exceed max_length")),
        ("composite", {}, ("components", "is required")),
        ("composite", {"components": [{"reward": "composite"}]}, ("components", "reward 'composite' must be one")),
        ("composite", {"components": [{"reward": "regex_match", "options": {}}]},
         ("components", "item 0: options.pattern is required")),
        ("composite", {"components": [{"reward": "exact_match", "weight": 0}]}, ("components", "weight 0 must be")),
    ],
)
def test_option_problems_name_the_option_and_rule(name, options, problem):
    problems = option_problems(name, options)
    assert problems
    key, message = problems[0]
    assert key == problem[0]
    assert problem[1] in message


def test_valid_options_have_no_problems():
    assert option_problems("composite", {"components": COMPONENTS}) == []
    assert option_problems("numeric_answer", {"rel_tol": 1e-4, "require_marker": True}) == []


def test_every_builtin_is_documented():
    for name, builtin in BUILTIN_REWARDS.items():
        assert builtin.summary.startswith("Reward") or builtin.summary.startswith("Weighted"), name


# -- sample field extraction -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "response"),
    [
        ({"messages": [{"role": "nova_assistant", "content": [{"type": "text", "text": "a"}, {"text": "b"}]}]}, "ab"),
        ({"messages": [{"role": "assistant", "content": {"text": "x"}}]}, "x"),
        ({"completion": "c", "messages": [{"role": "assistant", "content": "m"}]}, "c"),
        ({"prompt": [{"role": "user", "content": "q"}]}, ""),
        ({"messages": "not a list"}, ""),
    ],
)
def test_response_text(row, response):
    assert response_text(row) == response


@pytest.mark.parametrize(
    ("row", "reference"),
    [
        ({"reward_model": {"ground_truth": "42", "style": "rule"}}, "42"),
        ({"reference_answer": {"label": "B"}}, "B"),
        ({"reference_answer": '{"answer": 5}'}, "5"),
        ({"reference_answer": "plain {not json"}, "plain {not json"),
        ({"reference_answer": 3.5}, "3.5"),
        ({"reward_model": {"ground_truth": ""}, "extra_info": {"answer": "9"}}, "9"),
        ({}, None),
    ],
)
def test_reference_answer(row, reference):
    assert reference_answer(row) == reference
