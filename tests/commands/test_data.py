"""cdk-finetune data check: local files and S3 ranged reads (Stubber), every format, boundary cases."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from botocore.response import StreamingBody

from cdk_sagemaker_finetuning.runtime.dataset_format import SAMPLE_BYTES
from tests.runtime.test_dataset_format import INVALID, VALID

RANGE = f"bytes=0-{SAMPLE_BYTES - 1}"


def jsonl(*records: object) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def write(tmp_path: Path, data: bytes, name: str = "train.jsonl") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_local_file_of_every_format(tmp_path, run, name: str) -> None:
    path = write(tmp_path, jsonl(*[VALID[name]] * 40))
    result = run("data", "check", path)
    assert result.flat_out.startswith(f"Checked {path}: all ")
    assert f"Format: {name} (" in result.flat_out
    assert "Confidence: HIGH" in result.out
    assert "warning" not in result.out
    assert result.code == 0


@pytest.mark.parametrize(("name", "record", "error_type", "message"), INVALID)
def test_invalid_record_of_every_format_is_reported_with_its_line(
    tmp_path, run, name, record, error_type, message
):
    path = write(tmp_path, jsonl(*[VALID[name]] * 40, record, VALID[name]))
    result = run("data", "check", path)
    assert result.code == 2
    assert f"Format: {name} (" in result.flat_out
    assert "Confidence: LOW" in result.out
    assert f"line 41: {error_type}: " in result.flat_out
    assert message in result.flat_out


@pytest.mark.parametrize(
    ("name", "technique", "model", "fits"),
    [
        ("open_weights_sft", "sft", "meta-textgeneration-llama-3-2-1b-instruct", True),
        ("gpt_oss_sft", "sft", "openai-reasoning-gpt-oss-20b", True),
        ("nova_sft", "sft", "nova-textgeneration-lite-v2", True),
        ("nova_sft", "sft", "meta-textgeneration-llama-3-2-1b-instruct", False),
        ("open_weights_sft", "sft", "amazon.nova-lite-v1", False),
        ("open_weights_dpo", "dpo", None, True),
        ("open_weights_dpo", "sft", None, False),
        ("verl", "rlvr", "huggingface-reasoning-qwen3-8b", True),
        ("verl", "rlaif", None, True),
        ("nova_rlvr", "rlvr", "nova-textgeneration-lite-v2", True),
        ("nova_dpo", "dpo", "nova-textgeneration-micro", True),
        ("sagemaker_eval", "sft", None, False),
    ],
)
def test_fit_for_technique_and_model(tmp_path, run, name, technique, model, fits) -> None:
    argv = ["data", "check", write(tmp_path, jsonl(*[VALID[name]] * 40)), "--technique", technique]
    result = run(*argv, *(["--model", model] if model else []))
    assert result.code == (0 if fits else 2)
    assert ("OK: the data fits" in result.out) == fits


def test_mismatch_message_names_the_needed_formats_and_the_alternative(tmp_path, run) -> None:
    result = run(
        "data", "check", write(tmp_path, jsonl(*[VALID["open_weights_dpo"]] * 40)), "--technique", "sft"
    )
    assert "Fits: DPO on open-weight models" in result.flat_out
    assert (
        "Does not fit SFT on open-weight models: it needs open_weights_sft or open_weights_sft_conv or gpt_oss_sft."
        in result.flat_out
    )


def test_family_mismatch_message(tmp_path, run) -> None:
    path = write(tmp_path, jsonl(*[VALID["open_weights_sft"]] * 40))
    result = run("data", "check", path, "--technique", "sft", "--model", "amazon.nova-lite-v1")
    assert "amazon.nova-lite-v1 is a Nova model but this is open-weight data" in result.flat_out


def test_evaluation_data_fits_no_training_technique(tmp_path, run) -> None:
    result = run("data", "check", write(tmp_path, jsonl(*[VALID["sagemaker_eval"]] * 40)))
    assert "Fits: no training technique (evaluation data)" in result.flat_out
    assert result.code == 0


def test_invalid_records_are_listed_per_line_and_capped(tmp_path, run) -> None:
    bad = {"prompt": "p", "completion": 3}
    data = jsonl(VALID["open_weights_sft"], bad, VALID["open_weights_dpo"]) + b"{oops\n" + jsonl(*[bad] * 5)
    result = run("data", "check", write(tmp_path, data), "--max-errors", "3")
    assert result.code == 2
    assert "Confidence: NONE" in result.out
    assert "Fits: unknown until every line parses" in result.flat_out  # no verdict next to NONE
    assert "Problems (8):" in result.out
    assert (
        "line 2, 5, 6, ... (6 lines): invalid_structure: 'completion' must be a string, got a number"
        in result.flat_out
    )
    assert (
        "line 3: schema_mismatch: record looks like open_weights_dpo, earlier records are open_weights_sft"
        in result.flat_out
    )
    assert "line 4: parse_error: invalid JSON" in result.flat_out


def test_small_dataset_warns_about_the_service_minimum(tmp_path, run) -> None:
    result = run("data", "check", write(tmp_path, jsonl(*[VALID["verl"]] * 5)))
    assert result.code == 0
    assert "warning: 5 records; the service needs at least 32." in result.out


def test_empty_and_missing_local_files(tmp_path, run) -> None:
    empty = run("data", "check", write(tmp_path, b""))
    assert empty.code == 2
    assert "data: parse_error: no records: the data is empty" in empty.out
    missing = run("data", "check", str(tmp_path / "nope.jsonl"))
    assert missing.code == 2
    assert missing.flat_err.startswith(f"error: Cannot read {tmp_path / 'nope.jsonl'}: No such file")
    directory = run("data", "check", str(tmp_path))
    assert directory.code == 2 and "is a directory" in directory.flat_err


def test_large_local_file_reads_only_the_sample(tmp_path, run) -> None:
    record = {"prompt": "Grüße 日本語 " * 20, "completion": "🙂" * 50}
    line = json.dumps(record, ensure_ascii=False).encode() + b"\n"
    data = line * (SAMPLE_BYTES // len(line) + 10)
    # make the sample boundary fall inside a multibyte character of an unterminated line
    assert data[:SAMPLE_BYTES].rfind(b"\n") != SAMPLE_BYTES - 1
    result = run("data", "check", write(tmp_path, data))
    assert result.code == 0
    assert (
        f"first {SAMPLE_BYTES:,} of {len(data):,} bytes, {SAMPLE_BYTES // len(line):,} records"
        in result.flat_out
    )
    assert "Confidence: HIGH" in result.out


def test_s3_object_is_read_with_one_ranged_get(stubs, run) -> None:
    data = jsonl(*[VALID["open_weights_sft"]] * 40)
    s3 = stubs("s3")
    s3.add_response("head_bucket", {"BucketRegion": "us-east-1"}, {"Bucket": "data-bkt"})
    s3.add_response(
        "get_object",
        {
            "Body": body(data),
            "ContentLength": len(data),
            "ContentRange": f"bytes 0-{len(data) - 1}/{len(data)}",
        },
        {"Bucket": "data-bkt", "Key": "sft/train.jsonl", "Range": RANGE},
    )
    result = run("data", "check", "s3://data-bkt/sft/train.jsonl", "--technique", "sft")
    assert result.code == 0
    assert result.flat_out.startswith(
        f"Checked s3://data-bkt/sft/train.jsonl: all {len(data):,} bytes, 40 records."
    )
    assert "OK: the data fits SFT on open-weight models." in result.out


def test_s3_sample_cut_inside_a_multibyte_character(stubs, run) -> None:
    record = {"prompt": "数学の問題 " * 4, "completion": "答え🙂"}
    full = jsonl(*[record] * 40)
    cut = full[: full.rindex("🙂".encode()) + 1]  # the sample ends inside the emoji of the last line
    s3 = stubs("s3")
    s3.add_response("head_bucket", {"BucketRegion": "us-east-1"}, {"Bucket": "b"})
    s3.add_response(
        "get_object",
        {"Body": body(cut), "ContentLength": len(cut), "ContentRange": f"bytes 0-{len(cut) - 1}/{len(full)}"},
        {"Bucket": "b", "Key": "t.jsonl", "Range": RANGE},
    )
    result = run("data", "check", "s3://b/t.jsonl")
    assert result.code == 0
    assert f"first {len(cut):,} of {len(full):,} bytes, 39 records" in result.flat_out
    assert "Problems" not in result.out


def test_s3_prefix_lists_every_key_reports_bad_names_and_checks_the_data(stubs, run) -> None:
    data = jsonl(*[VALID["nova_sft"]] * 40)
    s3 = stubs("s3")
    s3.add_response("head_bucket", {"BucketRegion": "us-east-1"}, {"Bucket": "b"})
    s3.add_client_error(
        "get_object",
        "NoSuchKey",
        "The specified key does not exist.",
        404,
        expected_params={"Bucket": "b", "Key": "train", "Range": RANGE},
    )
    s3.add_response(
        "list_objects_v2",
        {
            "Contents": [
                {"Key": "train/", "Size": 0},
                {"Key": "train/README.md", "Size": 10},
                {"Key": "train/part-1.jsonl", "Size": len(data)},
            ]
        },
        {"Bucket": "b", "Prefix": "train/", "MaxKeys": 1000},
    )
    s3.add_response(
        "get_object",
        {"Body": body(data), "ContentRange": f"bytes 0-{len(data) - 1}/{len(data)}"},
        {"Bucket": "b", "Key": "train/part-1.jsonl", "Range": RANGE},
    )
    result = run("data", "check", "s3://b/train", "--model", "nova-textgeneration-lite-v2")
    assert result.code == 2, result.out + result.err
    assert result.flat_out.startswith("Listed 2 objects (")
    assert (
        "Not JSON Lines (name not ending in .jsonl): 1 object s3://b/train/README.md"
        in result.flat_out
    )
    assert "Checked s3://b/train/part-1.jsonl: all" in result.flat_out
    assert "OK: the data fits training on nova-textgeneration-lite-v2." in result.out


def test_s3_empty_prefix_and_missing_bucket(stubs, run) -> None:
    s3 = stubs("s3")
    s3.add_response("head_bucket", {}, {"Bucket": "b"})
    s3.add_response("list_objects_v2", {"KeyCount": 0}, {"Bucket": "b", "Prefix": "data/", "MaxKeys": 1000})
    result = run("data", "check", "s3://b/data/")
    assert result.code == 2
    assert result.err == "error: No object at s3://b/data/.\n"
    s3.add_client_error("head_bucket", "404", "Not Found", 404, expected_params={"Bucket": "gone"})
    gone = run("data", "check", "s3://gone/x.jsonl")
    assert gone.code == 2
    assert gone.err == "error: Bucket 'gone' does not exist.\n"


def test_s3_empty_object(stubs, run) -> None:
    s3 = stubs("s3")
    s3.add_response("head_bucket", {}, {"Bucket": "b"})
    s3.add_client_error(
        "get_object",
        "InvalidRange",
        "The requested range is not satisfiable",
        416,
        expected_params={"Bucket": "b", "Key": "e.jsonl", "Range": RANGE},
    )
    result = run("data", "check", "s3://b/e.jsonl")
    assert result.code == 2
    assert "no records: the data is empty" in result.out


def test_s3_bucket_in_another_region_warns_and_head_bucket_denied_is_skipped(stubs, run) -> None:
    data = jsonl(*[VALID["verl"]] * 40)
    s3 = stubs("s3")
    s3.add_response("head_bucket", {"BucketRegion": "eu-west-1"}, {"Bucket": "b"})
    s3.add_response("get_object", {"Body": body(data)}, {"Bucket": "b", "Key": "k.jsonl", "Range": RANGE})
    result = run("data", "check", "s3://b/k.jsonl")
    assert (
        "warning: the bucket is in eu-west-1, not us-east-1; training data must be in the training region."
        in (result.flat_out)
    )
    s3.add_client_error("head_bucket", "403", "Forbidden", 403, expected_params={"Bucket": "b"})
    s3.add_response("get_object", {"Body": body(data)}, {"Bucket": "b", "Key": "k.jsonl", "Range": RANGE})
    denied = run("data", "check", "s3://b/k.jsonl")
    assert denied.code == 0 and "warning" not in denied.out


def test_s3_access_denied_on_get_object(stubs, run) -> None:
    s3 = stubs("s3")
    s3.add_response("head_bucket", {}, {"Bucket": "b"})
    s3.add_client_error(
        "get_object",
        "AccessDenied",
        "Access Denied",
        403,
        expected_params={"Bucket": "b", "Key": "k.jsonl", "Range": RANGE},
    )
    result = run("data", "check", "s3://b/k.jsonl")
    assert result.code == 1
    assert result.err.startswith("error: Access denied calling GetObject: Access Denied.")


def test_bad_s3_uri_and_bad_technique(run) -> None:
    assert run("data", "check", "s3://").code == 2
    bad = run("data", "check", "x.jsonl", "--technique", "cpt")
    assert bad.code == 2
    assert "invalid choice: 'cpt'" in bad.err


def test_identical_problems_are_grouped_and_the_cap_counts_kinds(tmp_path, run) -> None:
    bad = {"prompt": "p", "completion": 3}
    rows = [VALID["open_weights_sft"]] * 2 + [bad] * 40 + [{"prompt": 1, "completion": "c"}]
    result = run("data", "check", write(tmp_path, jsonl(*rows)), "--max-errors", "1")
    assert result.code == 2
    assert "Problems (41, first 1 of 2 kinds shown):" in result.out
    assert (
        "line 3, 4, 5, ... (40 lines): invalid_structure: 'completion' must be a string, got a number"
        in result.flat_out
    )
    assert result.out.count("invalid_structure") == 1
    assert "'prompt' must be a string" not in result.out


def test_one_record_is_singular(tmp_path, run) -> None:
    result = run("data", "check", write(tmp_path, jsonl(VALID["open_weights_sft"])))
    assert ", 1 record." in result.flat_out and "1 records" not in result.out
    assert "warning: 1 record; the service needs at least 32." in result.flat_out


def test_byte_order_mark_is_reported(tmp_path, run) -> None:
    result = run("data", "check", write(tmp_path, b"\xef\xbb\xbf" + jsonl(*[VALID["open_weights_sft"]] * 40)))
    assert "Confidence: HIGH" in result.out
    assert "warning: the data starts with a UTF-8 byte order mark (BOM)" in result.flat_out


@pytest.mark.parametrize(("flag", "value", "words"), [
    ("--max-errors", "-1", "argument --max-errors: -1 is negative; use 0 or more"),
    ("--max-errors", "x", "argument --max-errors: 'x' is not a whole number"),
    ("--max-keys", "-5", "argument --max-keys: -5 is too small; use 1 or more"),
    ("--max-keys", "0", "argument --max-keys: 0 is too small; use 1 or more"),
])
def test_negative_counts_are_rejected(tmp_path, run, flag, value, words) -> None:
    result = run("data", "check", write(tmp_path, jsonl(VALID["verl"])), flag, value)
    assert result.code == 2
    assert words in result.flat_err


def test_help_shows_the_field_layout_of_every_format(run) -> None:
    from cdk_sagemaker_finetuning.commands.data import DESCRIPTIONS

    result = run("data", "check", "--help")
    assert result.code == 0
    for name in DESCRIPTIONS:
        assert f"  {name}: " in result.out
    assert '{"prompt": "Q", "completion": "A"}' in result.out
    assert '"reference_answer": {"answer": "A"}' in result.out
    assert max(len(line) for line in result.out.splitlines()) <= 80
