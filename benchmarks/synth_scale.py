#!/usr/bin/env python3
"""Synthesis cost of a FineTuningPlatform with 1, 10 and 100 projects, SFT-only and mixed.

Each (mix, size) runs in a fresh process (its own Python and jsii Node process, so memory high-water marks are
its own); the process first synthesizes a one-project app to start Node and load the jsii assemblies, as any
process must, then builds and synthesizes the measured app. Per run: wall time of building and synthesizing,
the CPU time it took (Python plus Node: on a machine shared with other work the wall time also counts waiting
for a core, the CPU time does not), the peak resident memory of Python plus Node, the number of templates and
the largest template's resource count, and the jsii round trips (requests Python sent to Node: each costs
~0.3-0.5 ms of CPU); then the Python heap peak (tracemalloc) of a second, untimed build of the same app (tracing
every allocation would double Python's share of the timed run). Then the marginal cost of an extra project
between the two largest sizes. Goal (issue 11): at most 100 ms and 5 MB per extra project.

Each mix runs twice: with CDK's built-in CloudFormation validation (aws-cdk-lib >= 2.275 validates every
template at synth with a WebAssembly rule engine unless ``App(builtin_cloud_formation_validation=False)``,
``cdk synth --no-validation`` or ``CDK_VALIDATION=false``; on is CDK's default) and without it
(``CDK_VALIDATION=false``). Loading the engine costs ~1.3-2 s once per process (paid by the warm-up), then some
time per template. ``CDK_VALIDATION`` set in the environment runs that mode only (``false``: off, else on).

Mixed: SFT, DPO, RLVR (built-in reward), RLAIF (built-in prompt), SFT with retraining and notifications.

Run: ``.venv/bin/python benchmarks/synth_scale.py [SIZES...]`` (default ``1 10 100``).
"""

from __future__ import annotations

import gc
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cdk_sagemaker_finetuning import jsii_env

jsii_env.configure()  # before aws_cdk starts jsii: the wheel's Node, no end-of-life banner

import aws_cdk as cdk  # noqa: E402

from cdk_sagemaker_finetuning.constructs import FineTuningPlatform  # noqa: E402

SFT = {
    "technique": "sft",
    "base_model": "meta-textgeneration-llama-3-2-1b-instruct",
    "accept_eula": True,
    "data": {"train": "s3://demo-data/train.jsonl"},
}
QWEN = {"base_model": "huggingface-reasoning-qwen3-8b", "accept_eula": False}
OWN_DATA = {"data": {"create_bucket": True, "train": "train/train.jsonl"}}
MIXED = [
    SFT,
    {**SFT, **QWEN, "technique": "dpo"},
    {**SFT, **QWEN, **OWN_DATA, "technique": "rlvr", "reward": {"builtin": "numeric_answer"}},
    {
        **SFT,
        **QWEN,
        "technique": "rlaif",
        "rlaif": {"judge_model_id": "qwen.qwen3-32b-v1:0", "prompt": "Builtin.Summarize"},
    },
    {
        **SFT,
        **OWN_DATA,
        "retraining": {"on_new_data": {"prefix": "incoming/"}, "schedule": "rate(7 days)"},
        "notifications": {"emails": ["ml@example.com"]},
    },
]
MIXES = {"sft": [SFT], "mixed": MIXED}


def peak_rss_kib(pid: int | str) -> int:
    """Peak resident set size (high-water mark) of a process in KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def node_pids() -> list[int]:
    """jsii's Node processes of this process: its children and their descendants (jsii's ``jsii-runtime.js``
    starts the Node process that runs the kernel as its own child)."""
    parents: dict[str, list[int]] = {}
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in Path(status).read_text().splitlines() if ":\t" in line
            )
        except OSError:
            continue
        parents.setdefault(fields.get("PPid", "").strip(), []).append(int(status.split("/")[2]))
    found, todo = [], [str(os.getpid())]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += map(str, children)
    return found


def count_round_trips() -> Callable[[], int]:
    """Count the requests jsii sends to its Node process from now on; returns the reader of the count."""
    from jsii._kernel.providers import process  # jsii's internals: every kernel request goes through send

    count = [0]
    send = process._NodeProcess.send

    def counted(self: Any, request: Any, response_type: Any) -> Any:
        count[0] += 1
        return send(self, request, response_type)

    process._NodeProcess.send = counted  # type: ignore[method-assign]
    return lambda: count[0]


ROUND_TRIPS = count_round_trips()


def cpu_seconds() -> float:
    """CPU time (user + system) of this process plus jsii's Node process so far, seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in ["self", *map(str, node_pids())]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (proc(5))
    return total / tick


def peak_rss_mib() -> float:
    """Peak resident memory of this process plus jsii's Node process, MiB."""
    return (peak_rss_kib("self") + sum(peak_rss_kib(pid) for pid in node_pids())) / 1024


