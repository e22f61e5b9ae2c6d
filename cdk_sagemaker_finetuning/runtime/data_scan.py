"""Every object under an S3 data location, checked within a fixed budget (standard library + boto3 only).

A serverless training job trains on every object under its ``S3Uri`` prefix, so one empty or malformed file
anywhere fails the job after it started. :func:`list_objects` lists the prefix (paginated) up to a key cap
and a deadline; :func:`object_problems` rejects empty objects and names that are not JSON Lines;
:func:`sample_indexes` picks a bounded set of objects spread over the listing (first, last, evenly between)
that :func:`read_sample` range-reads, each checked with ``dataset_format``. The preflight and
``cdk-finetune data check`` both use this module. :func:`existing_key` resolves a key EventBridge may have
delivered URL-encoded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import BotoCoreError, ClientError

from . import dataset_format, errors

#: The preflight's budget per run (all data channels together).
PREFLIGHT_MAX_KEYS = 100_000
PREFLIGHT_SECONDS = 20.0
SAMPLE_OBJECTS = 8
FIRST_SAMPLE_BYTES = dataset_format.SAMPLE_BYTES  # 1 MiB of the first object
OTHER_SAMPLE_BYTES = 131_072  # 128 KiB of each other sampled object
#: Most bytes a check reads: 1 MiB + 7 x 128 KiB = 1.875 MiB per channel.
MAX_SAMPLE_BYTES = FIRST_SAMPLE_BYTES + (SAMPLE_OBJECTS - 1) * OTHER_SAMPLE_BYTES
JSONL_SUFFIX = ".jsonl"
NOT_FOUND = ("NoSuchBucket", "NoSuchKey", "404", "NotFound")
ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "403", "AllAccessDisabled")
#: The fix of an AccessDenied when the caller names none: the training preflight's.
PREFLIGHT_ACCESS_FIX = (
    "literal s3:// data locations of the spec are granted at synth; for data chosen per run or held by a "
    "registry dataset, grant the preflight function read on it, e.g. bucket.grant_read(workflow.preflight_function)"
    " (TrainingWorkflow data_buckets does so for whole buckets)"
)
PAGE_SIZE = 1000


@dataclass
class Budget:
    """A deadline shared by every listing and read of one check (``clock`` is injectable for tests)."""

    seconds: float = PREFLIGHT_SECONDS
    clock: Callable[[], float] = time.monotonic
    deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self.deadline = self.clock() + self.seconds

    def expired(self) -> bool:
        return self.clock() >= self.deadline


@dataclass
class Listing:
    """The objects listed under ``s3://bucket/prefix`` (folder markers left out) and why listing stopped."""

    bucket: str
    prefix: str
    objects: list[tuple[str, int]] = field(default_factory=list)
    pages: int = 0
    stopped: str | None = None
    """None when every key was listed, else ``"key cap"`` or ``"time budget"``."""

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.objects)


def list_objects(
    s3: Any,
    bucket: str,
    prefix: str,
    *,
    max_keys: int = PREFLIGHT_MAX_KEYS,
    budget: Budget | None = None,
    progress: Callable[[Listing], None] | None = None,
) -> Listing:
    """List every object under ``prefix`` (ListObjectsV2 pages of 1,000); stop at ``max_keys`` objects or at
    the deadline (``Listing.stopped`` says which)."""
    listing = Listing(bucket, prefix)
    args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": PAGE_SIZE}
    while True:
        page = s3.list_objects_v2(**args)
        listing.pages += 1
        for item in page.get("Contents", []):
            key, size = item["Key"], int(item.get("Size", 0))
            if key.endswith("/") and size == 0:  # a console "folder": not data
                continue
            if len(listing.objects) == max_keys:
                listing.stopped = "key cap"
                return listing
            listing.objects.append((key, size))
        if progress:
            progress(listing)
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return listing
        if len(listing.objects) == max_keys:
            listing.stopped = "key cap"
            return listing
        if budget is not None and budget.expired():
            listing.stopped = "time budget"
            return listing
        args["ContinuationToken"] = token


