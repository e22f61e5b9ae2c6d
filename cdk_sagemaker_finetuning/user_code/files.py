"""What every user-file check shares: one-line problems, UTF-8 errors, JSONL sample rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import files


@dataclass(frozen=True)
class Problem:
    """One problem in a user file; ``line``/``column`` are 1-based when known."""

    message: str
    line: int | None = None
    column: int | None = None

    def render(self, file: str | Path) -> str:
        """``file:line:col: message`` on one line."""
        where = str(file) + "".join(f":{n}" for n in (self.line, self.column if self.line else None) if n)
        return " ".join(f"{where}: {self.message}".split())


class UserFileError(ValueError):
    """A user file (sample rows) that cannot be read or parsed; the message names it."""


def read_rows(path: Path) -> list[tuple[int, Any]]:
    """``(line number, row)`` of each non-blank line of a UTF-8 JSONL file; :class:`UserFileError` otherwise."""
    try:
        lines = files.read_text(path, "the file").splitlines()
    except files.FileProblem as exc:
        raise UserFileError(f"cannot read {str(path)!r}: {exc.reason}") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except (ValueError, RecursionError) as exc:
            raise UserFileError(f"{path.name} line {number} is not JSON: {exc}") from None
    if not rows:
        raise UserFileError(f"{str(path)!r} has no rows")
    return rows


def not_utf8(source: bytes, exc: UnicodeDecodeError, what: str) -> Problem:
    line = source[: exc.start].count(b"\n") + 1
    return Problem(
        f"byte {exc.start} (0x{source[exc.start]:02x}) is not UTF-8; save the {what} as UTF-8", line
    )
