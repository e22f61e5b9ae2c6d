"""The reward Lambda handler: decode the event, score each sample on its own, answer in the family's envelope.

Configuration (environment variables the ``RewardFunction`` construct sets):

* ``REWARD_BUILTIN``: name of a built-in reward, or ``REWARD_MODULE``: module defining ``reward(sample)``;
* ``REWARD_OPTIONS``: JSON object of keyword options for the built-in (default ``{}``);
* ``REWARD_SCORE_RANGE``: JSON ``[low, high]`` (default ``[-1, 1]``); user scores are clamped into it,
  built-in scores (natively in [-1, 1]) are rescaled into it;
* ``REWARD_ERROR_SCORE``: score of a sample whose reward raised (default: ``low``);
* ``REWARD_ENVELOPE``: ``open-weight`` (``{statusCode, headers, body}``, default) or ``nova`` (bare list).

Events accepted: a list of samples, ``{"batch": [...]}``, ``{"input": ...}``, ``{"body": "<json>"}`` decoding
to any of these, or a single sample dict. A malformed event gets a structured error (HTTP 400 envelope, or
``{errorType, errorMessage}`` for Nova), never an exception. A sample whose reward raises or returns a
non-finite score scores ``REWARD_ERROR_SCORE`` with an ``error`` metric, and is logged. Nova answers (serialized
by the Lambda runtime as UTF-8) get lone surrogates in their strings replaced by U+FFFD.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from .sample import Sample

LOG = logging.getLogger("reward")
LOG.setLevel(logging.INFO)

ENVELOPES = ("open-weight", "nova")
MAX_NESTING = 4
HEADERS = {"Content-Type": "application/json"}
RESERVED_METRICS = ("error", "clamped")
SURROGATE = re.compile("[\ud800-\udfff]")


class EventError(ValueError):
    """The event or the configuration is unusable; answered with a structured error."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class RewardConfig:
    """How to score: ``reward(sample) -> float | dict``, the score range, the envelope.

    ``rescale`` maps native [-1, 1] scores linearly into ``score_range`` (built-ins) instead of only clamping.
    ``error_score`` defaults to the low end of the range. (A plain class: ``dataclasses`` costs import time.)
    """

    __slots__ = ("reward", "score_range", "error_score", "envelope", "rescale", "name")

    def __init__(
        self,
        *,
        reward: Callable[[Sample], Any],
        score_range: tuple[float, float] = (-1.0, 1.0),
        error_score: float | None = None,
        envelope: str = "open-weight",
        rescale: bool = False,
        name: str = "reward",
    ) -> None:
        self.reward = reward
        self.score_range = (float(score_range[0]), float(score_range[1]))
        self.error_score = error_score
        self.envelope = envelope
        self.rescale = rescale
        self.name = name

    @property
    def floor(self) -> float:
        return self.score_range[0] if self.error_score is None else self.error_score


# -- configuration -------------------------------------------------------------------------------------------


def builtin_config(name: str, options: Mapping[str, Any] | None = None, **kwargs: Any) -> RewardConfig:
    """Configuration scoring with the built-in ``name`` (options validated up front)."""
    from .builtins import BUILTIN_REWARDS, option_problems

    if name not in BUILTIN_REWARDS:
        raise EventError(
            "ConfigurationError", f"unknown built-in reward {name!r}; built-ins: {', '.join(BUILTIN_REWARDS)}"
        )
    options = dict(options or {})
    problems = option_problems(name, options)
    if problems:
        detail = "; ".join(f"{key}: {message}" for key, message in problems)
        raise EventError("ConfigurationError", f"invalid options for built-in reward {name!r}: {detail}")
    fn = BUILTIN_REWARDS[name].fn
    reward = functools.partial(fn, **options) if options else fn
    return RewardConfig(reward=reward, rescale=True, name=name, **kwargs)


def module_config(module_name: str, **kwargs: Any) -> RewardConfig:
    """Configuration scoring with ``reward(sample)`` from the importable module ``module_name``."""
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module may raise anything at import
        raise EventError(
            "ConfigurationError", f"cannot import reward module {module_name!r}: {exc!r}"
        ) from exc
    reward = getattr(module, "reward", None)
    if not callable(reward):
        raise EventError(
            "ConfigurationError", f"reward module {module_name!r} defines no reward(sample) function"
        )
    return RewardConfig(reward=reward, name=module_name, **kwargs)


def _range_from(text: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in json.loads(text))
    except (ValueError, TypeError) as exc:
        raise EventError(
            "ConfigurationError", f"REWARD_SCORE_RANGE {text!r} must be a JSON [low, high]"
        ) from exc
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise EventError("ConfigurationError", f"REWARD_SCORE_RANGE {text!r} must be finite with low < high")
    return low, high


