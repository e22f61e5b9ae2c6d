"""Every state machine definition of every example template passes asl-validator (the npm package)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.iam_audit import Resolver

ASL_VALIDATOR = REPO / "node_modules" / ".bin" / "asl-validator"


def definitions(templates: dict[str, dict]) -> dict[str, str]:
    """``<stack>.<logical id>`` -> the definition with intrinsics resolved to placeholder ARNs."""
    found = {}
    for name, template in templates.items():
        resolve = Resolver(template)
        for logical, resource in template["Resources"].items():
            if resource["Type"] == "AWS::StepFunctions::StateMachine":
                found[f"{name}.{logical}"] = resolve(resource["Properties"]["DefinitionString"])
    return found


def validate(named: dict[str, str], folder: Path) -> subprocess.CompletedProcess:
    args = []
    for name, definition in named.items():
        path = folder / f"{name}.asl.json"
        path.write_text(definition)
        args += ["--json-path", str(path)]
    node = os.environ.get("JSII_NODE", "node")  # the Node conftest picked for jsii
    return subprocess.run([node, str(ASL_VALIDATOR), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def example_definitions(example_templates) -> dict[str, str]:
    assert ASL_VALIDATOR.exists(), "run `make test` (npm ci installs asl-validator from package.json)"
    return definitions(example_templates)


def test_every_example_state_machine_is_valid_asl(example_definitions, tmp_path):
    # the training workflows (8 example stacks + 3 in the platform) and the evaluator providers' waiters
    workflows = [d for d in example_definitions.values() if '"StartAt":"Preflight"' in d]
    assert len(workflows) == 11
    # one of them evaluates and gates each new model package (examples/sft-evaluation-gate.yaml)
    assert len([d for d in workflows if '"Evaluate":{"Type":"Parallel"' in d]) == 1
    for definition in example_definitions.values():
        json.loads(definition)  # resolved completely: no intrinsic left
        assert "Fn::" not in definition and '"Ref"' not in definition
    result = validate(example_definitions, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("is valid") == len(example_definitions)


def test_asl_validator_rejects_a_broken_definition(example_definitions, tmp_path):
    name, definition = next((k, v) for k, v in example_definitions.items() if '"StartAt":"Preflight"' in v)
    broken = json.loads(definition)
    broken["States"]["Preflight"]["Next"] = "NoSuchState"
    result = validate({name: json.dumps(broken)}, tmp_path)
    assert result.returncode != 0
    assert "NoSuchState" in result.stdout + result.stderr