def synth(mix: str, count: int, *, trace_heap: bool = False) -> dict[str, float]:
    """Build and synthesize a platform of ``count`` projects of ``mix``; its figures (the Python heap peak only
    with ``trace_heap``: tracing every allocation slows Python down about twofold, so timed runs do not)."""
    kinds = MIXES[mix]
    gc.collect()
    if trace_heap:
        tracemalloc.start()
    cpu = cpu_seconds()
    trips = ROUND_TRIPS()
    start = time.perf_counter()
    outdir = tempfile.mkdtemp(prefix="synth-scale-")
    app = cdk.App(outdir=outdir)
    platform = FineTuningPlatform(cdk.Stack(app, "Platform"), "FineTuning")
    for index in range(count):
        platform.add_project(name=f"project-{index}", **kinds[index % len(kinds)])
    app.synth()
    seconds = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    trips = ROUND_TRIPS() - trips
    heap = 0
    if trace_heap:
        _, heap = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    templates = [json.loads(p.read_text()) for p in Path(outdir).glob("*.template.json")]
    return {
        "seconds": seconds,
        "cpu": cpu,
        "heap": heap / 2**20,
        "rss": peak_rss_mib(),
        "templates": len(templates),
        "largest": max(len(t.get("Resources", {})) for t in templates),
        "trips": trips,
    }


def child(mix: str, count: int) -> None:
    synth("sft", 1)  # warm-up: Node and the jsii assemblies
    figures = synth(mix, count)  # timed, and peak memory (measured before the heap run)
    figures["heap"] = synth(mix, count, trace_heap=True)["heap"]
    print(json.dumps(figures))


#: Validation mode -> the child's CDK_VALIDATION (None: unset, CDK's default: on).
VALIDATION = {"on": None, "off": "false"}


def modes() -> list[str]:
    """Both validation modes, or the one ``CDK_VALIDATION`` in the environment picks (aws-cdk-lib's rule:
    anything but ``false`` is on)."""
    chosen = os.environ.get("CDK_VALIDATION")
    if chosen is None:
        return list(VALIDATION)
    return ["off" if chosen == "false" else "on"]


def run_child(mix: str, size: int, validation: str) -> dict[str, Any]:
    """One (mix, size) in a fresh process with ``validation`` on or off; its figures."""
    env = {k: v for k, v in os.environ.items() if k != "CDK_VALIDATION"}
    if VALIDATION[validation] is not None:
        env["CDK_VALIDATION"] = VALIDATION[validation]
    flags = [] if __debug__ else ["-O"]
    run = subprocess.run(
        [sys.executable, *flags, __file__, "--child", mix, str(size)], capture_output=True, text=True, env=env
    )
    if run.returncode:
        sys.exit(f"{mix} x {size} (validation {validation}) failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def main(sizes: list[int]) -> None:
    checks = "off (python -O)" if not __debug__ else "on"
    print(f"jsii argument type checks: {checks}; one process per run")
    print(
        "validation: CDK's built-in CloudFormation validation, on (CDK's default) or off (CDK_VALIDATION=false)"
    )
    print(
        f"{'valid.':>6} {'mix':>6} {'projects':>8} {'wall s':>8} {'cpu s':>6} {'py heap MiB':>11} "
        f"{'peak rss MiB':>12} {'templates':>9} {'largest':>7} {'jsii trips':>10}"
    )
    marginals = []
    for validation in modes():
        for mix in MIXES:
            results = {}
            for size in sizes:
                results[size] = r = run_child(mix, size, validation)
                print(
                    f"{validation:>6} {mix:>6} {size:>8} {r['seconds']:>8.2f} {r['cpu']:>6.2f} {r['heap']:>11.1f} "
                    f"{r['rss']:>12.1f} {r['templates']:>9} {r['largest']:>7} {r['trips']:>10}"
                )
            if len(sizes) >= 2:
                marginals.append(marginal(validation, mix, results, sizes[-2], sizes[-1]))
    print("\n".join(marginals))


def marginal(validation: str, mix: str, results: dict[int, dict[str, Any]], small: int, large: int) -> str:
    """The cost of an extra project between ``small`` and ``large`` projects, as one line."""
    extra = large - small

    def per(key: str, scale: float = 1) -> float:
        return (results[large][key] - results[small][key]) / extra * scale

    return (
        f"validation {validation:>3}, {mix:>5}: marginal per extra project ({small}->{large}): "
        f"{per('seconds', 1000):.0f} ms ({per('cpu', 1000):.0f} ms CPU), {per('heap'):.2f} MiB Python heap, "
        f"{per('rss'):.2f} MiB peak resident, {per('trips'):.0f} jsii round trips "
        "(goal: <= 100 ms and <= 5 MB)"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main([int(arg) for arg in sys.argv[1:]] or [1, 10, 100])
