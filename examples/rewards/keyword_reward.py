"""Example user reward: credit answers that mention every required keyword, penalize empty or padded ones.

Rows are verl-style: the reference keywords are comma-separated in ``reward_model.ground_truth``; the
generated answer is the ``response`` field the service adds (or the last assistant message).
"""

from __future__ import annotations

from typing import Any


def _response(sample: dict[str, Any]) -> str:
    if isinstance(sample.get("response"), str):
        return sample["response"]
    turns = [m for m in sample.get("messages") or sample.get("prompt") or [] if isinstance(m, dict)]
    answers = [m.get("content") for m in turns if m.get("role") == "assistant"]
    return str(answers[-1]) if answers else ""


def reward(sample: dict[str, Any]) -> dict[str, Any]:
    """Score one sample in [-1, 1] with ``coverage`` and ``padding`` metrics."""
    response = _response(sample).lower()
    truth = (sample.get("reward_model") or {}).get("ground_truth") or ""
    keywords = [word.strip().lower() for word in str(truth).split(",") if word.strip()]
    if not response.strip():
        return {"score": -1.0, "metrics": {"coverage": 0.0, "padding": 0.0}}
    coverage = sum(word in response for word in keywords) / len(keywords) if keywords else 0.0
    padding = min(1.0, max(0.0, (len(response) - 2000) / 2000))
    return {"score": max(-1.0, 2 * coverage - 1 - padding), "metrics": {"coverage": coverage, "padding": padding}}
