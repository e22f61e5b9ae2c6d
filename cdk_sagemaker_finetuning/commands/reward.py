"""``cdk-finetune reward test (BUILTIN|PATH) DATA.jsonl [--responses FILE]``: try a reward on local rows.

Each row goes through the real Lambda handler (``runtime/reward/handler.py``) on its own, exactly as the
deployed function would score it; a user module is first proven by ``user_code.check_reward_code`` and scored
there, in an interpreter that has only what the Lambda has. Prints the score histogram, per-metric means and
the slowest samples, and warns about flat rewards (no learning signal), clamped scores, rows without a
response and errors. Exit code 0 when every sample scored in range, 1 when some raised, returned no number
or a score outside the range, 2 for invalid input (including a module the Lambda could not load).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import files
from ..runtime.reward.handler import EventError, RewardConfig, builtin_config, handle
from ..runtime.reward.sample import response_text
from ..user_code import UserFileError, check_reward_code, install_requirements, read_rows
from . import _term

FLAT_SHARE = 0.9
BINS = 10
BAR_WIDTH = 46


def register(subparsers: argparse._SubParsersAction) -> None:
    reward = subparsers.add_parser(
        "reward", help="work with RLVR reward functions", description="Work with RLVR reward functions."
    )
    commands = reward.add_subparsers(dest="reward_command", metavar="SUBCOMMAND", required=True)
    test = commands.add_parser(
        "test",
        help="score local rows with a built-in reward or your reward module",
        description="Score local JSONL rows through the real reward Lambda handler and summarize the scores.",
    )
    test.add_argument("reward", metavar="BUILTIN|PATH", help="a built-in reward name or a .py file with reward()")
    test.add_argument("data", metavar="DATA.jsonl", help="dataset rows (verl or Nova RLVR format)")
    test.add_argument("--responses", metavar="FILE",
                      help="one response per line (JSON string, {\"response\": ...} or plain text), "
                      "paired with the rows in order")
    test.add_argument("--options", metavar="JSON", default="{}", help="options of a built-in reward, as JSON")
    test.add_argument("--requirements", metavar="FILE",
                      help="pip requirements (pure Python) bundled with your module, as reward.requirements")
    test.add_argument(
        "--score-range",
        metavar=("LOW", "HIGH"),
        nargs=2,
        type=float,
        default=(-1.0, 1.0),
        help="scores are clamped into [LOW, HIGH] and a failing sample scores LOW, as reward.score_range "
        "in the spec (default: -1 1)",
    )
    test.add_argument("--nova", action="store_true", help="use the Nova envelope (bare list)")
    test.add_argument("--slowest", metavar="N", type=int, default=5, help="how many slow samples to list")
    test.set_defaults(handler=run)


class InputError(ValueError):
    """Invalid command input (exit code 2)."""


@dataclass
class Outcome:
    id: Any
    score: float
    metrics: dict[str, float]
    ms: float
    error: str | None = None
    clamped: bool = False


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    missing_responses: int = 0
    responses_file: str | None = None


def run(args: argparse.Namespace) -> int:
    try:
        config = _config(args)
        rows = _rows(Path(args.data))
        if args.responses:
            _pair(rows, Path(args.responses))
        if _is_module(args):
            report = score_module(Path(args.reward), rows, config, _requirements(args.requirements))
        else:
            report = score_rows(rows, config)
        report.responses_file = args.responses
    except InputError as exc:
        for line in str(exc).splitlines():
            print(_term.wrap(f"error: {line}", "", "  "), file=sys.stderr)
        return 2
    print(render(report, config, args.slowest))
    return 1 if any(o.error or o.clamped for o in report.outcomes) else 0


# -- inputs --------------------------------------------------------------------------------------------------


def _config(args: argparse.Namespace) -> RewardConfig:
    low, high = args.score_range
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InputError(f"--score-range {low} {high}: LOW and HIGH must be finite numbers, e.g. -1 1")
    if not low < high:
        raise InputError(f"--score-range {low} {high}: LOW must be below HIGH")
    common: dict[str, Any] = {"score_range": (low, high), "envelope": "nova" if args.nova else "open-weight"}
    if _is_module(args):
        if args.options != "{}":
            raise InputError("--options only applies to a built-in reward")
        if not Path(args.reward).is_file():
            raise InputError(f"{args.reward!r} does not exist")
        return RewardConfig(reward=_scored_by_the_check, name=Path(args.reward).name, **common)
    if args.requirements:
        raise InputError("--requirements only applies to a reward module (.py)")
    try:
        options = json.loads(args.options)
    except ValueError as exc:
        raise InputError(f"--options is not JSON: {exc}") from None
    if not isinstance(options, dict):
        raise InputError("--options must be a JSON object")
    try:
        return builtin_config(args.reward, options, **common)
    except EventError as exc:
        raise InputError(str(exc)) from None


def _is_module(args: argparse.Namespace) -> bool:
    return args.reward.endswith(".py") or Path(args.reward).is_file()


def _scored_by_the_check(sample: Any) -> Any:
    """Stands in for a user module's reward: :func:`score_module` scores it in a Lambda-like interpreter."""
    raise AssertionError("user modules are scored by user_code.check_reward_code, never in this process")


