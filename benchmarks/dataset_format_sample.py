"""How long ``check_sample`` takes on a full 1 MiB sample, per dataset format and for a worst case.

Run: ``.venv/bin/python benchmarks/dataset_format_sample.py``. Prints records checked, the median time of
five runs and the throughput. The preflight Lambda and ``cdk-finetune data check`` check one such sample.
"""

from __future__ import annotations

import json
import statistics
import time

from cdk_sagemaker_finetuning.runtime.dataset_format import SAMPLE_BYTES, check_sample

TURNS = [{"role": "user", "content": "What is the capital of France?"}, {"role": "assistant", "content": "Paris."}]
RECORDS = {
    "open_weights_sft": {"prompt": "What is the capital of France? " * 4, "completion": "Paris is the capital."},
    "gpt_oss_sft": {"messages": TURNS},
    "open_weights_dpo": {"prompt": "Greet the user.", "chosen": "Hello! How can I help?", "rejected": "What."},
    "verl": {
        "data_source": "gsm8k",
        "prompt": TURNS[:1],
        "ability": "math",
        "reward_model": {"ground_truth": "Paris", "style": "rule"},
    },
    "nova_sft": {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "Be brief."}],
        "messages": [{"role": t["role"], "content": [{"text": t["content"]}]} for t in TURNS],
    },
    "nova_rlvr": {"id": "1", "messages": TURNS[:1], "reference_answer": {"answer": "Paris"}},
}


def sample(record: object) -> bytes:
    line = json.dumps(record, ensure_ascii=False).encode() + b"\n"
    return (line * (SAMPLE_BYTES // len(line) + 1))[:SAMPLE_BYTES]


def measure(name: str, data: bytes) -> None:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        report = check_sample(data, complete=False)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(
        f"{name:<28} {report.records:>8,} records  {report.error_count:>8,} problems  "
        f"{median * 1000:7.1f} ms  {len(data) / median / 1_048_576:6.1f} MiB/s"
    )


def main() -> None:
    print(f"check_sample on a {SAMPLE_BYTES:,}-byte sample (median of 5 runs)")
    for name, record in RECORDS.items():
        measure(name, sample(record))
    measure("worst: every line invalid", sample({"title": "x"}))
    measure("worst: every line bad JSON", b"{x\n" * (SAMPLE_BYTES // 3))


if __name__ == "__main__":
    main()
