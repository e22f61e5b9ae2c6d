"""Detect and check the format of a JSONL fine-tuning dataset from a bounded sample (stdlib only).

Rules: `Customization techniques <https://docs.aws.amazon.com/sagemaker/latest/dg/customizing-models-techniques.html>`_ (dataset formats). The first record that parses and matches a known format
decides the format; every later record must classify the same (else ``schema_mismatch``) and pass that
format's field checks. Callers read at
most ``SAMPLE_BYTES``; with ``complete=False`` the bytes after the last newline (a partial line, possibly a
partial UTF-8 character) are ignored instead of being reported. Never raises on any input bytes.

Over 400 lines on purpose: one table of formats, each with its detection and its field checks, read as a whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

SAMPLE_BYTES = 1_048_576
#: Problems listed in a report; the rest are only counted (``FormatReport.unlisted``).
MAX_ERRORS = 1000

FORMATS = (
    "open_weights_sft",
    "open_weights_sft_conv",
    "gpt_oss_sft",
    "open_weights_dpo",
    "gpt_oss_dpo",
    "verl",
    "verl_legacy",
    "nova_sft",
    "nova_dpo",
    "nova_rlvr",
    "sagemaker_eval",
)
ROLES = ("user", "assistant", "system")
PREFERENCE_LABELS = ("preferred", "non-preferred")
NOVA_SCHEMA_VERSION = "bedrock-conversation-2024"

#: Training formats per technique: (open-weight models, Nova). Nova RLAIF is unconfirmed; the RLVR schema
#: is the only candidate, so it is accepted here and the technique itself is checked elsewhere.
_TECHNIQUE_FORMATS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sft": (("open_weights_sft", "open_weights_sft_conv", "gpt_oss_sft"), ("nova_sft",)),
    "dpo": (("open_weights_dpo", "gpt_oss_dpo"), ("nova_dpo",)),
    "rlvr": (("verl", "verl_legacy"), ("nova_rlvr",)),
    "rlaif": (("verl", "verl_legacy"), ("nova_rlvr",)),
}

PARSE_ERROR = "parse_error"
MISSING_FIELD = "missing_field"
INVALID_STRUCTURE = "invalid_structure"
SCHEMA_MISMATCH = "schema_mismatch"


@dataclass(frozen=True)
class RecordError:
    """A problem with one line of the sample (``line`` is 1-based; 0 means the sample as a whole)."""

    line: int
    type: str
    message: str


@dataclass(frozen=True)
class FormatReport:
    """Result of checking a sample.

    ``format`` is the detected format name, or None when no record could be classified. ``records`` counts
    the complete non-blank lines examined. ``confidence`` is ``HIGH`` (no errors), ``LOW`` (field or schema
    errors) or ``NONE`` (a parse error, or no format detected). ``errors`` lists at most ``MAX_ERRORS``
    problems in line order; ``unlisted`` counts the others.
    """

    format: str | None
    records: int
    errors: list[RecordError] = field(default_factory=list)
    confidence: str = "NONE"
    unlisted: int = 0

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.unlisted

    @property
    def ok(self) -> bool:
        return self.format is not None and not self.errors


def formats_for(technique: str, nova: bool) -> tuple[str, ...]:
    """Dataset formats accepted for a technique (``sft|dpo|rlvr|rlaif``) on Nova or open-weight models."""
    try:
        open_weight, nova_formats = _TECHNIQUE_FORMATS[technique.lower()]
    except KeyError:
        raise ValueError(f"technique {technique!r} is not one of {', '.join(_TECHNIQUE_FORMATS)}") from None
    return nova_formats if nova else open_weight


def techniques_for(format: str) -> tuple[str, ...]:
    """Techniques a dataset format can train (empty for evaluation data and unknown formats)."""
    return tuple(
        technique
        for technique, (open_weight, nova_formats) in _TECHNIQUE_FORMATS.items()
        if format in open_weight or format in nova_formats
    )


def is_nova_format(format: str) -> bool:
    return format.startswith("nova_")


def check_sample(data: bytes, *, complete: bool) -> FormatReport:
    """Detect the format of a JSONL sample and check every complete record in it."""
    errors = _Errors()
    detected: str | None = None
    records = 0
    for number, raw in _lines(data, complete):
        records += 1
        record = _parse(number, raw, errors)
        if record is None:
            continue
        kind = classify(record)
        if detected is None:
            if kind is None:
                errors.add(number, INVALID_STRUCTURE, _unknown_message(record))
                continue
            detected = kind
        elif kind != detected:
            message = f"record looks like {kind or 'no known format'}, earlier records are {detected}"
            errors.add(number, SCHEMA_MISMATCH, message)
            continue
        for kind_, message in _CHECKS[detected](record):
            errors.add(number, kind_, message)
    if records == 0:
        errors.add(0, PARSE_ERROR, _empty_message(data, complete))
    return FormatReport(detected, records, errors.listed, errors.confidence(detected), errors.unlisted)


def classify(record: dict[str, Any]) -> str | None:
    """The format one record looks like (detection rules of §6), or None."""
    if "query" in record and "response" in record:
        return "sagemaker_eval"
    prompt = record.get("prompt")
    verifiable = "reward_model" in record or "extra_info" in record
    if "prompt" in record and verifiable and "completion" not in record:
        return "verl" if isinstance(prompt, list) else "verl_legacy"
    if "messages" in record:
        if "reference_answer" in record:
            return "nova_rlvr"
        return _classify_messages(record)
    if "prompt" in record and "chosen" in record and "rejected" in record:
        return "gpt_oss_dpo" if isinstance(prompt, list) else "open_weights_dpo"
    if "prompt" in record and "completion" in record:
        lists = isinstance(prompt, list) or isinstance(record["completion"], list)
        return "open_weights_sft_conv" if lists else "open_weights_sft"
    return None


def _classify_messages(record: dict[str, Any]) -> str:
    """List content (or a Nova ``schemaVersion``) means Nova; anything else is checked as GPT-OSS strings."""
    messages = record["messages"]
    first = messages[0] if isinstance(messages, list) and messages else None
    content = first.get("content") if isinstance(first, dict) else None
    if "schemaVersion" not in record and not isinstance(content, list):
        return "gpt_oss_sft"
    last = messages[-1] if isinstance(messages, list) and messages else None
    return "nova_dpo" if isinstance(last, dict) and "candidates" in last else "nova_sft"


# --- reading -------------------------------------------------------------------------------------------


def _lines(data: bytes, complete: bool) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, bytes) of every complete non-blank line; a UTF-8 BOM is ignored."""
    if not complete:
        cut = data.rfind(b"\n")
        data = data[: cut + 1] if cut >= 0 else b""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if raw.strip():
            yield number, raw


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


