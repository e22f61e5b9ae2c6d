"""Dataset format detection and per-record checks (the formats of the customization techniques)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdk_sagemaker_finetuning.runtime.dataset_format import (
    FORMATS,
    MAX_ERRORS,
    SAMPLE_BYTES,
    FormatReport,
    RecordError,
    check_sample,
    classify,
    formats_for,
    techniques_for,
)

MSG = [{"role": "user", "content": "hi"}]
NOVA_MSGS = [
    {"role": "user", "content": [{"text": "What is 2+2?"}]},
    {"role": "assistant", "content": [{"text": "4"}]},
]

VALID: dict[str, dict] = {
    "open_weights_sft": {"prompt": "What is 2+2?", "completion": "4"},
    "open_weights_sft_conv": {"prompt": MSG, "completion": [{"role": "assistant", "content": "hello"}]},
    "gpt_oss_sft": {"messages": [*MSG, {"role": "assistant", "content": "hello"}]},
    "open_weights_dpo": {"prompt": "Say hi", "chosen": "Hello!", "rejected": "no"},
    "gpt_oss_dpo": {
        "prompt": MSG,
        "chosen": [{"role": "assistant", "content": "Hello!"}],
        "rejected": [{"role": "assistant", "content": "no"}],
    },
    "verl": {
        "data_source": "gsm8k",
        "prompt": [{"role": "user", "content": "2+2?"}],
        "ability": "math",
        "reward_model": {"ground_truth": "4", "style": "rule"},
    },
    "verl_legacy": {"prompt": "2+2?", "reward_model": {"ground_truth": "", "style": "rule"}},
    "nova_sft": {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "You are terse."}],
        "messages": NOVA_MSGS,
    },
    "nova_dpo": {
        "schemaVersion": "bedrock-conversation-2024",
        "messages": [
            NOVA_MSGS[0],
            {
                "role": "assistant",
                "candidates": [
                    {"content": [{"text": "4"}], "preferenceLabel": "preferred"},
                    {"content": [{"text": "five"}], "preferenceLabel": "non-preferred"},
                ],
            },
        ],
    },
    "nova_rlvr": {
        "id": "q1",
        "messages": [{"role": "user", "content": "2+2?"}],
        "reference_answer": {"answer": "4"},
    },
    "sagemaker_eval": {"query": "2+2?", "response": "4", "system": "math", "metadata": {"k": 1}},
}


def jsonl(*records: object, end: str = "\n") -> bytes:
    return ("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + end).encode()


def kinds(report: FormatReport) -> list[tuple[int, str]]:
    return [(e.line, e.type) for e in report.errors]


def test_every_format_has_a_valid_sample() -> None:
    assert set(VALID) == set(FORMATS)


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_samples_are_detected_with_high_confidence(name: str) -> None:
    report = check_sample(jsonl(VALID[name], VALID[name], VALID[name]), complete=True)
    assert report == FormatReport(name, 3, [], "HIGH")
    assert report.ok


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"prompt": "p", "completion": "c", "reward_model": {}}, "open_weights_sft"),
        ({"prompt": "p", "extra_info": {"x": 1}}, "verl_legacy"),
        ({"prompt": [], "extra_info": {}}, "verl"),
        ({"query": "q", "response": "r", "prompt": "p", "completion": "c"}, "sagemaker_eval"),
        ({"messages": "not a list", "schemaVersion": "x"}, "nova_sft"),
        ({"messages": []}, "gpt_oss_sft"),
        ({"prompt": "p", "completion": [{"role": "assistant", "content": "c"}]}, "open_weights_sft_conv"),
        ({"prompt": "p", "chosen": "c"}, None),
        ({"text": "plain"}, None),
    ],
)
def test_classification_rules(record: dict, expected: str | None) -> None:
    assert classify(record) == expected


INVALID = [
    (
        "open_weights_sft",
        {"prompt": "p", "completion": 4},
        "invalid_structure",
        "'completion' must be a string",
    ),
    (
        "open_weights_sft_conv",
        {"prompt": [{"role": "bot", "content": "x"}], "completion": []},
        "invalid_structure",
        "'prompt[0].role' is 'bot'",
    ),
    (
        "open_weights_sft_conv",
        {"prompt": [{"content": "x"}], "completion": MSG},
        "missing_field",
        "'prompt[0].role' is missing",
    ),
    (
        "nova_sft",
        {"messages": NOVA_MSGS, "schemaVersion": "v"},
        "invalid_structure",
        "'schemaVersion' is 'v'",
    ),
    (
        "gpt_oss_sft",
        {"messages": [{"role": "user", "content": "x"}, {"role": "assistant"}]},
        "missing_field",
        "'messages[1].content' is missing",
    ),
    (
        "gpt_oss_sft",
        {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": ["y"]}]},
        "invalid_structure",
        "'messages[1].content' must be a string",
    ),
    (
        "open_weights_dpo",
        {"prompt": "p", "chosen": "c", "rejected": None},
        "invalid_structure",
        "'rejected' must be a string, got null",
    ),
    (
        "gpt_oss_dpo",
        {"prompt": MSG, "chosen": "c", "rejected": MSG},
        "invalid_structure",
        "'chosen' must be a non-empty list",
    ),
    (
        "verl",
        {"prompt": [{"role": "user"}], "reward_model": {"ground_truth": "1"}},
        "missing_field",
        "'prompt[0].content' is missing",
    ),
    (
        "verl",
        {"prompt": ["just text"], "reward_model": {}},
        "invalid_structure",
        "'prompt[0]' must be an object",
    ),
    ("verl", {"prompt": MSG, "reward_model": "4"}, "invalid_structure", "'reward_model' must be an object"),
    (
        "verl_legacy",
        {"prompt": {"q": 1}, "reward_model": {}},
        "invalid_structure",
        "'prompt' must be a string",
    ),
    (
        "nova_sft",
        {"messages": [{"role": "user", "content": [{"text": 1}]}]},
        "invalid_structure",
        "'messages[0].content[0].text' must be a string",
    ),
    (
        "nova_sft",
        {"messages": [{"content": [{"text": "x"}]}]},
        "missing_field",
        "'messages[0].role' is missing",
    ),
    (
        "nova_sft",
        {"system": [{"txt": "x"}], "messages": NOVA_MSGS},
        "missing_field",
        "'system[0].text' is missing",
    ),
    (
        "nova_sft",
        {"system": "be nice", "messages": NOVA_MSGS},
        "invalid_structure",
        "'system' must be a list",
    ),
    (
        "nova_sft",
        {"system": ["be nice"], "messages": NOVA_MSGS},
        "invalid_structure",
        "'system[0]' must be an object",
    ),
    (
        "nova_sft",
        {"schemaVersion": "x", "messages": [{"role": "user", "content": "x"}]},
        "invalid_structure",
        "'messages[0].content' must be a non-empty list",
    ),
    (
        "nova_dpo",
        {
            "messages": [
                NOVA_MSGS[0],
                {
                    "role": "assistant",
                    "candidates": [
                        {"content": [{"text": "a"}], "preferenceLabel": "best"},
                        {"content": [{"text": "b"}], "preferenceLabel": "non-preferred"},
                    ],
                },
            ]
        },
        "invalid_structure",
        "'messages[1].candidates[0].preferenceLabel' is 'best'",
    ),
    (
        "nova_dpo",
        {
            "messages": [
                NOVA_MSGS[0],
                {
                    "role": "assistant",
                    "candidates": [{"content": [{"text": "a"}], "preferenceLabel": "preferred"}],
                },
            ]
        },
        "invalid_structure",
        "needs a preferred and a non-preferred answer",
    ),
    (
        "nova_dpo",
        {
            "messages": [
                NOVA_MSGS[0],
                {
                    "role": "assistant",
                    "candidates": [
                        {"content": "a", "preferenceLabel": "preferred"},
                        {"preferenceLabel": "non-preferred"},
                    ],
                },
            ]
        },
        "invalid_structure",
        "'messages[1].candidates[0].content' must be a non-empty list",
    ),
    (
        "nova_dpo",
        {
            "messages": [
                NOVA_MSGS[0],
                {
                    "role": "assistant",
                    "candidates": [
                        {"content": [{"text": "a"}]},
                        {"content": [{"text": "b"}], "preferenceLabel": "non-preferred"},
                    ],
                },
            ]
        },
        "missing_field",
        "'messages[1].candidates[0].preferenceLabel' is missing",
    ),
    (
        "nova_dpo",
        {"messages": [NOVA_MSGS[0], {"role": "assistant", "candidates": {"a": 1}}]},
        "invalid_structure",
        "'messages[1].candidates' must be a list",
    ),
    (
        "nova_rlvr",
        {"messages": [{"role": "user", "content": [{"text": "x"}]}], "reference_answer": {}},
        "invalid_structure",
        "'messages[0].content' must be a string",
    ),
    (
        "nova_rlvr",
        {"messages": MSG, "reference_answer": "4"},
        "invalid_structure",
        "'reference_answer' must be an object",
    ),
    (
        "nova_rlvr",
        {"messages": [], "reference_answer": {}},
        "invalid_structure",
        "'messages' must be a non-empty",
    ),
    ("sagemaker_eval", {"query": "q", "response": ["r"]}, "invalid_structure", "'response' must be a string"),
    (
        "sagemaker_eval",
        {"query": "q", "response": "r", "metadata": "m"},
        "invalid_structure",
        "'metadata' must be an object",
    ),
]


@pytest.mark.parametrize(("name", "record", "error_type", "message"), INVALID)
def test_invalid_records_name_line_field_and_rule(
    name: str, record: dict, error_type: str, message: str
) -> None:
    report = check_sample(jsonl(VALID[name], record), complete=True)
    assert report.format == name
    assert report.confidence == "LOW"
    assert report.records == 2
    assert [e.line for e in report.errors] == [2] * len(report.errors)
    assert any(e.type == error_type and message in e.message for e in report.errors), report.errors
    assert not report.ok


def test_every_record_must_match_the_first() -> None:
    data = jsonl(
        VALID["open_weights_sft"], VALID["open_weights_dpo"], VALID["open_weights_sft"], VALID["verl"]
    )
    report = check_sample(data, complete=True)
    assert report.format == "open_weights_sft"
    assert kinds(report) == [(2, "schema_mismatch"), (4, "schema_mismatch")]
    assert (
        report.errors[0].message == "record looks like open_weights_dpo, earlier records are open_weights_sft"
    )
    assert report.confidence == "LOW"


def test_a_record_of_no_known_format_after_the_first_is_a_mismatch() -> None:
    report = check_sample(jsonl(VALID["nova_sft"], {"text": "x"}), complete=True)
    assert report.errors == [
        RecordError(2, "schema_mismatch", "record looks like no known format, earlier records are nova_sft")
    ]


def test_unknown_records_are_errors_not_a_valid_unknown_format() -> None:
    report = check_sample(b'{"text": "a"}\n{"text": "b"}', complete=True)
    assert report.format is None
    assert report.confidence == "NONE"
    assert kinds(report) == [(1, "invalid_structure"), (2, "invalid_structure")]
    assert "matches no known format (keys: text)" in report.errors[0].message


def test_first_classifiable_record_sets_the_format_after_bad_lines() -> None:
    data = b'not json\n{"title": "x"}\n' + jsonl(VALID["open_weights_dpo"])
    report = check_sample(data, complete=True)
    assert report.format == "open_weights_dpo"
    assert kinds(report) == [(1, "parse_error"), (2, "invalid_structure")]
    assert report.confidence == "NONE"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"prompt": "p", "completion": }', "invalid JSON: Expecting value (column 31)"),
        (b'{"prompt": NaN, "completion": "c"}', "invalid JSON: NaN is not valid JSON"),
        (b'{"prompt": "\xff", "completion": "c"}', "not valid UTF-8 at byte 12 of the line"),
        (b"[" * 100_000, "invalid JSON"),
    ],
)
def test_parse_errors_give_confidence_none(line: bytes, message: str) -> None:
    report = check_sample(jsonl(VALID["open_weights_sft"]) + line + b"\n", complete=True)
    assert report.format == "open_weights_sft"
    assert report.errors[0].line == 2 and report.errors[0].type == "parse_error"
    assert report.errors[0].message.startswith(message)
    assert report.confidence == "NONE"


@pytest.mark.parametrize("value", [[1, 2], "text", 3, None])
def test_non_object_lines_are_invalid_structure(value: object) -> None:
    report = check_sample(jsonl(VALID["verl"], value), complete=True)
    assert kinds(report) == [(2, "invalid_structure")]
    assert report.errors[0].message.startswith("expected a JSON object, got")


def test_truncated_last_line_at_sample_boundary_is_ignored() -> None:
    full = jsonl(*[VALID["open_weights_sft"]] * 5)
    cut = full[: len(full) - 10]
    report = check_sample(cut, complete=False)
    assert report == FormatReport("open_weights_sft", 4, [], "HIGH")


def test_truncated_last_line_of_a_complete_file_is_an_error() -> None:
    full = jsonl(*[VALID["open_weights_sft"]] * 5)
    report = check_sample(full[: len(full) - 10], complete=True)
    assert kinds(report) == [(5, "parse_error")]


def test_multibyte_character_cut_at_sample_boundary() -> None:
    record = {"prompt": "Grüße, 日本語 🙂", "completion": "ok"}
    full = jsonl(record, record, record)
    emoji = full.rindex("🙂".encode())
    cut = full[: emoji + 2]  # two of the emoji's four bytes
    with pytest.raises(UnicodeDecodeError):
        cut.decode("utf-8")
    report = check_sample(cut, complete=False)
    assert report == FormatReport("open_weights_sft", 2, [], "HIGH")
    assert check_sample(full, complete=True) == FormatReport("open_weights_sft", 3, [], "HIGH")


def test_boundary_exactly_after_a_newline_keeps_every_line() -> None:
    data = jsonl(VALID["gpt_oss_sft"], VALID["gpt_oss_sft"])
    assert check_sample(data, complete=False).records == 2


def test_file_without_trailing_newline() -> None:
    data = jsonl(VALID["nova_rlvr"], VALID["nova_rlvr"], end="")
    assert check_sample(data, complete=True) == FormatReport("nova_rlvr", 2, [], "HIGH")
    single = json.dumps(VALID["nova_rlvr"]).encode()
    assert check_sample(single, complete=True) == FormatReport("nova_rlvr", 1, [], "HIGH")
    bad_single = b'{"text": "no newline"}'
    assert check_sample(bad_single, complete=True).format is None


@pytest.mark.parametrize("data", [b"", b"\n\n", b"   \r\n"])
def test_empty_data_is_an_error(data: bytes) -> None:
    report = check_sample(data, complete=True)
    assert report == FormatReport(
        None, 0, [RecordError(0, "parse_error", "no records: the data is empty")], "NONE"
    )


def test_a_single_record_longer_than_the_sample() -> None:
    data = b'{"prompt": "' + b"x" * 100
    report = check_sample(data, complete=False)
    assert report.format is None and report.records == 0
    assert report.errors[0].type == "parse_error"
    assert "no complete line in the first 112 bytes" in report.errors[0].message


def test_blank_lines_crlf_and_bom_are_tolerated_and_lines_keep_their_numbers() -> None:
    line = json.dumps(VALID["open_weights_sft"]).encode()
    data = b"\xef\xbb\xbf" + line + b"\r\n\r\n" + line + b"\r\n" + b'{"prompt": 1, "completion": "c"}\r\n'
    report = check_sample(data, complete=True)
    assert report.format == "open_weights_sft"
    assert report.records == 3
    assert kinds(report) == [(4, "invalid_structure")]


def test_bool_is_not_a_string_or_number() -> None:
    report = check_sample(jsonl({"prompt": True, "completion": "c"}), complete=True)
    assert report.errors[0].message == "'prompt' must be a string, got a boolean"


def test_problems_beyond_the_cap_are_counted_not_listed() -> None:
    data = (
        jsonl(VALID["open_weights_sft"])
        + b"{broken\n"
        + b'{"prompt": 1, "completion": "c"}\n' * (MAX_ERRORS + 5)
    )
    report = check_sample(data, complete=True)
    assert len(report.errors) == MAX_ERRORS
    assert report.unlisted == 6 and report.error_count == MAX_ERRORS + 6
    assert report.errors[0] == RecordError(
        2, "parse_error", "invalid JSON: Expecting property name enclosed in double quotes (column 2)"
    )
    assert report.errors[-1].line == MAX_ERRORS + 1
    assert report.confidence == "NONE"


def test_a_parse_error_beyond_the_cap_still_sets_confidence_none() -> None:
    data = jsonl(VALID["open_weights_dpo"]) + b'{"prompt": 1, "chosen": "c", "rejected": "r"}\n' * MAX_ERRORS
    assert check_sample(data, complete=True).confidence == "LOW"
    report = check_sample(data + b"not json\n", complete=True)
    assert report.unlisted == 1 and report.confidence == "NONE"


def test_sample_bytes_is_one_mebibyte() -> None:
    assert SAMPLE_BYTES == 1024 * 1024


@pytest.mark.parametrize(
    ("technique", "nova", "expected"),
    [
        ("sft", False, ("open_weights_sft", "open_weights_sft_conv", "gpt_oss_sft")),
        ("SFT", True, ("nova_sft",)),
        ("dpo", False, ("open_weights_dpo", "gpt_oss_dpo")),
        ("dpo", True, ("nova_dpo",)),
        ("rlvr", False, ("verl", "verl_legacy")),
        ("rlvr", True, ("nova_rlvr",)),
        ("rlaif", False, ("verl", "verl_legacy")),
    ],
)
def test_formats_for(technique: str, nova: bool, expected: tuple[str, ...]) -> None:
    assert formats_for(technique, nova) == expected


def test_formats_for_rejects_unknown_technique() -> None:
    with pytest.raises(ValueError, match="technique 'cpt' is not one of sft, dpo, rlvr, rlaif"):
        formats_for("cpt", False)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("open_weights_sft", ("sft",)),
        ("gpt_oss_dpo", ("dpo",)),
        ("nova_dpo", ("dpo",)),
        ("verl", ("rlvr", "rlaif")),
        ("nova_rlvr", ("rlvr", "rlaif")),
        ("sagemaker_eval", ()),
        ("unknown", ()),
    ],
)
def test_techniques_for(name: str, expected: tuple[str, ...]) -> None:
    assert techniques_for(name) == expected


def test_every_training_format_maps_back_to_its_techniques() -> None:
    for technique in ("sft", "dpo", "rlvr", "rlaif"):
        for nova in (False, True):
            for name in formats_for(technique, nova):
                assert technique in techniques_for(name)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "prompt",
                    "completion",
                    "messages",
                    "role",
                    "content",
                    "chosen",
                    "rejected",
                    "reward_model",
                    "query",
                    "response",
                    "reference_answer",
                    "candidates",
                    "preferenceLabel",
                    "text",
                    "system",
                    "schemaVersion",
                    "extra_info",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=12,
)


def _assert_well_formed(report: FormatReport) -> None:
    assert report.format is None or report.format in FORMATS
    assert report.confidence in ("HIGH", "LOW", "NONE")
    assert all(
        e.type in ("parse_error", "missing_field", "invalid_structure", "schema_mismatch")
        for e in report.errors
    )
    assert (report.confidence == "HIGH") == (not report.errors and report.format is not None)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), complete=st.booleans())
def test_never_raises_on_arbitrary_bytes(data: bytes, complete: bool) -> None:
    _assert_well_formed(check_sample(data, complete=complete))


@settings(max_examples=300, deadline=None)
@given(records=st.lists(json_values, max_size=4), cut=st.integers(min_value=0, max_value=2000))
def test_never_raises_on_arbitrary_json_lines(records: list, cut: int) -> None:
    data = jsonl(*records) if records else b""
    _assert_well_formed(check_sample(data, complete=True))
    report = check_sample(data[:cut], complete=False)
    _assert_well_formed(report)
    assert report.records <= max(len(records), 0)
