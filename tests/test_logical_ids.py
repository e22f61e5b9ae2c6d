"""Stateful resources keep their logical IDs: a renamed construct id would replace a retained bucket, a model
package group, an evaluator, a queue or a state machine on the next deploy.

The snapshot lists, per example stack, the logical ID and type of every stateful resource. A deliberate change
regenerates it: ``UPDATE_LOGICAL_ID_SNAPSHOT=1 python -m pytest tests/test_logical_ids.py``; review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "snapshots" / "stateful_logical_ids.json"
STATEFUL = {
    "AWS::S3::Bucket",
    "AWS::SageMaker::ModelPackageGroup",
    "Custom::SageMakerHubEvaluator",
    "AWS::StepFunctions::StateMachine",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
}


def stateful_resources(template: dict) -> list[str]:
    """``<logical id> <type>`` of each stateful resource, sorted."""
    return sorted(
        f"{logical} {resource['Type']}"
        for logical, resource in template.get("Resources", {}).items()
        if resource["Type"] in STATEFUL
    )


def test_stateful_logical_ids_match_the_snapshot(example_templates):
    current = {name: stateful_resources(template) for name, template in sorted(example_templates.items())}
    if os.environ.get("UPDATE_LOGICAL_ID_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(current, indent=1) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    assert current.keys() == expected.keys()
    for name in expected:
        removed = sorted(set(expected[name]) - set(current[name]))
        added = sorted(set(current[name]) - set(expected[name]))
        assert (removed, added) == ([], []), (
            f"{name}: stateful resources would be replaced on deploy (removed {removed}, added {added}); "
            "if deliberate, regenerate the snapshot (see this module's docstring)"
        )


def test_the_snapshot_guards_every_retained_resource(example_templates):
    """Every retained resource of the examples is of a type the snapshot watches."""
    for name, template in example_templates.items():
        for logical, resource in template["Resources"].items():
            if resource.get("DeletionPolicy") == "Retain":
                assert resource["Type"] in STATEFUL, (name, logical, resource["Type"])
