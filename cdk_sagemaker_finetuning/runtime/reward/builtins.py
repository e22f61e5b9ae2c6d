"""Built-in rewards, selectable by name in the spec (``reward.builtin``) with keyword ``reward.options``.

Every built-in returns ``{"score": float in [-1, 1], "metrics": {name: number}}``; the handler rescales the
score into the configured ``score_range``. Each one runs the shared anti-gaming checks first
(:func:`gaming_reason`): an empty response, a response longer than ``max_chars`` (padding) or one that mostly
repeats the prompt scores -1 with a ``gaming_<reason>`` metric, so no other component can pay for it.

* ``numeric_answer``: the final number equals the reference; several different marked answers score -1.
* ``exact_match``: the normalized answer equals a reference; precision-weighted token F1 as partial credit.
* ``multiple_choice``: the chosen letter equals the reference; asserting several letters scores -1.
* ``regex_match``: format compliance, the share of ``pattern``/``patterns`` the response matches.
* ``json_valid``: JSON with every ``required_keys`` entry filled; null/empty values do not count.
* ``length_penalty``: length within ``[min_length, max_length]`` words.
* ``repetition_penalty``: few repeated word n-grams.
* ``composite``: weighted mean of other built-ins; any component's gaming flag forces -1.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from .sample import Sample

RewardResult = dict[str, Any]
Number = int | float
DEFAULT_MAX_CHARS = 20_000
ECHO_MIN_PROMPT_CHARS = 20


# -- shared checks -------------------------------------------------------------------------------------------


def gaming_reason(sample: Sample, max_chars: int) -> str | None:
    """Why a response is gaming the reward (``empty``, ``padding``, ``echo``), or None."""
    response = sample.response
    stripped = response.strip()
    if not stripped:
        return "empty"
    if len(response) > max_chars:
        return "padding"
    prompt = sample.prompt.strip()
    if len(prompt) >= ECHO_MIN_PROMPT_CHARS and prompt in stripped and len(prompt) * 2 >= len(stripped):
        return "echo"
    return None


def _gamed(reason: str) -> RewardResult:
    return {"score": -1.0, "metrics": {f"gaming_{reason}": 1}}


def _linear(fraction: float, low: float = -1.0, high: float = 1.0) -> float:
    return low + (high - low) * min(1.0, max(0.0, fraction))


_NON_WORD = re.compile(r"[^\w\s]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_SPACES = re.compile(r"\s+")


def normalize_text(text: str, *, drop_articles: bool = True) -> str:
    """NFKC, case-folded, punctuation removed, articles dropped (optional), whitespace collapsed."""
    text = _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold())
    if drop_articles:
        text = _ARTICLES.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


# -- numeric_answer ------------------------------------------------------------------------------------------

_NUM = r"[-+]?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?%?(?:\s*/\s*\d+(?:\.\d+)?)?"
_FRAC = r"[-+]?\\d?frac\{[^{}]{1,40}\}\{[^{}]{1,40}\}"
_NUMBER_RE = re.compile(rf"{_FRAC}|{_NUM}")
# Each marker regex starts with a literal, so the engine skips ahead instead of trying every position.
_HASH_RE = re.compile(rf"####\s*({_FRAC}|{_NUM})")
_BOXED_RE = re.compile(r"\\boxed\{([^{}]{0,80}(?:\{[^{}]{0,40}\}[^{}]{0,40}){0,4})\}")
_SAID_RE = re.compile(rf"answer(?:\s+is)?\s*[:=]?\s*\**\s*({_FRAC}|{_NUM})")  # on lower-cased text
_LATEX_FRAC = re.compile(r"^([-+]?)\\d?frac\{([^{}]+)\}\{([^{}]+)\}$")


def parse_number(text: str) -> Number | None:
    """A number such as ``42``, ``-1.5``, ``1,234``, ``$5``, ``12%``, ``3/4``, ``\\frac{3}{4}``, ``1e3``.

    Integers stay exact ``int``; everything else is a finite ``float``.
    """
    text = text.strip().replace(" ", "").rstrip(".")
    if text.isascii() and text.isdigit():
        return int(text)
    latex = _LATEX_FRAC.match(text)
    if latex:
        num, den = parse_number(latex.group(2)), parse_number(latex.group(3))
        if num is None or not den:
            return None
        value = num / den
        return -value if latex.group(1) == "-" else value
    text = text.replace("$", "").replace(",", "").rstrip("%")
    try:
        if "/" in text:
            top, _, bottom = text.partition("/")
            value = float(top) / float(bottom)
        elif text.lstrip("+-").isascii() and text.lstrip("+-").isdigit():
            return int(text)
        else:
            value = float(text)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _numbers_equal(a: Number, b: Number, rel_tol: float, abs_tol: float) -> bool:
    try:
        return a == b or math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)
    except OverflowError:  # an integer too large for a float equals nothing else
        return False


def extract_final_number(text: str) -> tuple[Number | None, bool, int]:
    """``(value, marked, distinct marked values)``: the last marked answer, else the text's last number."""
    boxed, said = "\\boxed" in text, "nswer" in text or "NSWER" in text
    if not boxed and not said and "####" in text:  # GSM8K style only: no ordering between marker kinds needed
        hashed = [v for raw in _HASH_RE.findall(text) if (v := parse_number(raw)) is not None]
        if hashed:
            return hashed[-1], True, len(set(hashed))
    found: list[tuple[int, str]] = []
    spam = False
    if "####" in text:
        found += [(m.start(), m.group(1)) for m in _HASH_RE.finditer(text)]
    if boxed:
        for match in _BOXED_RE.finditer(text):
            inside = _NUMBER_RE.findall(match.group(1))
            spam = spam or len(inside) > 1
            found.append((match.start(), inside[0] if inside else ""))
    if said:
        found += [(m.start(), m.group(1)) for m in _SAID_RE.finditer(text.lower())]
    marked = [value for _, raw in sorted(found) if (value := parse_number(raw)) is not None]
    if marked:
        return marked[-1], True, max(len(set(marked)), 2 if spam else 1)
    numbers = _NUMBER_RE.findall(text)
    for raw in reversed(numbers):
        value = parse_number(raw)
        if value is not None:
            return value, False, 0
    return None, False, 0


