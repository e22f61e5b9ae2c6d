"""Terminal output for ``cdk-finetune``: 80-column text, tables, progress bars and interactive questions.

Long unbreakable tokens (ARNs, URLs) go on a line of their own; every other line fits ``WIDTH`` columns.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from typing import NoReturn

WIDTH = 80


def wrap(text: str, indent: str = "", subsequent: str | None = None) -> str:
    """Fill ``text`` to ``WIDTH`` columns without breaking words, ARNs or URLs.

    A token too long for its indented line (an ARN, a URL) is moved to the start of its own line.
    """
    lines = textwrap.wrap(
        text,
        WIDTH,
        initial_indent=indent,
        subsequent_indent=indent if subsequent is None else subsequent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n".join(
        line.strip() if number and len(line) > WIDTH and " " not in line.strip() else line
        for number, line in enumerate(lines)
    )


def wrap_list(text: str) -> str:
    """Wrap a heading and its ``  - item`` lines, continuing each item indented under its text."""
    return "\n".join(
        wrap(line[4:], "  - ", "    ") if line.startswith("  - ") else wrap(line)
        for line in text.splitlines()
    )


def field(label: str, value: object, width: int = 0, aligned: bool = False) -> str:
    """``label  value`` on one line, or the value on its own indented line when it does not fit.

    A wrapped value continues 8 columns in, or under its first line with ``aligned``.
    """
    head = f"{label + ':':<{width + 1}} "
    text = str(value)
    if len(head) + len(text) <= WIDTH:
        return head + text
    if " " not in text:
        return head.rstrip() + "\n" + ("  " + text if len(text) + 2 <= WIDTH else text)
    return wrap(text, head, " " * (len(head) if aligned else min(len(head), 8)))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], indent: str = "") -> str:
    """A left-aligned table; the widest columns are shortened with ``...`` until it fits ``WIDTH``."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    budget = WIDTH - len(indent) - 2 * (len(widths) - 1)
    while sum(widths) > budget and max(widths) > 8:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    lines = []
    for number, row in enumerate(cells):
        parts = [_cut(cell, widths[i]).ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append((indent + "  ".join(parts)).rstrip())
        if number == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def progress_bar(percent: float, width: int = 40) -> str:
    """``[#######.......]  42.5%``; the percent is clamped to 0-100."""
    percent = max(0.0, min(100.0, percent))
    filled = round(width * percent / 100)
    return f"[{'#' * filled}{'.' * (width - filled)}] {percent:5.1f}%"


def interactive() -> bool:
    """True when questions can be asked (stdin is a terminal)."""
    return sys.stdin is not None and sys.stdin.isatty()


def ask(question: str, choices: Sequence[str] = (), default: str | None = None) -> str:
    """Ask until the answer is non-empty (and one of ``choices`` when given); end of input aborts."""
    hint = f" [{'/'.join(choices)}]" if choices else ""
    hint += f" (default {default})" if default else ""
    while True:
        try:
            answer = input(f"{question}{hint}: ").strip() or (default or "")
        except EOFError:
            raise KeyboardInterrupt from None
        if answer and (not choices or answer in choices):
            return answer
        print(f"  please answer {' or '.join(choices)}" if choices else "  please answer")


def ask_yes_no(question: str) -> bool:
    return ask(question, ("y", "n")) == "y"


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are wrapped to ``WIDTH`` columns (sub-commands inherit it)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, wrap(f"{self.prog}: error: {message}", "", "  ") + "\n")
