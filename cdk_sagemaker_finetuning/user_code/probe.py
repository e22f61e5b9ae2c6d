"""The reward check's child: run as ``python -I -S -B probe.py TASK DEPS REQUEST RESULT`` (see ``reward.py``).

``TASK`` holds ``reward_runtime/`` and ``user_reward.py`` (the Lambda's code directory), ``DEPS`` boto3 and its
dependencies (what the Lambda runtime adds), ``REQUEST["path"]`` the bundled requirements if any; nothing else
is importable. The module is loaded by the reward
Lambda's own ``module_config``, then each sample of ``REQUEST`` goes through the handler's ``score_sample``.
Standard library only: this file must not import the package (``-I -S`` leaves it unimportable anyway).
``RESULT`` receives JSON; ``RESULT.imported`` appears once the import succeeded (the parent times both stages).
"""

from __future__ import annotations

import inspect
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def _line(exc: BaseException, source: str) -> int | None:
    """The line of ``source`` (the user module) where ``exc`` was raised, innermost first."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename) == Path(source):
            return frame.lineno
    return None


def _load(task: Path, score_range: tuple[float, float]) -> tuple[Any, dict[str, Any] | None]:
    """``(config, None)`` or ``(None, problem)``: the user module through the Lambda's ``module_config``."""
    from reward_runtime.handler import EventError, describe, module_config

    source = str(task / "user_reward.py")
    try:
        config = module_config("user_reward", score_range=score_range)
    except EventError as exc:
        cause = exc.__cause__
        if isinstance(cause, ModuleNotFoundError) and cause.name:
            return None, {"kind": "missing_module", "module": cause.name, "line": _line(cause, source)}
        if cause is not None:
            return None, {"kind": "raised", "error": describe(cause), "line": _line(cause, source)}
        module = sys.modules.get("user_reward")
        if module is None or not hasattr(module, "reward"):
            return None, {"kind": "no_reward"}
        return None, {"kind": "not_callable", "type": type(module.reward).__name__}
    except BaseException as exc:  # SystemExit, KeyboardInterrupt raised by the module at import
        return None, {"kind": "raised", "error": describe(exc), "line": _line(exc, source)}
    reward = config.reward
    try:
        signature = inspect.signature(reward)
    except (TypeError, ValueError):  # some C callables have no signature; the call itself will tell
        return config, None
    try:
        signature.bind(object())
    except TypeError:
        code = getattr(reward, "__code__", None)
        return None, {
            "kind": "arity",
            "signature": f"reward{signature}",
            "line": code.co_firstlineno if code else None,
        }
    return config, None


def _verdict(
    captured: dict[str, Any], score_range: tuple[float, float], source: str
) -> dict[str, Any] | None:
    """What is wrong with one sample's raw result (the handler's own rules), or None."""
    from reward_runtime.handler import _finite, _split, describe

    if "error" in captured:
        exc = captured["error"]
        return {"kind": "raised", "error": describe(exc), "line": _line(exc, source)}
    if "value" not in captured:
        return {"kind": "not_object"}
    try:
        score = _finite(_split(captured["value"])[0], "score")
    except (TypeError, ValueError) as exc:
        return {"kind": "not_number", "value": repr(captured["value"])[:80], "error": str(exc)[:300]}
    low, high = score_range
    if not low <= score <= high:
        return {"kind": "out_of_range", "score": score}
    return None


def _score(config: Any, rows: list[Any], source: str) -> list[dict[str, Any]]:
    """Each row through the handler's ``score_sample``, recording what ``reward`` itself returned."""
    from reward_runtime.handler import score_sample

    reward = config.reward
    captured: dict[str, Any] = {}

    def recording(sample: Any) -> Any:
        try:
            captured["value"] = reward(sample)
        except Exception as exc:
            captured["error"] = exc
            raise
        return captured["value"]

    config.reward = recording
    results = []
    for index, row in enumerate(rows):
        captured.clear()
        started = time.perf_counter()
        entry = score_sample(row, index, config)
        results.append(
            {
                "entry": entry,
                "ms": (time.perf_counter() - started) * 1000,
                "problem": _verdict(captured, config.score_range, source),
            }
        )
    return results


def main(argv: list[str]) -> int:
    task, deps, request_path, result_path = (Path(arg) for arg in argv[1:5])
    request = json.loads(request_path.read_text(encoding="utf-8"))
    sys.path.insert(0, str(task))  # /var/task comes first in the Lambda, the runtime's boto3 last
    if request.get("path"):  # bundled requirements live in /var/task too
        sys.path.insert(1, request["path"])
    sys.path.append(str(deps))
    import logging

    logging.disable(logging.CRITICAL)  # the handler logs each failing sample; the verdicts carry them
    config, problem = _load(task, tuple(request["score_range"]))
    if problem is not None:
        result_path.write_text(json.dumps({"problem": problem}), encoding="utf-8")
        return 0
    Path(f"{result_path}.imported").touch()
    rows = _score(config, request["rows"], str(task / "user_reward.py")) if request["rows"] else []
    result_path.write_text(json.dumps({"rows": rows}, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