def numeric_answer(
    sample: Sample,
    *,
    rel_tol: float = 1e-6,
    abs_tol: float = 1e-9,
    require_marker: bool = False,
    unmarked_credit: float = 0.5,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> RewardResult:
    """Reward a final number equal to the reference (GSM8K ``#### 42``, ``\\boxed{}``, "the answer is").

    Scores: correct and marked 1.0; correct but only as the last number ``unmarked_credit`` (0.5; -0.5 with
    ``require_marker``); wrong but marked -0.5; wrong -0.75; no number -1. Marking two or more different final
    answers (answer spam) scores -1. Fractions, decimals, thousands separators, ``$`` and ``%`` are
    understood; the reference may itself be written with ``####`` or ``\\boxed{}``.
    """
    reason = gaming_reason(sample, max_chars)
    if reason:
        return _gamed(reason)
    references = []
    for ref in sample.references():
        value = parse_number(ref)
        if value is None:
            value = extract_final_number(ref)[0]
        if value is not None:
            references.append(value)
    if not references:
        raise ValueError(f"reference answer {sample.reference!r} has no number")
    value, marked, distinct = extract_final_number(sample.response)
    if distinct > 1:
        return _gamed("answer_spam")
    if value is None:
        return {"score": -1.0, "metrics": {"correct": 0, "formatted": 0}}
    correct = False
    for expected in references:
        if _numbers_equal(value, expected, rel_tol, abs_tol):
            correct = True
            break
    if correct:
        score = 1.0 if marked else (-0.5 if require_marker else unmarked_credit)
    else:
        score = -0.5 if marked else -0.75
    return {"score": score, "metrics": {"correct": int(correct), "formatted": int(marked)}}


# -- exact_match ---------------------------------------------------------------------------------------------

_ANSWER_LINE = re.compile(r"(?:####|final answer\s*:?|the answer is\s*:?|answer\s*:)\s*(.+)", re.IGNORECASE)
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")


def _final_answer(text: str, extract: str) -> str:
    if extract == "full":
        return text
    if extract == "last_line":
        lines = [line for line in text.splitlines() if line.strip()]
        return lines[-1] if lines else ""
    boxed = _BOXED.findall(text)
    if boxed:
        return boxed[-1]
    marked = _ANSWER_LINE.findall(text)
    return marked[-1] if marked else text


def token_f1(prediction: str, reference: str) -> float:
    """Token-level F1 of two normalized strings (SQuAD style)."""
    pred, ref = prediction.split(), reference.split()
    if not pred or not ref:
        return float(pred == ref)
    counts: dict[str, int] = {}
    for token in ref:
        counts[token] = counts.get(token, 0) + 1
    common = 0
    for token in pred:
        if counts.get(token, 0) > 0:
            counts[token] -= 1
            common += 1
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def exact_match(
    sample: Sample,
    *,
    extract: str = "auto",
    partial_credit: bool = True,
    drop_articles: bool = True,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> RewardResult:
    """Reward an answer equal to a reference after normalization (case, punctuation, articles, whitespace).

    ``extract``: ``auto`` (the last ``\\boxed{}`` or "answer:" line, else the whole response), ``full`` or
    ``last_line``. Exact match scores 1.0; otherwise token F1 gives -1 + 1.5 * F1 (at most 0.5), or -1 without
    ``partial_credit``. F1 weighs precision, so stuffing extra words into the answer lowers the score.
    """
    reason = gaming_reason(sample, max_chars)
    if reason:
        return _gamed(reason)
    references = [normalize_text(r, drop_articles=drop_articles) for r in sample.references()]
    if not references:
        raise ValueError("the sample has no reference answer")
    answer = normalize_text(_final_answer(sample.response, extract), drop_articles=drop_articles)
    if answer in references:
        return {"score": 1.0, "metrics": {"exact": 1, "f1": 1.0}}
    f1 = max(token_f1(answer, ref) for ref in references)
    score = -1.0 + 1.5 * f1 if partial_credit else -1.0
    return {"score": score, "metrics": {"exact": 0, "f1": round(f1, 4)}}


# -- multiple_choice -----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _choice_patterns(choices: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    letters = re.escape(choices)
    marked = re.compile(
        rf"(?:answer(?:\s+is)?|choice(?:\s+is)?|option(?:\s+is)?|####|\\boxed\{{)\s*[:=]?\s*[\(\[\*]*([{letters}])\b",
        re.IGNORECASE,
    )
    alone = re.compile(rf"^\s*[\(\[\*]*([{letters}])[\)\]\.:\*]*\s*(?:$|[\)\.:]\s)", re.MULTILINE)
    return marked, alone


def _letter(text: str, choices: str) -> list[str]:
    marked, alone = _choice_patterns(choices)
    found = [m.upper() for m in marked.findall(text)]
    if not found:
        found = [m.upper() for m in alone.findall(text)]
    return [f for f in found if f in choices.upper()]


def multiple_choice(
    sample: Sample, *, choices: str = "ABCDE", max_chars: int = DEFAULT_MAX_CHARS
) -> RewardResult:
    """Reward choosing the reference letter ("The answer is (B)", "Answer: B", a line with just "B)").

    Correct 1.0, another letter -0.5, no letter found -1. Asserting two or more different letters as the
    answer (answer spam, e.g. "Answer: A ... Answer: C") scores -1. The reference may be "B", "(B)" or
    "B) text".
    """
    reason = gaming_reason(sample, max_chars)
    if reason:
        return _gamed(reason)
    upper = choices.upper()
    references = set()
    for ref in sample.references():
        letters = _letter(ref, upper) or [c for c in ref.strip()[:1].upper() if c in upper]
        references.update(letters[:1])
    if not references:
        raise ValueError(f"reference answer {sample.reference!r} is not one of the choices {choices!r}")
    chosen = _letter(sample.response, upper)
    if len(set(chosen)) > 1:
        return _gamed("answer_spam")
    if not chosen:
        return {"score": -1.0, "metrics": {"correct": 0, "formatted": 0}}
    correct = chosen[-1] in references
    return {"score": 1.0 if correct else -0.5, "metrics": {"correct": int(correct), "formatted": 1}}


# -- regex_match ---------------------------------------------------------------------------------------------

_FLAGS = {"IGNORECASE": re.IGNORECASE, "MULTILINE": re.MULTILINE, "DOTALL": re.DOTALL}


def _compile(patterns: list[str], flags: list[str]) -> list[re.Pattern[str]]:
    value = 0
    for flag in flags:
        value |= _FLAGS[flag]
    return [re.compile(p, value) for p in patterns]


def regex_match(
    sample: Sample,
    *,
    pattern: str | None = None,
    patterns: list[str] | None = None,
    fullmatch: bool = False,
    flags: list[str] | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> RewardResult:
    """Reward format compliance: the share of ``pattern``/``patterns`` matched, mapped to [-1, 1].

    ``fullmatch`` requires each pattern to match the whole (stripped) response; ``flags`` takes
    ``IGNORECASE``, ``MULTILINE``, ``DOTALL``. Use it for "answer in <answer></answer> tags" style rules.
    """
    reason = gaming_reason(sample, max_chars)
    if reason:
        return _gamed(reason)
    compiled = _compile(([pattern] if pattern else []) + list(patterns or []), list(flags or []))
    text = sample.response.strip()
    hits = sum(1 for p in compiled if (p.fullmatch(text) if fullmatch else p.search(text)))
    share = hits / len(compiled)
    return {"score": _linear(share), "metrics": {"matched": round(share, 4)}}


# -- json_valid ----------------------------------------------------------------------------------------------

_FENCE = re.compile(r"```(?:json)?\s*\n?(.*?)```", re.DOTALL | re.IGNORECASE)
_MISSING: tuple[object, ...] = (None, "", [], {})


def _lookup(document: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(document, dict) or part not in document:
            return None
        document = document[part]
    return document


def _parse_json(text: str, allow_surrounding_text: bool) -> tuple[Any, bool] | None:
    """``(document, had surrounding text)``, or None when there is no JSON."""
    stripped = text.strip()
    fence = _FENCE.search(stripped)
    if fence and fence.group(0) == stripped:
        stripped = fence.group(1).strip()
    try:
        return json.loads(stripped), False
    except ValueError:
        pass
    if not allow_surrounding_text:
        return None
    candidates = [fence.group(1)] if fence else []
    start, end = stripped.find("{"), stripped.rfind("}")
    if 0 <= start < end:
        candidates.append(stripped[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate), True
        except ValueError:
            continue
    return None


def json_valid(
    sample: Sample,
    *,
    required_keys: list[str] | None = None,
    allow_surrounding_text: bool = True,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> RewardResult:
    """Reward a JSON response that has every ``required_keys`` entry (dotted paths) with a non-empty value.

    Not JSON -1; JSON but not an object while keys are required -0.5; otherwise -0.5 + 1.5 * share of keys
    filled (1.0 with all). Keys whose value is null, "", [] or {} do not count (dummy content). A code fence
    around the whole response is fine; other text around the JSON costs 0.25, or scores -1 without
    ``allow_surrounding_text``.
    """
    reason = gaming_reason(sample, max_chars)
    if reason:
        return _gamed(reason)
    parsed = _parse_json(sample.response, allow_surrounding_text)
    if parsed is None:
        return {"score": -1.0, "metrics": {"valid_json": 0}}
    document, surrounded = parsed
    keys = list(required_keys or [])
    if keys and not isinstance(document, dict):
        return {"score": -0.5, "metrics": {"valid_json": 1, "keys_present": 0.0}}
    filled = sum(1 for key in keys if _lookup(document, key) not in _MISSING)
    share = filled / len(keys) if keys else 1.0
    score = -0.5 + 1.5 * share - (0.25 if surrounded else 0.0)
    metrics = {"valid_json": 1, "keys_present": round(share, 4), "surrounded": int(surrounded)}
    return {"score": score, "metrics": metrics}


# -- length and repetition -----------------------------------------------------------------------------------


def length_penalty(
    sample: Sample, *, min_length: int = 1, max_length: int = 512, max_chars: int = DEFAULT_MAX_CHARS
) -> RewardResult:
    """Reward a response of ``min_length`` to ``max_length`` words (1.0); the score falls linearly to -1 at
    zero words below the band and at twice ``max_length`` above it. Best used inside ``composite``."""
    reason = gaming_reason(sample, max_chars)
    if reason:
        return _gamed(reason)
    words = len(sample.response.split())
    if words < min_length:
        score = _linear(words / min_length)
    elif words > max_length:
        score = _linear(1 - (words - max_length) / max_length)
    else:
        score = 1.0
    return {"score": score, "metrics": {"words": words}}


def repetition_penalty(
    sample: Sample, *, n: int = 3, tolerance: float = 0.1, max_chars: int = DEFAULT_MAX_CHARS
) -> RewardResult:
    """Reward responses without repeated word ``n``-grams: with ``r`` the share of repeated n-grams, 1.0 up to
    ``tolerance``, then linearly down to -1 when everything repeats. Best used inside ``composite``."""
    reason = gaming_reason(sample, max_chars)
    if reason:
        return _gamed(reason)
    words = sample.response.casefold().split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    repeated = 1 - len(set(grams)) / len(grams) if grams else 0.0
    excess = max(0.0, repeated - tolerance) / (1 - tolerance) if tolerance < 1 else 0.0
    return {"score": _linear(1 - excess), "metrics": {"repeated_ngrams": round(repeated, 4)}}


# -- composite -----------------------------------------------------------------------------------------------


def composite(sample: Sample, *, components: list[Mapping[str, Any]]) -> RewardResult:
    """Weighted mean of other built-ins: ``components: [{reward: name, weight: 1.0, options: {...}}, ...]``.

    Each component's score becomes a metric ``<name>`` and its metrics ``<name>.<metric>``. If any component
    flags gaming, the composite scores -1, so e.g. a length bonus cannot pay for an empty or echoed answer.
    """
    total, weights, metrics = 0.0, 0.0, {}
    gamed = False
    for component in components:
        name = component["reward"]
        weight = float(component.get("weight", 1.0))
        result = BUILTIN_REWARDS[name].fn(sample, **dict(component.get("options") or {}))
        metrics[name] = result["score"]
        for key, value in result["metrics"].items():
            metrics[f"{name}.{key}"] = value
            gamed = gamed or key.startswith("gaming_")
        total += weight * result["score"]
        weights += weight
    return {"score": -1.0 if gamed else total / weights, "metrics": metrics}


# -- registry ------------------------------------------------------------------------------------------------

OptionCheck = Callable[[Any], str | None]


def _number(value: Any) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return None if ok else "must be a finite number"


def _positive_int(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return None if ok else "must be a positive integer"


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _one_of(*allowed: str) -> OptionCheck:
    return lambda value: None if value in allowed else f"must be one of {', '.join(allowed)}"


def _regex(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a regular expression string"
    try:
        re.compile(value)
    except re.error as exc:
        return f"is not a valid regular expression: {exc}"
    return None


def _list_of(check: OptionCheck) -> OptionCheck:
    def validate(value: Any) -> str | None:
        if not isinstance(value, list):
            return "must be a list"
        for item in value:
            problem = check(item)
            if problem:
                return f"item {item!r} {problem}"
        return None

    return validate


def _unit_interval(value: Any) -> str | None:
    return _number(value) or (None if 0 <= value < 1 else "must be in [0, 1)")


def _string(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "must be a non-empty string"


def _letters(value: Any) -> str | None:
    ok = isinstance(value, str) and value.isalpha() and len(set(value.upper())) == len(value) > 1
    return None if ok else "must be at least two distinct letters, e.g. 'ABCD'"


def _components(value: Any) -> str | None:
    if not isinstance(value, list) or not value:
        return "must be a non-empty list of {reward, weight, options}"
    for index, item in enumerate(value):
        if not isinstance(item, Mapping) or set(item) - {"reward", "weight", "options"}:
            return f"item {index} must be a mapping with reward, weight and options only"
        name = item.get("reward")
        if name not in BUILTIN_REWARDS or name == "composite":
            allowed = ", ".join(n for n in BUILTIN_REWARDS if n != "composite")
            return f"item {index}: reward {name!r} must be one of {allowed}"
        weight = item.get("weight", 1.0)
        if _number(weight) or weight <= 0:
            return f"item {index}: weight {weight!r} must be a positive number"
        options = item.get("options") or {}
        if not isinstance(options, Mapping):
            return f"item {index}: options must be a mapping"
        problems = option_problems(name, options)
        if problems:
            key, message = problems[0]
            return f"item {index}: options{'.' + key if key else ''} {message}"
    return None


class BuiltinReward:
    """A named reward: ``fn(sample, **options)`` plus a check per accepted option.

    (A plain class: importing ``dataclasses`` would add ~10 ms to the Lambda's cold start.)
    """

    __slots__ = ("fn", "checks", "required")

    def __init__(
        self, fn: Callable[..., RewardResult], checks: Mapping[str, OptionCheck], required: tuple[str, ...] = ()
    ) -> None:
        self.fn = fn
        self.checks = checks
        self.required = required

    def __call__(self, sample: Sample, **options: Any) -> RewardResult:
        return self.fn(sample, **options)

    @property
    def summary(self) -> str:
        return (self.fn.__doc__ or "").strip().splitlines()[0]


_COMMON = {"max_chars": _positive_int}

BUILTIN_REWARDS: dict[str, BuiltinReward] = {
    "numeric_answer": BuiltinReward(
        numeric_answer,
        {
            "rel_tol": _number,
            "abs_tol": _number,
            "require_marker": _boolean,
            "unmarked_credit": _number,
            **_COMMON,
        },
    ),
    "exact_match": BuiltinReward(
        exact_match,
        {
            "extract": _one_of("auto", "full", "last_line"),
            "partial_credit": _boolean,
            "drop_articles": _boolean,
            **_COMMON,
        },
    ),
    "multiple_choice": BuiltinReward(multiple_choice, {"choices": _letters, **_COMMON}),
    "regex_match": BuiltinReward(
        regex_match,
        {
            "pattern": _regex,
            "patterns": _list_of(_regex),
            "fullmatch": _boolean,
            "flags": _list_of(_one_of(*_FLAGS)),
            **_COMMON,
        },
    ),
    "json_valid": BuiltinReward(
        json_valid, {"required_keys": _list_of(_string), "allow_surrounding_text": _boolean, **_COMMON}
    ),
    "length_penalty": BuiltinReward(
        length_penalty, {"min_length": _positive_int, "max_length": _positive_int, **_COMMON}
    ),
    "repetition_penalty": BuiltinReward(
        repetition_penalty,
        {"n": _positive_int, "tolerance": _unit_interval, **_COMMON},
    ),
    "composite": BuiltinReward(composite, {"components": _components}, required=("components",)),
}


def option_problems(name: str, options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems with ``options`` for the built-in ``name`` as ``(option, message)``; empty when valid."""
    builtin = BUILTIN_REWARDS[name]
    problems = [(key, "is required") for key in builtin.required if key not in options]
    for key, value in options.items():
        check = builtin.checks.get(key)
        if check is None:
            accepted = ", ".join(builtin.checks)
            problems.append((key, f"is not an option of {name!r}; accepted: {accepted}"))
            continue
        problem = check(value)
        if problem:
            problems.append((key, f"{_show(value)} {problem}"))
    if not problems and name == "regex_match" and not options.get("pattern") and not options.get("patterns"):
        problems.append(("pattern", "is required (or patterns)"))
    too_short = options.get("min_length", 1) > options.get("max_length", 512) if not problems else False
    if name == "length_penalty" and too_short:
        problems.append(("min_length", "must not exceed max_length"))
    return problems


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