def config_from_env(env: Mapping[str, str]) -> RewardConfig:
    """Build the configuration from environment variables (see the module docstring)."""
    envelope = env.get("REWARD_ENVELOPE", "open-weight")
    if envelope not in ENVELOPES:
        raise EventError(
            "ConfigurationError", f"REWARD_ENVELOPE {envelope!r} must be one of {', '.join(ENVELOPES)}"
        )
    kwargs: dict[str, Any] = {
        "envelope": envelope,
        "score_range": _range_from(env.get("REWARD_SCORE_RANGE", "[-1, 1]")),
    }
    if env.get("REWARD_ERROR_SCORE"):
        try:
            kwargs["error_score"] = float(env["REWARD_ERROR_SCORE"])
        except ValueError as exc:
            raise EventError("ConfigurationError", "REWARD_ERROR_SCORE must be a number") from exc
    if env.get("REWARD_BUILTIN"):
        try:
            options = json.loads(env.get("REWARD_OPTIONS") or "{}")
        except ValueError as exc:
            raise EventError("ConfigurationError", f"REWARD_OPTIONS is not JSON: {exc}") from exc
        if not isinstance(options, dict):
            raise EventError("ConfigurationError", "REWARD_OPTIONS must be a JSON object")
        return builtin_config(env["REWARD_BUILTIN"], options, **kwargs)
    if env.get("REWARD_MODULE"):
        return module_config(env["REWARD_MODULE"], **kwargs)
    raise EventError("ConfigurationError", "set REWARD_BUILTIN or REWARD_MODULE")


_ENV_KEYS = (
    "REWARD_BUILTIN",
    "REWARD_MODULE",
    "REWARD_OPTIONS",
    "REWARD_SCORE_RANGE",
    "REWARD_ERROR_SCORE",
    "REWARD_ENVELOPE",
)
_cache: dict[tuple[str | None, ...], RewardConfig] = {}


def _env_config() -> RewardConfig:
    key = tuple(os.environ.get(k) for k in _ENV_KEYS)
    if key not in _cache:
        _cache[key] = config_from_env(os.environ)
    return _cache[key]


# -- events --------------------------------------------------------------------------------------------------


def samples_from_event(event: Any, depth: int = 0) -> list[Any]:
    """The list of samples in any accepted event shape; raises :class:`EventError` otherwise."""
    if depth > MAX_NESTING:
        raise EventError("InvalidEvent", f"event nests body/input/batch more than {MAX_NESTING} levels")
    if isinstance(event, list):
        return event
    if isinstance(event, (str, bytes, bytearray)):
        try:
            decoded = json.loads(event)
        except (ValueError, RecursionError) as exc:
            raise EventError("InvalidEvent", f"event body is not JSON: {str(exc)[:200]}") from None
        return samples_from_event(decoded, depth + 1)
    if isinstance(event, dict):
        for key in ("batch", "body", "input"):
            if key in event and event[key] is not None:
                return samples_from_event(event[key], depth + 1)
        if event and any(
            k in event for k in ("messages", "prompt", "reference_answer", "reward_model", "id")
        ):
            return [event]
        raise EventError(
            "InvalidEvent",
            'expected a list of samples, {"batch": [...]}, {"body": "<json>"} '
            f'or {{"input": ...}}; got an object with keys {sorted(map(str, event))[:10]}',
        )
    raise EventError("InvalidEvent", f"expected a list of samples or an object, got {type(event).__name__}")


# -- scoring -------------------------------------------------------------------------------------------------


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return float(value)


def _split(result: Any) -> tuple[Any, dict[str, Any]]:
    """``(score, metrics)`` from a number or a dict (``score``/``aggregate_reward_score``/``reward``)."""
    if not isinstance(result, dict):
        return result, {}
    for key in ("score", "aggregate_reward_score", "reward"):
        if key in result:
            score = result[key]
            break
    else:
        raise ValueError("a reward dict needs a 'score' (or 'aggregate_reward_score') entry")
    metrics = result.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise TypeError(f"'metrics' must be a mapping of name to number, got {type(metrics).__name__}")
    if result.get("metrics_list"):
        metrics = dict(metrics)
        for entry in result["metrics_list"]:
            if isinstance(entry, dict) and "name" in entry:
                metrics[str(entry["name"])] = entry.get("value")
    return score, metrics


def _metric(name: Any, value: Any) -> dict[str, Any]:
    """A ``Metric`` entry; raises for a non-finite or non-numeric value."""
    if type(value) not in (int, float) or not math.isfinite(value):
        value = _finite(value, f"metric {name!r}")
    label = name if type(name) is str and len(name) <= 128 else str(name)[:128]
    return {"name": label, "value": value, "type": "Metric"}