def _requirements(path: str | None) -> Path | None:
    """The installed ``--requirements`` (the same install as synth), or None."""
    if path is None:
        return None
    installed, problems = install_requirements(path)
    if problems:
        raise InputError("\n".join(problem.render(path) for problem in problems))
    return installed


def _rows(path: Path) -> list[Any]:
    try:
        return [row for _, row in read_rows(path)]
    except UserFileError as exc:
        raise InputError(str(exc)) from None


def _pair(rows: list[Any], path: Path) -> None:
    lines = [line for line in files.read_text(path, "--responses").splitlines() if line.strip()]
    if len(lines) != len(rows):
        raise InputError(f"{path.name} has {len(lines)} responses for {len(rows)} rows; give one per row")
    for row, line in zip(rows, lines, strict=True):
        try:
            value = json.loads(line)
        except ValueError:
            value = line
        text = value.get("response") if isinstance(value, dict) else value
        if isinstance(row, dict):
            row["response"] = text if isinstance(text, str) else json.dumps(text)


# -- scoring -------------------------------------------------------------------------------------------------


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(json.loads(record.getMessage()).get("error", ""))
        except ValueError:
            self.messages.append(record.getMessage())


def score_rows(rows: list[Any], config: RewardConfig) -> Report:
    """Score each row alone through :func:`handle` (timing it), collecting the handler's logged errors."""
    logger = logging.getLogger("reward")
    errors = _Errors()
    logger.addHandler(errors)
    propagate, logger.propagate = logger.propagate, False
    report = Report()
    try:
        for index, row in enumerate(rows):
            if isinstance(row, dict) and not response_text(row).strip():
                report.missing_responses += 1
            errors.messages.clear()
            started = time.perf_counter()
            response = handle([dict(row, id=row.get("id", index)) if isinstance(row, dict) else row], config)
            ms = (time.perf_counter() - started) * 1000
            [result] = json.loads(response["body"]) if isinstance(response, dict) else response
            metrics = {m["name"]: m["value"] for m in result["metrics_list"]}
            error = (errors.messages[0] or "error") if "error" in metrics else None
            report.outcomes.append(Outcome(
                id=result["id"], score=result["aggregate_reward_score"], ms=ms, error=error,
                clamped="clamped" in metrics,
                metrics={k: v for k, v in metrics.items() if k not in ("error", "clamped")},
            ))
    finally:
        logger.removeHandler(errors)
        logger.propagate = propagate
    return report


