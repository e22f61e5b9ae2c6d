"""Every object under a data prefix (Stubber pagination): names, sizes, sampled contents, the budget."""

from __future__ import annotations

import io
import re
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from cdk_sagemaker_finetuning.runtime import data_scan, errors
from tests import workflow_data as wd

BUCKET = "demo-data"
GOOD = wd.jsonl(wd.SFT_ROW)


class S3:
    """A stubbed S3 client holding ``objects`` ({key: bytes}) listed in pages of ``page`` keys."""

    def __init__(self, objects: dict[str, bytes], prefix: str = "train/", page: int = 1000) -> None:
        self.client = boto3.client("s3", region_name=wd.REGION)
        self.stub = Stubber(self.client)
        self.objects, self.prefix, self.page = objects, prefix, page
        self.stub.activate()

    def expect_listing(self, pages: int | None = None) -> None:
        keys = sorted(self.objects)
        chunks = [keys[i : i + self.page] for i in range(0, len(keys), self.page)] or [[]]
        for number, chunk in enumerate(chunks[:pages] if pages else chunks):
            params = {"Bucket": BUCKET, "Prefix": self.prefix, "MaxKeys": 1000}
            if number:
                params["ContinuationToken"] = f"token-{number}"
            last = number == len(chunks) - 1
            answer = {
                "Contents": [{"Key": k, "Size": len(self.objects[k])} for k in chunk],
                "IsTruncated": not last,
                "KeyCount": len(chunk),
            }
            if not last:
                answer["NextContinuationToken"] = f"token-{number + 1}"
            self.stub.add_response("list_objects_v2", answer, params)

    def expect_reads(self, keys: list[str]) -> None:
        for position, key in enumerate(keys):
            limit = data_scan.FIRST_SAMPLE_BYTES if position == 0 else data_scan.OTHER_SAMPLE_BYTES
            data = self.objects[key][:limit]
            self.stub.add_response(
                "get_object",
                {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentLength": len(data)},
                {"Bucket": BUCKET, "Key": key, "Range": f"bytes=0-{limit - 1}"},
            )


def check(s3: S3, technique: str = "SFT", budget: data_scan.Budget | None = None):
    return data_scan.check_location(
        s3.client, f"s3://{BUCKET}/{s3.prefix}", technique, False, field="data.train", budget=budget
    )


def numbered(count: int, data: bytes = GOOD) -> dict[str, bytes]:
    return {f"train/part-{i:05d}.jsonl": data for i in range(count)}


def test_several_objects_where_only_a_later_one_is_bad_is_rejected_naming_it():
    objects = numbered(5)
    objects["train/part-00003.jsonl"] = GOOD + b'{"prompt": "x", "completion": 3}\n'
    s3 = S3(objects)
    s3.expect_listing()
    s3.expect_reads(sorted(objects)[:4])
    with pytest.raises(errors.DatasetFormat) as info:
        check(s3)
    assert info.value.message.startswith(f"s3://{BUCKET}/train/part-00003.jsonl line 4: invalid_structure")
    assert info.value.field == "data.train"
    s3.stub.assert_no_pending_responses()


def test_a_later_object_of_another_technique_is_rejected_naming_it():
    objects = numbered(3)
    objects["train/part-00002.jsonl"] = wd.jsonl(wd.DPO_ROW)
    s3 = S3(objects)
    s3.expect_listing()
    s3.expect_reads(sorted(objects))
    with pytest.raises(
        errors.DatasetFormat, match="part-00002.jsonl looks like open_weights_dpo; it fits DPO"
    ):
        check(s3)


def test_objects_of_two_accepted_formats_are_rejected():
    objects = numbered(2)
    objects["train/part-00001.jsonl"] = wd.jsonl(
        {
            "prompt": [{"role": "user", "content": "hi"}],
            "completion": [{"role": "assistant", "content": "yo"}],
        }
    )
    s3 = S3(objects)
    s3.expect_listing()
    s3.expect_reads(sorted(objects))
    with pytest.raises(
        errors.DatasetFormat, match="part-00001.jsonl is open_weights_sft_conv, but .*part-00000"
    ):
        check(s3)


@pytest.mark.parametrize(
    ("key", "data", "words"),
    [
        ("train/part-00042.jsonl", b"", "part-00042.jsonl is empty (0 bytes)"),
        ("train/_SUCCESS", b"x", "train/_SUCCESS is not a JSON Lines file"),
        ("train/part-00042.parquet", b"PAR1", "part-00042.parquet is not a JSON Lines file"),
    ],
)
def test_every_listed_object_is_checked_by_name_and_size_even_unsampled_ones(key, data, words):
    objects = {**numbered(100), key: data}
    s3 = S3(objects, page=30)
    s3.expect_listing()
    with pytest.raises(errors.DatasetFormat, match=re.escape(words)) as info:
        check(s3)
    assert "the job trains on every object under s3://demo-data/train/" in info.value.message
    s3.stub.assert_no_pending_responses()  # rejected from the listing alone: nothing was read


def test_content_that_is_not_json_lines_is_rejected():
    objects = {**numbered(2), "train/part-00001.jsonl": b"PAR1\x00\x01binary\n"}
    s3 = S3(objects)
    s3.expect_listing()
    s3.expect_reads(sorted(objects))
    with pytest.raises(errors.DatasetFormat, match="part-00001.jsonl looks like no known format"):
        check(s3)


def test_prefix_without_data_is_rejected():
    s3 = S3({"train/": b""})
    s3.expect_listing()
    with pytest.raises(errors.DatasetNotFound, match="no data at s3://demo-data/train/"):
        check(s3)


def test_ten_thousand_keys_stay_within_the_budget():
    objects = numbered(10_000)
    s3 = S3(objects)
    s3.expect_listing()
    keys = sorted(objects)
    sampled = [keys[i] for i in data_scan.sample_indexes(len(keys))]
    s3.expect_reads(sampled)
    fmt, summary = check(s3)
    s3.stub.assert_no_pending_responses()  # 10 list pages + 8 ranged reads, nothing else
    assert fmt == "open_weights_sft"
    assert summary["objects"] == 10_000 and summary["stopped"] is None
    assert summary["sampled"][0] == keys[0] and summary["sampled"][-1] == keys[-1]
    assert len(summary["sampled"]) == data_scan.SAMPLE_OBJECTS
    assert summary["bytesRead"] <= data_scan.MAX_SAMPLE_BYTES


def test_key_cap_stops_the_listing_and_says_so():
    s3 = S3(numbered(2500))
    s3.expect_listing(pages=2)
    listing = data_scan.list_objects(s3.client, BUCKET, "train/", max_keys=2000)
    assert (len(listing.objects), listing.pages, listing.stopped) == (2000, 2, "key cap")


def test_deadline_stops_listing_and_sampling():
    ticks = iter([0.0] + [100.0] * 50)  # the budget starts at 0 s and is over at the first check
    budget = data_scan.Budget(seconds=10, clock=lambda: next(ticks))
    s3 = S3(numbered(3000))
    s3.expect_listing(pages=1)
    s3.expect_reads([sorted(s3.objects)[0]])
    fmt, summary = check(s3, budget=budget)
    assert fmt == "open_weights_sft"
    assert summary["stopped"] == "time budget" and summary["objects"] == 1000
    assert len(summary["sampled"]) == 1  # the first object is always read
    s3.stub.assert_no_pending_responses()


@given(st.integers(min_value=0, max_value=50_000))
def test_sample_spreads_over_the_listing(count):
    indexes = data_scan.sample_indexes(count)
    assert len(indexes) == min(count, data_scan.SAMPLE_OBJECTS) == len(set(indexes))
    if count:
        assert indexes[0] == 0 and indexes[-1] == count - 1
        assert indexes == sorted(indexes)
    if count > data_scan.SAMPLE_OBJECTS:
        gaps = [b - a for a, b in zip(indexes, indexes[1:], strict=False)]
        assert max(gaps) - min(gaps) <= 1


def test_budget_figures_are_the_documented_ones():
    assert data_scan.MAX_SAMPLE_BYTES == 1_048_576 + 7 * 131_072
    assert (data_scan.PREFLIGHT_SECONDS, data_scan.PREFLIGHT_MAX_KEYS) == (20.0, 100_000)
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert "1.875 MiB" in readme and "20 s" in readme and "100,000 keys" in readme


# -- keys as EventBridge delivers them -------------------------------------------------------------------


def listing_stub(existing: set[str]):
    client = boto3.client("s3", region_name=wd.REGION)
    stub = Stubber(client)
    stub.activate()

    def expect(key: str) -> None:
        found = key in existing
        stub.add_response(
            "list_objects_v2",
            {"KeyCount": int(found), **({"Contents": [{"Key": key, "Size": 1}]} if found else {})},
            {"Bucket": BUCKET, "Prefix": key, "MaxKeys": 1},
        )

    return client, stub, expect


@pytest.mark.parametrize(
    ("delivered", "existing", "resolved", "lookups"),
    [
        ("in/plain.jsonl", {"in/plain.jsonl"}, "in/plain.jsonl", []),
        (
            "in/my+file.jsonl",
            {"in/my file.jsonl"},
            "in/my file.jsonl",
            ["in/my+file.jsonl", "in/my file.jsonl"],
        ),
        ("in/a+b.jsonl", {"in/a+b.jsonl"}, "in/a+b.jsonl", ["in/a+b.jsonl"]),
        ("in/a%2Bb.jsonl", {"in/a+b.jsonl"}, "in/a+b.jsonl", ["in/a%2Bb.jsonl", "in/a+b.jsonl"]),
        ("in/100%25.jsonl", {"in/100%.jsonl"}, "in/100%.jsonl", ["in/100%25.jsonl", "in/100%.jsonl"]),
        ("in/caf%C3%A9.jsonl", {"in/café.jsonl"}, "in/café.jsonl", ["in/caf%C3%A9.jsonl", "in/café.jsonl"]),
        ("in/gone+x.jsonl", set(), "in/gone+x.jsonl", ["in/gone+x.jsonl", "in/gone x.jsonl"]),
    ],
    ids=["plain", "space", "literal-plus", "encoded-plus", "percent", "unicode", "neither"],
)
def test_existing_key_tries_the_key_as_given_then_decoded(delivered, existing, resolved, lookups):
    client, stub, expect = listing_stub(existing)
    for key in lookups:
        expect(key)
    assert data_scan.existing_key(client, BUCKET, delivered) == resolved
    stub.assert_no_pending_responses()


def test_a_sampled_object_with_records_longer_than_its_read_is_left_unchecked_not_rejected():
    long_row = wd.jsonl({"prompt": "x" * 200_000, "completion": "y"}, count=2)
    objects = {**numbered(2), "train/part-00001.jsonl": long_row}
    s3 = S3(objects)
    s3.expect_listing()
    s3.expect_reads(sorted(objects))
    fmt, summary = check(s3)
    assert fmt == "open_weights_sft"
    assert summary["unchecked"] == ["train/part-00001.jsonl"] and summary["stopped"] is None