EMPTY = "is empty (0 bytes)"
NOT_JSONL = "is not a JSON Lines file (the name does not end in .jsonl)"


def object_problems(listing: Listing) -> list[tuple[str, str]]:
    """``(key, problem)`` for every listed object the job would fail on: empty, or not named ``.jsonl``."""
    problems = []
    for key, size in listing.objects:
        if size == 0:
            problems.append((key, EMPTY))
        elif not key.lower().endswith(JSONL_SUFFIX):
            problems.append((key, NOT_JSONL))
    return problems


def sample_indexes(count: int, samples: int = SAMPLE_OBJECTS) -> list[int]:
    """Indexes of at most ``samples`` objects out of ``count``: the first, the last and evenly between."""
    if count <= samples:
        return list(range(count))
    step = (count - 1) / (samples - 1)
    return sorted({round(i * step) for i in range(samples)})


def read_sample(s3: Any, bucket: str, key: str, size: int, limit: int) -> tuple[bytes, bool]:
    """One ranged ``GetObject`` of at most ``limit`` bytes; ``(data, complete)``."""
    body = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{limit - 1}")["Body"]
    data = body.read(limit)
    return data, size <= len(data)


@dataclass(frozen=True)
class SampleResult:
    """One sampled object and its format report."""

    key: str
    size: int
    data: bytes
    complete: bool
    report: dataset_format.FormatReport

    @property
    def bytes_read(self) -> int:
        return len(self.data)


def iter_samples(s3: Any, listing: Listing, budget: Budget | None = None) -> Iterator[SampleResult]:
    """Range-read and check the sampled objects in listing order; stops early when the deadline passes (the
    first object is always read)."""
    for position, index in enumerate(sample_indexes(len(listing.objects))):
        if position and budget is not None and budget.expired():
            return
        key, size = listing.objects[index]
        limit = FIRST_SAMPLE_BYTES if position == 0 else OTHER_SAMPLE_BYTES
        data, complete = read_sample(s3, listing.bucket, key, size, limit)
        yield SampleResult(key, size, data, complete, dataset_format.check_sample(data, complete=complete))


def too_long(result: SampleResult) -> bool:
    """A partial read without one complete line: its records are longer than the sample (not checked)."""
    return not result.complete and result.report.records == 0 and bool(result.data.strip())


def check_location(
    s3: Any,
    uri: str,
    technique: str,
    nova: bool,
    *,
    field: str,
    budget: Budget | None = None,
    formats: tuple[str, ...] | None = None,
    access_fix: str = PREFLIGHT_ACCESS_FIX,
) -> tuple[str | None, dict[str, Any]]:
    """Every object under ``uri`` is non-empty JSON Lines and a sample of them (first, last and evenly
    between, one range read each) matches the technique's formats (or ``formats``, e.g. evaluation data);
    return ``(format, summary)`` or raise a ``PreflightError`` naming the object. An AccessDenied is
    ``DatasetAccessDenied`` naming the grant needed, then ``access_fix`` (where to add it)."""
    bucket, prefix = uri.removeprefix("s3://").partition("/")[::2]
    try:
        listing = list_objects(s3, bucket, prefix, budget=budget)
        _check_listing(listing, uri, field)
        results: list[SampleResult] = []
        unchecked: list[str] = []
        for result in iter_samples(s3, listing, budget):
            if results and too_long(result):
                unchecked.append(result.key)
                continue
            _check_report(listing.uri(result.key), result.report, technique, nova, field, formats)
            first = results[0] if results else result
            if result.report.format != first.report.format:
                raise errors.DatasetFormat(
                    f"{listing.uri(result.key)} is {result.report.format}, but {listing.uri(first.key)} is "
                    f"{first.report.format}: every object under {uri} must have the same format",
                    field=field,
                )
            results.append(result)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code in NOT_FOUND:
            what = f"bucket {bucket}" if code == "NoSuchBucket" else f"the data at {uri}"
            raise errors.DatasetNotFound(f"{what} does not exist ({code})", field=field) from None
        if code in ACCESS_DENIED:
            raise access_denied(uri, exc, field, access_fix) from None
        raise errors.from_aws(exc, f"reading the data at {uri}") from None
    except BotoCoreError as exc:
        raise errors.from_aws(exc, f"reading the data at {uri}") from None
    return results[0].report.format, _summary(listing, results, unchecked)


