"""``cdk-finetune data check s3://bucket/prefix/``: every key of a prefix, then a sample of its objects.

A training job trains on every object under its S3 prefix, so the command lists the whole prefix
(``ListObjectsV2`` pages of 1,000, a progress bar on stderr when it is a terminal) up to ``--max-keys``
(default :data:`MAX_KEYS`) and says when it stopped there; reports every empty object and every object
whose name does not end in ``.jsonl`` (grouped); then range-reads the objects the workflow's preflight samples
among the others (``runtime/data_scan.py``: the first, the last and evenly between) and checks each like a
single file.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from ..runtime import data_scan
from ..runtime.dataset_format import FormatReport
from . import _aws, _term
from . import data as _data  # the single-object report (data.py imports this module first)

MAX_KEYS = 100_000
SHOWN_KEYS = 5
LABELS = {
    data_scan.EMPTY: "Empty (0 bytes)",
    data_scan.NOT_JSONL: "Not JSON Lines (name not ending in .jsonl)",
}


@dataclass(frozen=True)
class Prefix:
    """An S3 prefix to scan: the client, bucket, key prefix and the bucket's region (None if unknown)."""

    s3: Any
    bucket: str
    prefix: str
    bucket_region: str | None


def check(args: argparse.Namespace, prefix: Prefix) -> int:
    listing = data_scan.list_objects(
        prefix.s3,
        prefix.bucket,
        prefix.prefix,
        max_keys=args.max_keys,
        progress=_progress(args.max_keys) if sys.stderr.isatty() else None,
    )
    if sys.stderr.isatty():
        print("\r" + " " * _term.WIDTH + "\r", end="", file=sys.stderr)
    where = f"s3://{prefix.bucket}/{prefix.prefix}"
    if not listing.objects:
        raise _aws.CommandError(f"No object at {where}.", _aws.INVALID)
    count = len(listing.objects)
    print(
        _term.wrap(f"Listed {_data.plural(count, 'object')} ({listing.total_bytes:,} bytes) under {where}")
    )
    if listing.stopped:
        print(
            _term.wrap(
                f"Stopped listing at {count:,} keys (--max-keys {args.max_keys:,}): later keys were not checked."
            )
        )
    ok = _print_object_problems(listing)
    bad = {key for key, _ in data_scan.object_problems(listing)}
    data = data_scan.Listing(listing.bucket, listing.prefix, [o for o in listing.objects if o[0] not in bad])
    for position, result in enumerate(data_scan.iter_samples(prefix.s3, data)):
        source = listing.uri(result.key)
        if position == 0:
            print()
            sample = _data.Sample(
                source, result.data, max(result.size, result.bytes_read), prefix.bucket_region
            )
            ok = _data.print_report(args, sample, result.report) and ok
            continue
        if position == 1:
            print("\nOther sampled objects:")
        if data_scan.too_long(result):
            print(
                _term.wrap(f"{source}: not checked (no line ends in the first {_kib()} KiB)", "  ", "      ")
            )
            continue
        ok = _print_other(source, result.report, result.complete) and ok
    _data.warn_region(args, _data.Sample(where, b"", 0, prefix.bucket_region))
    return 0 if ok else _aws.INVALID


def _progress(cap: int):
    def show(listing: data_scan.Listing) -> None:
        count = len(listing.objects)
        bar = _term.progress_bar(100 * count / cap, width=30)
        print(f"\rListing {bar} {count:,} keys", end="", file=sys.stderr, flush=True)

    return show


def _print_object_problems(listing: data_scan.Listing) -> bool:
    groups: dict[str, list[str]] = {}
    for key, problem in data_scan.object_problems(listing):
        groups.setdefault(problem, []).append(key)
    if not groups:
        return True
    total = sum(len(keys) for keys in groups.values())
    print(f"\nObjects the training job would fail on ({total:,}):")
    for problem, keys in groups.items():
        print(_term.wrap(f"{LABELS[problem]}: {_data.plural(len(keys), 'object')}", "  "))
        for key in keys[:SHOWN_KEYS]:
            print(f"    {listing.uri(key)}")
        if len(keys) > SHOWN_KEYS:
            print(f"    ... and {len(keys) - SHOWN_KEYS:,} more")
    return False


def _print_other(source: str, report: FormatReport, complete: bool) -> bool:
    records = _data.plural(report.records, "record")
    extent = records if complete else f"{records} in the first {_kib()} KiB"
    if report.errors:
        first = report.errors[0]
        line = f"line {first.line}: " if first.line else ""
        verdict = f"{report.error_count:,} problem(s), first {line}{first.type}: {first.message}"
    else:
        verdict = "OK"
    print(_term.wrap(f"{source}: {report.format or 'no known format'}, {extent}: {verdict}", "  ", "      "))
    return not report.errors


def _kib() -> int:
    return data_scan.OTHER_SAMPLE_BYTES // 1024
