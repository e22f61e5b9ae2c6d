"""Read the response, reference answer and prompt out of a sample, whatever row format it came in.

A sample is a dataset row plus whatever the training container adds (`RFT <https://docs.aws.amazon.com/sagemaker/latest/dg/customizing-models-rft.html>`_):
open-weight verl rows (``prompt`` list, ``reward_model.ground_truth``), Nova rows (``messages`` with
``nova_assistant`` turns, list or dict content, ``reference_answer`` as a dict, JSON string or plain string).
"""

from __future__ import annotations

import json
from typing import Any

#: Top-level fields that may carry the generated response, most specific first.
#: (``output`` is left out on purpose: some datasets use it for the reference answer.)
RESPONSE_FIELDS = ("response", "completion", "model_response", "generated_text", "solution_str")
#: Keys of a dict-shaped reference answer that hold the answer itself, in order of preference.
REFERENCE_KEYS = ("ground_truth", "answer", "label", "reference", "expected", "target", "solution", "value")
#: Row fields that may carry the reference answer, in order (``reward_model``/``extra_info`` must be dicts).
REFERENCE_FIELDS = ("reward_model", "reference_answer", "ground_truth", "answer", "label", "extra_info")
ASSISTANT_ROLES = ("assistant", "nova_assistant", "model", "bot")
USER_ROLES = ("user", "human")


def content_text(content: Any) -> str:
    """Flatten message content (a string, a list of ``{type, text}`` parts, or a dict) into text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        for key in ("text", "content", "value"):
            if key in content:
                return content_text(content[key])
        return ""
    if isinstance(content, list):
        return "".join(content_text(part) for part in content)
    return str(content)


def _messages(row: dict[str, Any]) -> list[Any]:
    for key in ("messages", "prompt", "conversation"):
        value = row.get(key)
        if isinstance(value, list):
            return value
    return []


def _last_with_role(messages: list[Any], roles: tuple[str, ...]) -> str | None:
    for message in reversed(messages):
        if type(message) is dict:
            role = message.get("role")
            if role in roles or (role if isinstance(role, str) else str(role)).lower() in roles:
                return content_text(message.get("content"))
    return None


def response_text(row: dict[str, Any], messages: list[Any] | None = None) -> str:
    """The generated response: a service-appended field, else the last assistant turn, else empty."""
    for key in RESPONSE_FIELDS:
        value = row.get(key)
        if value is not None and not isinstance(value, bool):
            return content_text(value)
    return _last_with_role(_messages(row) if messages is None else messages, ASSISTANT_ROLES) or ""


def prompt_text(row: dict[str, Any], messages: list[Any] | None = None) -> str:
    """The prompt the response answers: the last user turn, or a string ``prompt``/``question`` field."""
    found = _last_with_role(_messages(row) if messages is None else messages, USER_ROLES)
    if found is not None:
        return found
    for key in ("prompt", "question", "query", "input"):
        if isinstance(row.get(key), str):
            return row[key]
    return ""


def _from_reference(value: Any) -> Any:
    if isinstance(value, dict):
        for key in REFERENCE_KEYS:
            if key in value and value[key] is not None:
                return _from_reference(value[key])
        return None
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "[", '"'):
            try:
                decoded = json.loads(stripped)
            except ValueError:
                return value
            if isinstance(decoded, (dict, str)):
                return _from_reference(decoded)
            return decoded
    return value


def reference_answer(row: dict[str, Any]) -> Any:
    """The reference: ``reward_model.ground_truth``, ``reference_answer`` (dict, JSON or plain), or None.

    Returns a string for scalar answers and a list when the row lists several accepted answers.
    """
    for key in REFERENCE_FIELDS:
        candidate = row.get(key)
        if candidate is None or (key in ("reward_model", "extra_info") and not isinstance(candidate, dict)):
            continue
        found = _from_reference(candidate)
        if found is not None and found != "":
            return [str(v) for v in found] if isinstance(found, list) else str(found)
    return None


class Sample:
    """One sample as a reward sees it. ``row`` is the raw dict; ``sample["field"]`` reads it too."""

    __slots__ = ("row", "id", "response", "reference", "prompt")

    def __init__(self, row: dict[str, Any], index: int) -> None:
        self.row = row
        messages = _messages(row)
        self.id = row.get("id", index)
        self.response = response_text(row, messages)
        self.reference = reference_answer(row)
        self.prompt = prompt_text(row, messages)

    def __getitem__(self, key: str) -> Any:
        return self.row[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.row.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.row

    def references(self) -> list[str]:
        """Every accepted reference answer (empty when the row has none)."""
        if self.reference is None:
            return []
        return list(self.reference) if isinstance(self.reference, list) else [self.reference]