class _Errors:
    """Collects problems: lists the first ``MAX_ERRORS``, counts the rest, remembers parse errors."""

    def __init__(self) -> None:
        self.listed: list[RecordError] = []
        self.unlisted = 0
        self.parse_error = False

    def add(self, line: int, kind: str, message: str) -> None:
        self.parse_error = self.parse_error or kind == PARSE_ERROR
        if len(self.listed) < MAX_ERRORS:
            self.listed.append(RecordError(line, kind, message))
        else:
            self.unlisted += 1

    def confidence(self, detected: str | None) -> str:
        if detected is None or self.parse_error:
            return "NONE"
        return "LOW" if self.listed else "HIGH"


def _parse(number: int, raw: bytes, errors: _Errors) -> dict[str, Any] | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        errors.add(number, PARSE_ERROR, f"not valid UTF-8 at byte {exc.start} of the line")
        return None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        errors.add(number, PARSE_ERROR, f"invalid JSON: {exc.msg} (column {exc.colno})")
        return None
    except (ValueError, RecursionError) as exc:
        errors.add(number, PARSE_ERROR, f"invalid JSON: {exc}")
        return None
    if not isinstance(value, dict):
        errors.add(number, INVALID_STRUCTURE, f"expected a JSON object, got {_type(value)}")
        return None
    return value


def _empty_message(data: bytes, complete: bool) -> str:
    if not data.strip():
        return "no records: the data is empty"
    if not complete:
        return f"no complete line in the first {len(data):,} bytes; a record this long cannot be checked"
    return "no records found"