def score_module(path: Path, rows: list[Any], config: RewardConfig, requirements: Path | None = None) -> Report:
    """Score each row with the user module at ``path`` where only the Lambda's packages exist (the shared check).

    A module the Lambda could not load raises :class:`InputError`, one problem per line.
    """
    if path.suffix != ".py":
        raise InputError(f"{str(path)!r} must be a Python module (.py) defining reward(sample), or a built-in name")
    samples = [dict(row, id=row.get("id", index)) if isinstance(row, dict) else row for index, row in enumerate(rows)]
    check = check_reward_code(path, score_range=config.score_range, rows=samples, requirements=requirements)
    if check.problems:
        raise InputError("\n".join(problem.render(path) for problem in check.problems))
    report = Report(missing_responses=sum(isinstance(r, dict) and not response_text(r).strip() for r in rows))
    for index, result in enumerate(check.rows):
        entry = result["entry"]
        metrics = {m["name"]: m["value"] for m in entry["metrics_list"]}
        problem = result["problem"] or {}
        report.outcomes.append(Outcome(
            id=entry["id"], score=entry["aggregate_reward_score"], ms=result["ms"],
            error=check.sample_message(index) if problem.get("kind") != "out_of_range" else None,
            clamped="clamped" in metrics,
            metrics={k: v for k, v in metrics.items() if k not in ("error", "clamped")},
        ))
    return report


# -- output --------------------------------------------------------------------------------------------------


def histogram(scores: list[float], low: float, high: float, bins: int = BINS) -> str:
    """Counts of ``scores`` in ``bins`` equal-width bins over ``[low, high]``, as bars fitting 80 columns."""
    counts = [0] * bins
    for value in scores:
        counts[min(bins - 1, max(0, int((value - low) / (high - low) * bins)))] += 1
    peak = max(counts) or 1
    lines = []
    for number, count in enumerate(counts):
        start = low + (high - low) * number / bins
        end = low + (high - low) * (number + 1) / bins
        closing = "]" if number == bins - 1 else ")"
        bar = "#" * round(BAR_WIDTH * count / peak)
        lines.append(f"  [{start:6.2f}, {end:6.2f}{closing} {count:6d} {bar}".rstrip())
    return "\n".join(lines)


def warnings(report: Report, config: RewardConfig) -> list[str]:
    """Flat rewards, clamped scores, missing responses and errors, as sentences."""
    found = []
    scores = [o.score for o in report.outcomes]
    value, count = Counter(round(s, 6) for s in scores).most_common(1)[0]
    if len(scores) > 1 and count / len(scores) > FLAT_SHARE:
        found.append(f"flat reward: {count / len(scores):.0%} of samples score {value:g}; the policy gets "
                     "almost no learning signal")
    clamped = sum(o.clamped for o in report.outcomes)
    if clamped:
        low, high = config.score_range
        found.append(f"{clamped} score(s) fell outside [{low:g}, {high:g}] and were clamped")
    if report.missing_responses:
        fix = (
            f"their lines in {report.responses_file} are empty; give each row a non-empty response"
            if report.responses_file
            else "pass --responses FILE with one model response per row"
        )
        found.append(f"{report.missing_responses} row(s) have no response to score; {fix}")
    failed = [o for o in report.outcomes if o.error]
    if failed:
        found.append(f"{len(failed)} sample(s) raised and scored {config.floor:g}; first: id {failed[0].id!r}: "
                     f"{failed[0].error}")
    return found


def render(report: Report, config: RewardConfig, slowest: int) -> str:
    outcomes = report.outcomes
    scores = [o.score for o in outcomes]
    low, high = config.score_range
    mean = sum(scores) / len(scores)
    lines = [
        _term.wrap(f"{config.name}: {len(outcomes)} samples, mean score {mean:.3f}, "
                   f"min {min(scores):.3f}, max {max(scores):.3f}"),
        "",
        "Score distribution",
        histogram(scores, low, high),
    ]
    sums: dict[str, list[float]] = {}
    for outcome in outcomes:
        for name, value in outcome.metrics.items():
            sums.setdefault(name, []).append(value)
    if sums:
        rows = [(name, f"{sum(v) / len(v):.3f}", len(v)) for name, v in sorted(sums.items())]
        lines += ["", "Metric means", _term.table(("metric", "mean", "samples"), rows, indent="  ")]
    ranked = sorted(outcomes, key=lambda o: o.ms, reverse=True)[: max(0, slowest)]
    if ranked:
        slow = [(str(o.id), f"{o.ms:.2f}", f"{o.score:g}") for o in ranked]
        lines += ["", "Slowest samples", _term.table(("id", "ms", "score"), slow, indent="  ")]
    found = warnings(report, config)
    if found:
        lines += ["", "Warnings"] + [_term.wrap(text, "  - ", "    ") for text in found]
    return "\n".join(lines)