def score_sample(row: Any, index: int, config: RewardConfig) -> dict[str, Any]:
    """One result entry ``{id, aggregate_reward_score, metrics_list}``; never raises for a bad sample."""
    sample_id = row.get("id", index) if type(row) is dict else index
    if type(sample_id) is not str:
        sample_id = _jsonable(sample_id)
    try:
        if not isinstance(row, dict):
            raise TypeError(f"a sample must be an object, got {type(row).__name__}")
        raw_score, raw_metrics = _split(config.reward(Sample(row, index)))
        score = (
            raw_score
            if type(raw_score) is float and math.isfinite(raw_score)
            else _finite(raw_score, "score")
        )
    except Exception as exc:  # one bad sample must never fail the batch
        LOG.error(
            json.dumps(
                {"event": "reward_error", "id": sample_id, "reward": config.name, "error": describe(exc)}
            )
        )
        return {
            "id": sample_id,
            "aggregate_reward_score": config.floor,
            "metrics_list": [{"name": "error", "value": 1, "type": "Metric"}],
        }
    low, high = config.score_range
    if config.rescale:
        score = low + (score + 1.0) / 2.0 * (high - low)
    clamped = high if score > high else low if score < low else score
    metrics = [{"name": "clamped", "value": 1, "type": "Metric"}] if clamped != score else []
    for name, value in raw_metrics.items():
        if name in RESERVED_METRICS:
            continue
        try:
            if (
                type(name) is str
                and (type(value) is int or type(value) is float)
                and len(name) <= 128
                and math.isfinite(value)
            ):
                metrics.append({"name": name, "value": value, "type": "Metric"})  # the common case, inlined
            else:
                metrics.append(_metric(name, value))
        except (TypeError, ValueError, OverflowError) as exc:
            LOG.warning(json.dumps({"event": "metric_dropped", "id": sample_id, "error": str(exc)[:300]}))
    return {"id": sample_id, "aggregate_reward_score": clamped, "metrics_list": metrics}


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, even when its ``__str__`` itself fails."""
    try:
        text = str(exc)
    except Exception:
        text = "<unprintable error>"
    return f"{type(exc).__name__}: {text}"[:1000]


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value if not isinstance(value, float) or math.isfinite(value) else str(value)
    return str(value)[:256]


# -- envelope ------------------------------------------------------------------------------------------------


def utf8_safe(text: str) -> str:
    """``text`` with lone surrogates (``"\\ud800"`` in JSON input) replaced by U+FFFD.

    The Lambda runtime serializes a handler's answer with ``ensure_ascii=False`` and encodes it as UTF-8,
    which rejects lone surrogates: the Nova envelope's strings must be valid UTF-8.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return SURROGATE.sub("\ufffd", text)


def _wrap(results: list[dict[str, Any]], envelope: str) -> Any:
    if envelope == "nova":  # returned as is: the Lambda runtime serializes it
        for result in results:
            if type(result["id"]) is str:
                result["id"] = utf8_safe(result["id"])
            for metric in result["metrics_list"]:
                metric["name"] = utf8_safe(metric["name"])
        return results
    return {"statusCode": 200, "headers": HEADERS, "body": json.dumps(results)}


def _error(error: EventError, envelope: str) -> dict[str, Any]:
    LOG.error(json.dumps({"event": "invalid_request", "type": error.error_type, "error": str(error)[:1000]}))
    payload = {"errorType": error.error_type, "errorMessage": utf8_safe(str(error))}
    if envelope == "nova":
        return payload
    return {"statusCode": 400, "headers": HEADERS, "body": json.dumps({"error": payload})}


def handle(event: Any, config: RewardConfig) -> Any:
    """Score every sample in ``event`` with ``config`` and wrap the results in the configured envelope."""
    try:
        samples = samples_from_event(event)
    except EventError as exc:
        return _error(exc, config.envelope)
    started = time.perf_counter()
    results = [score_sample(row, index, config) for index, row in enumerate(samples)]
    errors = sum(1 for r in results if r["metrics_list"] and r["metrics_list"][0]["name"] == "error")
    LOG.info(
        json.dumps(
            {
                "event": "batch_scored",
                "samples": len(results),
                "errors": errors,
                "ms": round((time.perf_counter() - started) * 1000, 2),
            }
        )
    )
    return _wrap(results, config.envelope)


def lambda_handler(event: Any, context: Any = None) -> Any:
    """Lambda entry point: configuration from the environment, then :func:`handle`."""
    try:
        config = _env_config()
    except EventError as exc:
        envelope = os.environ.get("REWARD_ENVELOPE", "open-weight")
        return _error(exc, envelope if envelope in ENVELOPES else "open-weight")
    try:
        return handle(event, config)
    except Exception as exc:  # last resort: the contract is a structured answer, never a crash
        return _error(EventError("InternalError", describe(exc)), config.envelope)
