"""Errors raised by the constructs at synth time."""

from __future__ import annotations

from constructs import IConstruct


class ConstructValidationError(ValueError):
    """Invalid construct props; the message starts with the construct path so users find the culprit."""

    def __init__(self, message: str, scope: IConstruct) -> None:
        super().__init__(f"{scope.node.path}: {message}")
