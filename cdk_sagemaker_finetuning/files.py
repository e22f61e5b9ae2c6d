"""Reading the files a spec or the CLI names, with one readable error for every way a file can be wrong.

:class:`FileProblem` (a ``ValueError``) says which file, what it was for and what is wrong: missing, a
directory, unreadable, not UTF-8 (with the byte offset), not valid JSON/YAML (with line and column), or not
the expected shape. ``cdk-finetune`` prints it as one line and exits 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

MAX_VALUES = 100_000
SHAPES: dict[type, str] = {dict: "object (mapping)", list: "list"}
KINDS = (
    (bool, "true/false"),
    (int | float, "a number"),
    (str, "a string"),
    (list, "a list"),
    (dict, "an object"),
)


class FileProblem(ValueError):
    """A file that cannot be used as given; the message names the file, its role and the problem."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message
        """The problem alone, without the file's name (e.g. ``it is a directory; pass a file``)."""


def read_text(path: str | Path, what: str) -> str:
    """The file's text, decoded as UTF-8 (``what`` names its role in messages, e.g. ``"stack outputs"``)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        reason = "it does not exist"
    except IsADirectoryError:
        reason = "it is a directory; pass a file"
    except OSError as exc:
        reason = str(exc.strerror or exc)
    else:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            reason = (
                f"it is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
            )
    raise FileProblem(f"cannot read {what} {str(path)!r}: {reason}", reason)


def read_json(path: str | Path, what: str, shape: type | None = dict) -> Any:
    """The file's JSON document, which must be of ``shape`` (``dict``, ``list`` or ``None`` for any)."""
    text = read_text(path, what)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileProblem(
            f"{what} {str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise FileProblem(f"{what} {str(path)!r} is nested too deeply to read") from None
    return _check_shape(data, path, what, shape, "JSON")


def read_yaml(path: str | Path, what: str, shape: type | None = dict) -> Any:
    """The file's YAML document (JSON is YAML too), which must be of ``shape``."""
    text = read_text(path, what)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FileProblem(f"{what} {str(path)!r} is not valid YAML: {problem}{at}") from None
    except RecursionError:
        raise FileProblem(f"{what} {str(path)!r} is nested too deeply to read") from None
    if _expands_beyond(data, MAX_VALUES):
        raise FileProblem(
            f"{what} {str(path)!r} expands to more than {MAX_VALUES:,} values (YAML aliases?); write it out plainly"
        )
    return _check_shape(data, path, what, shape, "YAML")


def _expands_beyond(data: Any, limit: int) -> bool:
    """True when the document, with aliases expanded, holds more than ``limit`` values (a YAML alias bomb)."""
    pending, seen = [data], 0
    while pending:
        value = pending.pop()
        seen += 1
        if seen > limit:
            return True
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def _check_shape(data: Any, path: str | Path, what: str, shape: type | None, kind: str) -> Any:
    if shape is not None and not isinstance(data, shape):
        kind_found = next((name for types, name in KINDS if isinstance(data, types)), "a value")
        found = "nothing (empty)" if data is None else f"{kind_found} {_short(data)}"
        raise FileProblem(f"{what} {str(path)!r} must hold a {kind} {SHAPES[shape]}, not {found}")
    return data


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