def _unknown_message(record: dict[str, Any]) -> str:
    keys = ", ".join(sorted(map(str, record))[:8]) or "none"
    return (
        f"matches no known format (keys: {keys}); expected e.g. prompt+completion (SFT), "
        "prompt+chosen+rejected (DPO), prompt+reward_model (RLVR), messages (chat) or query+response (eval)"
    )


def _type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


# --- field checks --------------------------------------------------------------------------------------

Problems = list[tuple[str, str]]


def _invalid(message: str) -> tuple[str, str]:
    return (INVALID_STRUCTURE, message)


def _need(record: dict[str, Any], key: str, kind: type, where: str = "") -> tuple[Any, Problems]:
    """The value of a required key when it has the right type, else (None, [problem])."""
    name = f"{where}{key}"
    if not isinstance(record, dict):
        return None, [(INVALID_STRUCTURE, f"'{where[:-1]}' must be an object, got {_type(record)}")]
    if key not in record:
        return None, [(MISSING_FIELD, f"'{name}' is missing")]
    value = record[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        return None, [(INVALID_STRUCTURE, f"'{name}' must be {_type(kind())}, got {_type(value)}")]
    return value, []


def _optional(record: dict[str, Any], key: str, kind: type, where: str = "") -> Problems:
    if key in record and not isinstance(record[key], kind):
        return [(INVALID_STRUCTURE, f"'{where}{key}' must be {_type(kind())}, got {_type(record[key])}")]
    return []


def _role(message: dict[str, Any], where: str) -> Problems:
    role, problems = _need(message, "role", str, where)
    if role is not None and role not in ROLES:
        problems.append((INVALID_STRUCTURE, f"'{where}role' is {role!r}; allowed: {', '.join(ROLES)}"))
    return problems


def _messages(value: Any, name: str, content: type | tuple[type, ...]) -> Problems:
    """A non-empty list of {role, content} messages whose content has the given type."""
    if not isinstance(value, list) or not value:
        return [(INVALID_STRUCTURE, f"'{name}' must be a non-empty list of messages, got {_type(value)}")]
    problems: Problems = []
    for index, message in enumerate(value):
        where = f"{name}[{index}]."
        if not isinstance(message, dict):
            problems.append((INVALID_STRUCTURE, f"'{name}[{index}]' must be an object, got {_type(message)}"))
            continue
        problems += _role(message, where)
        if "content" not in message:
            problems.append((MISSING_FIELD, f"'{where}content' is missing"))
        elif not isinstance(message["content"], content):
            wanted = "a string" if content is str else "a string or a list"
            problems.append(_invalid(f"'{where}content' must be {wanted}, got {_type(message['content'])}"))
    return problems


def _strings(record: dict[str, Any], *keys: str) -> Problems:
    problems: Problems = []
    for key in keys:
        problems += _need(record, key, str)[1]
    return problems


def _check_open_weights_sft(record: dict[str, Any]) -> Problems:
    return _strings(record, "prompt", "completion")


def _check_open_weights_sft_conv(record: dict[str, Any]) -> Problems:
    return _messages(record["prompt"], "prompt", str) + _messages(record["completion"], "completion", str)


def _check_gpt_oss_sft(record: dict[str, Any]) -> Problems:
    return _messages(record["messages"], "messages", str)


def _check_open_weights_dpo(record: dict[str, Any]) -> Problems:
    return _strings(record, "prompt", "chosen", "rejected")


def _check_gpt_oss_dpo(record: dict[str, Any]) -> Problems:
    keys = ("prompt", "chosen", "rejected")
    return [problem for key in keys for problem in _messages(record[key], key, str)]


def _check_verl(record: dict[str, Any]) -> Problems:
    problems = _messages(record["prompt"], "prompt", (str, list))
    problems += _optional(record, "reward_model", dict) + _optional(record, "extra_info", dict)
    problems += _optional(record, "data_source", str) + _optional(record, "ability", str)
    reward_model = record.get("reward_model")
    if isinstance(reward_model, dict):
        problems += _optional(reward_model, "style", str, "reward_model.")
    return problems


def _check_verl_legacy(record: dict[str, Any]) -> Problems:
    problems = _need(record, "prompt", str)[1]
    problems += _optional(record, "reward_model", dict) + _optional(record, "extra_info", dict)
    return problems + _optional(record, "data_source", str) + _optional(record, "ability", str)


def _check_nova_rlvr(record: dict[str, Any]) -> Problems:
    return _messages(record["messages"], "messages", str) + _need(record, "reference_answer", dict)[1]


def _nova_content(value: Any, where: str) -> Problems:
    if not isinstance(value, list) or not value:
        return [_invalid(f"'{where}content' must be a non-empty list of blocks, got {_type(value)}")]
    problems: Problems = []
    for index, block in enumerate(value):
        if not isinstance(block, dict):
            problems.append(_invalid(f"'{where}content[{index}]' must be an object, got {_type(block)}"))
        else:
            problems += _optional(block, "text", str, f"{where}content[{index}].")
    return problems


def _nova_common(record: dict[str, Any]) -> tuple[list[Any], Problems]:
    problems: Problems = []
    version = record.get("schemaVersion", NOVA_SCHEMA_VERSION)
    if version != NOVA_SCHEMA_VERSION:
        problems.append(_invalid(f"'schemaVersion' is {version!r}; expected {NOVA_SCHEMA_VERSION!r}"))
    system = record.get("system", [])
    if not isinstance(system, list):
        problems.append(_invalid(f"'system' must be a list of {{text}} blocks, got {_type(system)}"))
    else:
        for index, block in enumerate(system):
            problems += _need(block, "text", str, f"system[{index}].")[1]
    messages = record["messages"]
    if not isinstance(messages, list) or not messages:
        problems.append((INVALID_STRUCTURE, f"'messages' must be a non-empty list, got {_type(messages)}"))
        return [], problems
    return messages, problems


def _nova_turn(message: Any, index: int) -> Problems:
    if not isinstance(message, dict):
        return [(INVALID_STRUCTURE, f"'messages[{index}]' must be an object, got {_type(message)}")]
    where = f"messages[{index}]."
    return _role(message, where) + _nova_content(message.get("content"), where)


def _check_nova_sft(record: dict[str, Any]) -> Problems:
    messages, problems = _nova_common(record)
    for index, message in enumerate(messages):
        problems += _nova_turn(message, index)
    return problems


def _check_nova_dpo(record: dict[str, Any]) -> Problems:
    messages, problems = _nova_common(record)
    for index, message in enumerate(messages[:-1]):
        problems += _nova_turn(message, index)
    if not messages:
        return problems
    last, where = messages[-1], f"messages[{len(messages) - 1}]."
    problems += _role(last, where)
    candidates, missing = _need(last, "candidates", list, where)
    problems += missing
    labels = set()
    for index, candidate in enumerate(candidates or []):
        at = f"{where}candidates[{index}]."
        if not isinstance(candidate, dict):
            problems.append((INVALID_STRUCTURE, f"'{at[:-1]}' must be an object, got {_type(candidate)}"))
            continue
        problems += _nova_content(candidate.get("content"), at)
        label, missing = _need(candidate, "preferenceLabel", str, at)
        problems += missing
        if label is not None and label not in PREFERENCE_LABELS:
            allowed = ", ".join(PREFERENCE_LABELS)
            problems.append(_invalid(f"'{at}preferenceLabel' is {label!r}; allowed: {allowed}"))
        labels.add(label)
    if candidates is not None and not set(PREFERENCE_LABELS) <= labels:
        problems.append(_invalid(f"'{where}candidates' needs a preferred and a non-preferred answer"))
    return problems


def _check_sagemaker_eval(record: dict[str, Any]) -> Problems:
    problems = _strings(record, "query", "response")
    return problems + _optional(record, "system", str) + _optional(record, "metadata", dict)


_CHECKS: dict[str, Callable[[dict[str, Any]], Problems]] = {
    "open_weights_sft": _check_open_weights_sft,
    "open_weights_sft_conv": _check_open_weights_sft_conv,
    "gpt_oss_sft": _check_gpt_oss_sft,
    "open_weights_dpo": _check_open_weights_dpo,
    "gpt_oss_dpo": _check_gpt_oss_dpo,
    "verl": _check_verl,
    "verl_legacy": _check_verl_legacy,
    "nova_sft": _check_nova_sft,
    "nova_dpo": _check_nova_dpo,
    "nova_rlvr": _check_nova_rlvr,
    "sagemaker_eval": _check_sagemaker_eval,
}
