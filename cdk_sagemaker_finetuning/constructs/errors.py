"""Errors raised by the constructs at synth time, and how apps report them without a traceback."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from constructs import IConstruct

from ..spec import SpecError

#: How jsii surfaces a failed ``node.add_validation`` (``[path] message`` lines) or policy validation plugin.
_VALIDATION_FAILED = re.compile(r"^(ValidationFailedWithErrors|ValidationFailed): (.*)", re.DOTALL)


class ConstructValidationError(ValueError):
    """Invalid construct props; the message starts with the construct path so users find the culprit."""

    def __init__(self, message: str, scope: IConstruct) -> None:
        super().__init__(f"{scope.node.path}: {message}")


def validation_failure(error: RuntimeError) -> str | None:
    """The user-facing text of a synth-time validation failure (``path: message`` per line), else None."""
    match = _VALIDATION_FAILED.match(str(error))
    if match is None:
        return None
    lines = [line.strip() for line in match.group(2).splitlines()]
    found = [re.sub(r"^\[([^\]]*)\] ", r"\1: ", line) for line in lines if line.startswith("[")]
    found += [line.removeprefix("ERROR ") for line in lines if line.startswith("ERROR ")]  # plugin reports
    return "\n".join(found) if found else lines[0]


@contextmanager
def exit_on_invalid_app() -> Iterator[None]:
    """Around building and synthesizing an app: invalid input or a failed validation prints its message on
    stderr and exits 2, without a traceback. Other errors propagate."""
    try:
        yield
    except (SpecError, ConstructValidationError) as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)
    except RuntimeError as exc:
        message = validation_failure(exc)
        if message is None:
            raise
        print(message, file=sys.stderr)
        sys.exit(2)
