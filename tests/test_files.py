"""read_yaml parses with libyaml when PyYAML has it, and keeps the Python parser's error messages."""

from __future__ import annotations

import pytest
import yaml

from cdk_sagemaker_finetuning import files
from cdk_sagemaker_finetuning.files import FileProblem, read_yaml


def test_libyaml_parses_when_pyyaml_has_it():
    assert files._FAST_LOADER is (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name: [unclosed", "expected ',' or ']', but got '<stream end>' at line 1 column 16"),
        ("a:\n\tb: 1\n", "found character '\\t' that cannot start any token at line 2 column 1"),
        ("a: *nope\n", "found undefined alias 'nope' at line 1 column 4"),
        ('a: "\\q"\n', "found unknown escape character 'q' at line 1 column 6"),
        ("a: \x07\n", "unacceptable character #x0007: special characters are not allowed"),
        ("%YAML 2.0\n---\na: 1\n", "found incompatible YAML document (version 1.* is required) at line 1 column 1"),
        ("a: 1\n---\nb: 2\n", "but found another document at line 2 column 1"),
    ],
)
def test_errors_name_the_character_alias_or_token_and_where(tmp_path, text, problem):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    with pytest.raises(FileProblem) as info:
        read_yaml(path, "spec")
    assert str(info.value) == f"spec {str(path)!r} is not valid YAML: {problem}"


@pytest.mark.parametrize(
    "text",
    ["a: " + "[" * 2_000 + "]" * 2_000, "".join(" " * i + "k:\n" for i in range(2_000))],
    ids=["flow", "block"],
)
def test_deep_nesting_is_too_deep_to_read(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    with pytest.raises(FileProblem, match="is nested too deeply to read$"):
        read_yaml(path, "spec")


def test_a_document_only_the_python_parser_accepts_still_loads(tmp_path):
    (tmp_path / "spec.yaml").write_text('name: "\\ud800"\n')  # libyaml rejects a lone surrogate escape
    assert read_yaml(tmp_path / "spec.yaml", "spec") == {"name": "\ud800"}