def _check_listing(listing: Listing, uri: str, field: str) -> None:
    """Raise for no object under ``uri`` or for the first object with a problem (empty, not JSON Lines)."""
    if not listing.objects:
        raise errors.DatasetNotFound(f"no data at {uri} (no object under that key or prefix)", field=field)
    problems = object_problems(listing)
    if problems:
        key, problem = problems[0]
        more = (
            f"; {len(problems)} of {len(listing.objects)} objects have problems" if len(problems) > 1 else ""
        )
        raise errors.DatasetFormat(
            f"{listing.uri(key)} {problem}: the job trains on every object under {uri}{more}", field=field
        )


def _summary(listing: Listing, results: list[SampleResult], unchecked: list[str]) -> dict[str, Any]:
    """What the scan listed and read, for the preflight's answer."""
    all_sampled = len(results) + len(unchecked) == len(sample_indexes(len(listing.objects)))
    return {
        "objects": len(listing.objects),
        "bytes": listing.total_bytes,
        "sampled": [r.key for r in results],
        "unchecked": unchecked,
        "bytesRead": sum(r.bytes_read for r in results) + len(unchecked) * OTHER_SAMPLE_BYTES,
        "stopped": listing.stopped or (None if all_sampled else "time budget"),
    }


def access_denied(uri: str, exc: ClientError, field: str, fix: str) -> errors.PreflightError:
    """``DatasetAccessDenied``: which call was denied, the grant that allows it, and ``fix``."""
    bucket, prefix = uri.removeprefix("s3://").partition("/")[::2]
    return errors.DatasetAccessDenied(
        f"cannot check the data at {uri}: {exc.operation_name} was denied. The role running the check needs "
        f"s3:ListBucket on bucket {bucket} and s3:GetObject on {bucket}/{prefix}* (kms:Decrypt too with a "
        f"customer managed key), and the bucket policy must allow it: {fix}",
        field=field,
    )


def _check_report(
    where: str,
    report: dataset_format.FormatReport,
    technique: str,
    nova: bool,
    field: str,
    formats: tuple[str, ...] | None = None,
) -> None:
    accepted = formats or dataset_format.formats_for(technique.lower(), nova)
    if report.format not in accepted:
        fits = dataset_format.techniques_for(report.format) if report.format else ()
        hint = f"; it fits {', '.join(fits).upper()}" if fits else ""
        first = f" ({report.errors[0].message})" if report.errors else ""
        raise errors.DatasetFormat(
            f"{where} looks like {report.format or 'no known format'}{first}{hint}; {technique} on "
            f"{'Nova' if nova else 'open-weight'} models needs {' or '.join(accepted)}",
            field=field,
        )
    if report.errors:
        bad = report.errors[0]
        raise errors.DatasetFormat(
            f"{where} line {bad.line}: {bad.type}: {bad.message} ({len(report.errors)} problem(s) in the first "
            f"{report.records} records)",
            field=field,
        )


def existing_key(s3: Any, bucket: str, key: str) -> str:
    """``key`` when an object or prefix of that name exists, else its URL-decoded form when that exists.

    EventBridge may deliver S3 object keys URL-encoded (``my+file.jsonl`` for ``my file.jsonl``; unconfirmed),
    so a trigger's key is tried as given first, then decoded with ``unquote_plus``. Keys that decoding would
    not change cost no call.
    """
    decoded = unquote_plus(key)
    if decoded == key:
        return key

    def exists(candidate: str) -> bool:
        return bool(s3.list_objects_v2(Bucket=bucket, Prefix=candidate, MaxKeys=1).get("KeyCount"))

    return decoded if not exists(key) and exists(decoded) else key
