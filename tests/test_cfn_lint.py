"""The shared cfn-lint helper reports E-rule errors per template, even with its rule collection reused."""

from __future__ import annotations

import json

from tests.cfn_lint import lint_errors


def _template(properties: dict) -> dict:
    return {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": properties}}}


def test_a_seeded_error_is_reported_against_its_template_only(tmp_path):
    clean, broken = tmp_path / "clean.template.json", tmp_path / "broken.template.json"
    clean.write_text(json.dumps(_template({"VisibilityTimeout": 60})))
    broken.write_text(json.dumps(_template({"VisibilityTimeout": 60, "NoSuchProperty": "x"})))
    found = lint_errors([clean, broken, clean], regions=["us-east-1", "us-west-2"])
    assert list(found) == ["broken.template.json"]
    [error] = found["broken.template.json"]
    assert "E3002" in error and "NoSuchProperty" in error
    assert lint_errors([clean]) == {}


def test_an_unreadable_template_is_an_error(tmp_path):
    (tmp_path / "cut.template.json").write_text('{"Resources": {')
    assert "E0000" in lint_errors([tmp_path / "cut.template.json"])["cut.template.json"][0]
