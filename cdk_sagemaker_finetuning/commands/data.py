"""``cdk-finetune data check PATH|S3URI``: detect a dataset's format from a bounded sample and check it.

A file or S3 object: reads at most ``SAMPLE_BYTES`` (a local read or one ranged S3 ``GetObject``; the data is
never copied), checks every complete record with ``runtime.dataset_format`` and says whether the data fits
the chosen technique and model family, or which technique it would fit instead. An S3 prefix: every key is
listed (``data_prefix``). Exit code 2 when the data has problems or does not fit.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..runtime import data_scan, models
from ..runtime.dataset_format import (
    SAMPLE_BYTES,
    FormatReport,
    check_sample,
    formats_for,
    is_nova_format,
    techniques_for,
)
from . import _aws, _term, data_prefix

#: The service rejected a 5-row dataset with "Number of samples 5 out of bounds between 32 and inf".
MIN_SAMPLES = 32
BOM = b"\xef\xbb\xbf"
S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)/?(?P<key>.*)$")

DESCRIPTIONS = {
    "open_weights_sft": "prompt/completion strings",
    "open_weights_sft_conv": "prompt/completion message lists",
    "gpt_oss_sft": "GPT-OSS messages with string content",
    "open_weights_dpo": "prompt/chosen/rejected strings",
    "gpt_oss_dpo": "GPT-OSS prompt/chosen/rejected message lists",
    "verl": "verl: prompt messages + reward_model",
    "verl_legacy": "legacy verl: string prompt + reward_model",
    "nova_sft": "Nova bedrock-conversation messages",
    "nova_dpo": "Nova conversation with preference candidates",
    "nova_rlvr": "Nova messages + reference_answer",
    "sagemaker_eval": "evaluation query/response, not training data",
}


@dataclass(frozen=True)
class Sample:
    """The bytes read, where from, and whether they are the whole file."""

    source: str
    data: bytes
    total: int
    bucket_region: str | None = None

    @property
    def complete(self) -> bool:
        return len(self.data) >= self.total


#: One example line per format, for ``data check --help``.
LAYOUTS = {
    "open_weights_sft": '{"prompt": "Q", "completion": "A"}',
    "open_weights_sft_conv": '{"prompt": [{"role": "user", "content": "Q"}],\n'
    '   "completion": [{"role": "assistant", "content": "A"}]}',
    "gpt_oss_sft": '{"messages": [{"role": "user", "content": "Q"},\n'
    '   {"role": "assistant", "content": "A"}]}',
    "open_weights_dpo": '{"prompt": "Q", "chosen": "good", "rejected": "bad"}',
    "gpt_oss_dpo": '{"prompt": [<message>], "chosen": [<message>], "rejected": [<message>]}',
    "verl": '{"prompt": [{"role": "user", "content": "Q"}],\n'
    '   "reward_model": {"ground_truth": "A"}}\n(data_source, ability and extra_info optional)',
    "verl_legacy": '{"prompt": "Q", "reward_model": {"ground_truth": "A"}}',
    "nova_sft": '{"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "S"}],\n'
    '   "messages": [{"role": "user", "content": [{"text": "Q"}]},\n'
    '   {"role": "assistant", "content": [{"text": "A"}]}]}',
    "nova_dpo": 'nova_sft, the last turn {"role": "assistant", "candidates": [\n'
    '   {"content": [{"text": "A"}], "preferenceLabel": "preferred"},\n'
    '   {"content": [{"text": "B"}], "preferenceLabel": "non-preferred"}]}',
    "nova_rlvr": '{"messages": [{"role": "user", "content": "Q"}],\n   "reference_answer": {"answer": "A"}}',
    "sagemaker_eval": '{"query": "Q", "response": "A"}  (evaluation data, not for training)',
}


def _layouts() -> str:
    lines = ["Formats (one JSON object per line; fields as in the example):"]
    for name in DESCRIPTIONS:
        lines.append(f"  {name}: {DESCRIPTIONS[name]}")
        lines.extend(f"    {part}" for part in LAYOUTS[name].split("\n"))
    return "\n".join(lines)


def _count(text: str, minimum: int = 0) -> int:
    """An argparse type: a whole number of at least ``minimum``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < minimum:
        rule = "is negative; use 0 or more" if minimum == 0 else f"is too small; use {minimum} or more"
        raise argparse.ArgumentTypeError(f"{value} {rule}")
    return value


