"""Reward Lambda throughput: per-sample time of each built-in over a 2,000-sample batch, against the floor of
``json.loads`` + ``json.dumps`` of the same batch, and the handler's cold import time.

Goals: numeric_answer at most 3x the floor; cold import under 50 ms.
Run: ``.venv/bin/python benchmarks/reward_throughput.py``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cdk_sagemaker_finetuning.constructs.reward_function import reward_code_directory  # noqa: E402
from cdk_sagemaker_finetuning.runtime.reward.handler import builtin_config, handle  # noqa: E402

BATCH = 2_000
REPEATS = 15
NUMERIC_GOAL = 3.0
IMPORT_GOAL_MS = 50.0
#: Modules the Lambda Python runtime interface client has imported before it loads the handler.
RUNTIME_PRELOADED = "json, logging, os, time"
OPTIONS = {
    "regex_match": {"pattern": r"####\s*-?\d+"},
    "json_valid": {"required_keys": ["answer", "reasoning"]},
    "composite": {"components": [{"reward": "numeric_answer", "weight": 3},
                                 {"reward": "length_penalty", "weight": 1, "options": {"max_length": 300}},
                                 {"reward": "repetition_penalty", "weight": 1}]},
}


def math_rows(rng: random.Random) -> list[dict]:
    rows = []
    for index in range(BATCH):
        a, b = rng.randint(2, 999), rng.randint(2, 99)
        steps = " ".join(f"Step {s}: {a} + {s * b} = {a + s * b}." for s in range(1, rng.randint(3, 8)))
        answer = a * b if rng.random() < 0.6 else a * b + 1
        rows.append({
            "id": f"s{index}",
            "messages": [
                {"role": "user", "content": f"A shop sells {a} boxes with {b} pens each. How many pens in total?"},
                {"role": "assistant", "content": f"Let me think. {steps} So {a} * {b} = {answer:,}.\n#### {answer}"},
            ],
            "reference_answer": {"ground_truth": str(a * b)},
        })
    return rows


def choice_rows(rng: random.Random) -> list[dict]:
    return [{"id": f"c{i}", "messages": [
        {"role": "user", "content": "Which is largest? A) 3 B) 9 C) 4 D) 1"},
        {"role": "assistant", "content": f"9 is the largest value listed. The answer is ({rng.choice('ABCD')})."}],
        "reference_answer": "B"} for i in range(BATCH)]


def json_rows(rng: random.Random) -> list[dict]:
    return [{"id": f"j{i}", "messages": [
        {"role": "user", "content": "Reply in JSON with answer and reasoning."},
        {"role": "assistant", "content": json.dumps({"answer": rng.randint(1, 99), "reasoning": "because " * 8})}],
        "reference_answer": "x"} for i in range(BATCH)]


def best_of(floor: Callable[[], object], work: Callable[[], object]) -> tuple[float, float]:
    """Best times of ``floor`` and ``work``, interleaved so that load from other processes hits both alike."""
    floors, works = [], []
    for _ in range(REPEATS):
        for fn, timings in ((floor, floors), (work, works)):
            started = time.perf_counter()
            fn()
            timings.append(time.perf_counter() - started)
    return min(floors), min(works)


def cold_import_ms(*, preload: str) -> float:
    """Median wall time, in a fresh interpreter, of importing the entry point and the built-ins (which the
    first invocation loads), compiled from source as in Lambda (the package ships no ``__pycache__`` and
    ``/var/task`` is read-only). ``preload`` names modules imported before the clock starts."""
    source = reward_code_directory()
    code = (f"import {preload or 'sys'}; import time; t = time.perf_counter(); "
            "import lambda_function, reward_runtime.builtins; print((time.perf_counter() - t) * 1000)")
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch) / "task"
        shutil.copytree(source, directory, ignore=shutil.ignore_patterns("__pycache__"))
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        for _ in range(11):
            result = subprocess.run([sys.executable, "-S", "-c", code], cwd=directory, check=True,
                                    capture_output=True, text=True, env=env)
            runs.append(float(result.stdout))
    return statistics.median(runs)


def main() -> int:
    rng = random.Random(7)
    batches = {"math": math_rows(rng), "choice": choice_rows(rng), "json": json_rows(rng)}
    batch_for = {"multiple_choice": "choice", "json_valid": "json"}
    texts = {name: json.dumps(rows) for name, rows in batches.items()}
    print(f"Reward handler throughput, {BATCH} samples per batch, best of {REPEATS}")
    print(f"{'built-in':<20} {'us/sample':>10} {'floor us':>9} {'ratio':>6}")
    numeric_ratio = None
    for name in ["numeric_answer", "exact_match", "multiple_choice", "regex_match", "json_valid",
                 "length_penalty", "repetition_penalty", "composite"]:
        kind = batch_for.get(name, "math")
        text = texts[kind]
        config = builtin_config(name, OPTIONS.get(name))
        floor, spent = best_of(lambda text=text: json.dumps(json.loads(text)),
                               lambda text=text, config=config: handle(json.loads(text), config))
        ratio = spent / floor
        numeric_ratio = ratio if name == "numeric_answer" else numeric_ratio
        print(f"{name:<20} {spent / BATCH * 1e6:>10.1f} {floor / BATCH * 1e6:>9.1f} {ratio:>5.1f}x")
    bare = cold_import_ms(preload="")
    runtime = cold_import_ms(preload=RUNTIME_PRELOADED)
    print(f"\nnumeric_answer vs floor: {numeric_ratio:.2f}x (goal <= {NUMERIC_GOAL:g}x): "
          f"{'met' if numeric_ratio <= NUMERIC_GOAL else 'MISSED'}")
    print(f"handler cold import after the Lambda runtime's own imports ({RUNTIME_PRELOADED}): {runtime:.1f} ms "
          f"(goal < {IMPORT_GOAL_MS:g} ms): {'met' if runtime < IMPORT_GOAL_MS else 'MISSED'}")
    print(f"handler cold import into an empty interpreter: {bare:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
