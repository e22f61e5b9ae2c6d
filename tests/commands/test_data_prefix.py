"""cdk-finetune data check s3://bucket/prefix/: every key listed (Stubber pages), problems grouped, samples."""

from __future__ import annotations

import io
import sys

from botocore.response import StreamingBody

from cdk_sagemaker_finetuning.runtime import data_scan
from tests.commands.test_data import jsonl
from tests.runtime.test_dataset_format import VALID

GOOD = jsonl(*[VALID["open_weights_sft"]] * 40)


def expect_listing(s3, objects: dict[str, bytes], pages: int | None = None, page: int = 1000) -> None:
    keys = sorted(objects)
    chunks = [keys[i : i + page] for i in range(0, len(keys), page)]
    for number, chunk in enumerate(chunks[:pages] if pages else chunks):
        params = {"Bucket": "b", "Prefix": "data/", "MaxKeys": 1000}
        if number:
            params["ContinuationToken"] = f"t{number}"
        last = number == len(chunks) - 1
        answer = {"Contents": [{"Key": k, "Size": len(objects[k])} for k in chunk], "IsTruncated": not last}
        if not last:
            answer["NextContinuationToken"] = f"t{number + 1}"
        s3.add_response("list_objects_v2", answer, params)


def expect_reads(s3, objects: dict[str, bytes], keys: list[str]) -> None:
    for position, key in enumerate(keys):
        limit = data_scan.FIRST_SAMPLE_BYTES if position == 0 else data_scan.OTHER_SAMPLE_BYTES
        data = objects[key][:limit]
        s3.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(data), len(data))},
            {"Bucket": "b", "Key": key, "Range": f"bytes=0-{limit - 1}"},
        )


def prefix_stub(stubs):
    s3 = stubs("s3")
    s3.add_response("head_bucket", {"BucketRegion": "us-east-1"}, {"Bucket": "b"})
    return s3


def test_a_later_bad_object_is_named(stubs, run) -> None:
    objects = {f"data/part-{i}.jsonl": GOOD for i in range(4)}
    objects["data/part-3.jsonl"] = GOOD + b'{"prompt": "p", "completion": 7}\n'
    s3 = prefix_stub(stubs)
    expect_listing(s3, objects)
    expect_reads(s3, objects, sorted(objects))
    result = run("data", "check", "s3://b/data/", "--technique", "sft")
    assert result.code == 2
    assert result.flat_out.startswith(f"Listed 4 objects ({sum(map(len, objects.values())):,} bytes) under")
    assert "Checked s3://b/data/part-0.jsonl: all" in result.flat_out
    assert "OK: the data fits SFT on open-weight models." in result.out
    assert "Other sampled objects:" in result.out
    assert "s3://b/data/part-1.jsonl: open_weights_sft, 40 records: OK" in result.flat_out
    assert (
        "s3://b/data/part-3.jsonl: open_weights_sft, 41 records: 1 problem(s), first line 41: invalid_structure:"
        in result.flat_out
    )


def test_every_key_is_listed_and_empty_objects_are_grouped(stubs, run) -> None:
    objects = {f"data/part-{i:04d}.jsonl": GOOD for i in range(2500)}
    for i in range(100, 112):
        objects[f"data/part-{i:04d}.jsonl"] = b""
    s3 = prefix_stub(stubs)
    expect_listing(s3, objects)
    good = sorted(k for k, v in objects.items() if v)
    expect_reads(s3, objects, [good[i] for i in data_scan.sample_indexes(len(good))])
    result = run("data", "check", "s3://b/data/")
    assert result.code == 2
    assert "Listed 2,500 objects" in result.out and "Stopped listing" not in result.out
    assert "Objects the training job would fail on (12):" in result.out
    assert "Empty (0 bytes): 12 objects" in result.out
    assert "s3://b/data/part-0100.jsonl" in result.out and "... and 7 more" in result.out


def test_the_key_cap_stops_the_listing_and_says_so(stubs, run) -> None:
    objects = {f"data/part-{i:04d}.jsonl": GOOD for i in range(3000)}
    s3 = prefix_stub(stubs)
    expect_listing(s3, objects, pages=2)
    listed = sorted(objects)[:1500]
    expect_reads(s3, objects, [listed[i] for i in data_scan.sample_indexes(1500)])
    result = run("data", "check", "s3://b/data/", "--max-keys", "1500")
    assert result.code == 0, result.out + result.err
    assert "Listed 1,500 objects" in result.out
    assert "Stopped listing at 1,500 keys (--max-keys 1,500): later keys were not checked." in result.flat_out


def test_progress_bar_on_a_terminal(stubs, run, monkeypatch) -> None:
    objects = {f"data/part-{i:04d}.jsonl": GOOD for i in range(2000)}
    s3 = prefix_stub(stubs)
    expect_listing(s3, objects)
    listed = sorted(objects)
    expect_reads(s3, objects, [listed[i] for i in data_scan.sample_indexes(2000)])
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    result = run("data", "check", "s3://b/data/", "--max-keys", "10000")
    assert result.code == 0
    assert "Listing [" in result.err and "1,000 keys" in result.err and "2,000 keys" in result.err
    assert " 20.0%" in result.err
    assert "Listing" not in result.out


def test_no_progress_bar_when_not_a_terminal(stubs, run) -> None:
    objects = {"data/a.jsonl": GOOD}
    s3 = prefix_stub(stubs)
    expect_listing(s3, objects)
    expect_reads(s3, objects, ["data/a.jsonl"])
    result = run("data", "check", "s3://b/data/")
    assert result.code == 0 and result.err == ""