def _keys(text: str) -> int:
    return _count(text, minimum=1)


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser(
        "data", help="check training data", description="Check training data before spending money on a job."
    )
    commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    check = commands.add_parser(
        "check",
        help="detect a JSONL dataset's format and check its records",
        description=_term.wrap(
            "Detect the format of a JSONL dataset from its first MiB (a local file or one ranged S3 read), "
            "check every record in that sample, and say whether it fits the technique and model. An S3 prefix "
            "is listed in full (up to --max-keys): every object must be a non-empty .jsonl file, and up to "
            f"{data_scan.SAMPLE_OBJECTS} objects spread over the listing are checked."
        ),
        epilog=_layouts(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument(
        "source", metavar="PATH|S3URI", help="local .jsonl file, or s3://bucket/key (or prefix)"
    )
    check.add_argument(
        "--technique", choices=models.TECHNIQUES, type=str.lower, help="technique to check for"
    )
    check.add_argument("--model", help="base model hub content name (decides Nova vs open-weight formats)")
    check.add_argument(
        "--max-errors", type=_count, default=20, metavar="N", help="problems to show (default 20)"
    )
    check.add_argument(
        "--max-keys",
        type=_keys,
        default=data_prefix.MAX_KEYS,
        metavar="N",
        help=f"keys of an S3 prefix to list at most (default {data_prefix.MAX_KEYS:,})",
    )
    _aws.add_aws_options(check)
    check.set_defaults(handler=run_check)


@_aws.friendly_errors
def run_check(args: argparse.Namespace) -> int:
    if args.source.startswith("s3://"):
        found = read_s3(args, args.source)
        if isinstance(found, data_prefix.Prefix):
            return data_prefix.check(args, found)
        sample = found
    else:
        sample = read_local(args.source)
    report = check_sample(sample.data, complete=sample.complete)
    ok = print_report(args, sample, report)
    warn_region(args, sample)
    return 0 if ok else _aws.INVALID


def print_report(args: argparse.Namespace, sample: Sample, report: FormatReport) -> bool:
    """Print one sample's format, confidence, fit and problems; True when it fits and has no problems."""
    print(describe_sample(sample, report))
    print(
        _term.field(
            "Format",
            f"{report.format} ({DESCRIPTIONS[report.format]})" if report.format else "not detected",
            10,
        )
    )
    print(_term.field("Confidence", report.confidence, 10))
    if report.format and report.confidence == "NONE":  # some lines do not parse: no verdict yet
        fits = techniques_for(report.format)
        seen = (
            f" (the records that parse look like {', '.join(t.upper() for t in fits)} data)" if fits else ""
        )
        print(_term.field("Fits", f"unknown until every line parses{seen}", 10))
        ok = False
    else:
        ok = print_fit(report.format, args.technique, args.model) if report.format else False
    print_problems(report, args.max_errors)
    if sample.data.startswith(BOM):
        print(
            _term.wrap(
                "warning: the data starts with a UTF-8 byte order mark (BOM); save it as UTF-8 without a BOM "
                "(whether the training job accepts one is unconfirmed)."
            )
        )
    if sample.complete and report.format is not None and report.records < MIN_SAMPLES:
        print(
            _term.wrap(
                f"warning: {plural(report.records, 'record')}; the service needs at least {MIN_SAMPLES}."
            )
        )
    return ok and not report.error_count


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


# --- reading ---------------------------------------------------------------------------------------------


def read_local(source: str) -> Sample:
    path = Path(source)
    if path.is_dir():
        raise _aws.CommandError(f"{source} is a directory; pass a .jsonl file.", _aws.INVALID)
    try:
        with path.open("rb") as handle:
            data = handle.read(SAMPLE_BYTES)
            total = path.stat().st_size
    except OSError as exc:
        raise _aws.CommandError(f"Cannot read {source}: {exc.strerror or exc}.", _aws.INVALID) from None
    return Sample(str(path), data, max(total, len(data)))


def read_s3(args: argparse.Namespace, uri: str) -> Sample | data_prefix.Prefix:
    """One ranged GetObject of at most SAMPLE_BYTES; a prefix (or a key that does not exist) is a Prefix."""
    match = S3_URI.match(uri)
    if not match or not match["bucket"]:
        raise _aws.CommandError(f"{uri!r} is not an S3 URI (s3://bucket/key).", _aws.INVALID)
    bucket, key = match["bucket"], match["key"]
    s3 = _aws.client(args, "s3")
    bucket_region = _bucket_region(s3, bucket)
    if key and not key.endswith("/"):
        try:
            return _ranged_get(s3, bucket, key, bucket_region)
        except _aws.ClientError as exc:
            if _aws.error_code(exc) not in ("NoSuchKey", "404"):
                raise
        key += "/"
    return data_prefix.Prefix(s3, bucket, key, bucket_region)


def _bucket_region(s3: Any, bucket: str) -> str | None:
    """The bucket's region, or None when HeadBucket is not allowed (the check is then skipped)."""
    try:
        return s3.head_bucket(Bucket=bucket).get("BucketRegion")
    except _aws.ClientError as exc:
        if _aws.error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
            raise _aws.CommandError(f"Bucket {bucket!r} does not exist.", _aws.INVALID) from None
        if _aws.error_code(exc) in ("403", "AccessDenied"):
            return None
        raise


def _ranged_get(s3: Any, bucket: str, key: str, bucket_region: str | None) -> Sample:
    source = f"s3://{bucket}/{key}"
    try:
        response = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{SAMPLE_BYTES - 1}")
    except _aws.ClientError as exc:
        if _aws.error_code(exc) == "InvalidRange":  # an empty object
            return Sample(source, b"", 0, bucket_region)
        raise
    data = response["Body"].read(SAMPLE_BYTES)
    total = response.get("ContentLength", len(data))
    content_range = response.get("ContentRange") or ""
    if "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
        total = int(content_range.rsplit("/", 1)[1])
    return Sample(source, data, max(total, len(data)), bucket_region)


# --- reporting -------------------------------------------------------------------------------------------


def describe_sample(sample: Sample, report: FormatReport) -> str:
    extent = (
        f"all {sample.total:,} bytes"
        if sample.complete
        else f"first {len(sample.data):,} of {sample.total:,} bytes"
    )
    return _term.wrap(f"Checked {sample.source}: {extent}, {plural(report.records, 'record')}.", "", "  ")


def print_problems(report: FormatReport, max_errors: int) -> None:
    """Problems grouped by type and message: ``line 3, 4, 5, ... (40 lines): <problem>``."""
    if not report.errors:
        return
    groups: dict[tuple[str, str], list[int]] = {}
    for error in report.errors:
        groups.setdefault((error.type, error.message), []).append(error.line)
    shown = list(groups.items())[:max_errors]
    more = f", first {len(shown)} of {len(groups):,} kinds shown" if len(shown) < len(groups) else ""
    unlisted = f"; {report.unlisted:,} more not listed" if report.unlisted else ""
    print(f"\nProblems ({report.error_count:,}{more}{unlisted}):")
    for (kind, message), lines in shown:
        print(_term.wrap(f"{_lines(lines)}: {kind}: {message}", "  ", "      "))


def _lines(lines: list[int]) -> str:
    if lines == [0]:
        return "data"
    head = ", ".join(str(n) for n in lines[:3])
    return (
        f"line {head}"
        if len(lines) == 1
        else f"line {head}{', ...' if len(lines) > 3 else ''} ({len(lines):,} lines)"
    )


def print_fit(fmt: str, technique: str | None, model: str | None) -> bool:
    """Say which techniques the format fits; with --technique/--model, whether it fits those."""
    fits = techniques_for(fmt)
    family = "Nova" if is_nova_format(fmt) else "open-weight"
    if not fits:
        print(_term.field("Fits", "no training technique (evaluation data)", 10))
        return technique is None and model is None
    print(_term.field("Fits", f"{', '.join(t.upper() for t in fits)} on {family} models", 10))
    if technique is None and model is None:
        return True
    nova = models.is_nova(model) if model else is_nova_format(fmt)
    target_family = "Nova" if nova else "open-weight"
    target = f"{technique.upper() if technique else 'training'} on {model or target_family + ' models'}"
    wanted = formats_for(technique, nova) if technique else sum((formats_for(t, nova) for t in fits), ())
    if fmt in wanted:
        print(_term.wrap(f"OK: the data fits {target}."))
        return True
    reason = f"it needs {' or '.join(wanted)}" if wanted else f"{fmt} is {family} data"
    if model and nova != is_nova_format(fmt):
        reason = f"{model} is a{'' if nova else 'n'} {target_family} model but this is {family} data"
    print(_term.wrap(f"Does not fit {target}: {reason}."))
    return False


def warn_region(args: argparse.Namespace, sample: Sample) -> None:
    if sample.bucket_region and sample.bucket_region != _aws.region(args):
        print(
            _term.wrap(
                f"warning: the bucket is in {sample.bucket_region}, not {_aws.region(args)}; training data "
                "must be in the training region."
            )
        )
