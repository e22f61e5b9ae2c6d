"""The workflow diagrams show every state and every way out of it, as the synthesized state machines have them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from cdk_sagemaker_finetuning import workflow_diagram
from tests.conftest import REPO
from tests.test_state_machine_definitions import definitions

DECLARED = re.compile(r'^state "(?P<name>[^"]+)" as (?P<id>\w+)$')
EDGE = re.compile(r"^(?P<source>\w+|\[\*\]) --> (?P<target>\w+|\[\*\])(?: : (?P<label>.+))?$")
OPEN = re.compile(r"^state (?P<id>\w+) \{$")


def drawn(text: str) -> tuple[set[tuple[str, str, str, str]], dict[str, str]]:
    """``(scope, source, target, label)`` of every edge by state name, and the labels of the Mermaid ids."""
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "stateDiagram-v2"
    names = {m["id"]: m["name"] for m in map(DECLARED.match, lines) if m}
    edges, scopes = set(), [""]
    for line in lines[1:]:
        if (opened := OPEN.match(line)) is not None:
            scopes.append(names.get(opened["id"], opened["id"]))
        elif line == "}":
            scopes.pop()
        elif (edge := EDGE.match(line)) is not None:
            source, target = (names.get(edge[k], edge[k]) for k in ("source", "target"))
            edges.add((scopes[-1], source, target, edge["label"] or ""))
        else:
            assert DECLARED.match(line) or line.startswith(("classDef ", "class ")) or line == "", line
    assert scopes == [""], "unbalanced composite states"
    return edges, names


def expected(machine: Mapping[str, Any], scope: str = "") -> Iterator[tuple[str, str, str]]:
    """``(scope, source, target)`` of every transition the ASL has, ``[*]`` at the start and the ends."""
    yield scope, "[*]", machine["StartAt"]
    for name, state in machine["States"].items():
        targets = [c["Next"] for c in state.get("Choices", [])]
        targets += [state[k] for k in ("Default", "Next") if k in state]
        targets += [c["Next"] for c in state.get("Catch", [])]
        if state.get("End") or state["Type"] in ("Succeed", "Fail"):
            targets.append("[*]")
        yield from ((scope, name, target) for target in targets)
        for branch in state.get("Branches", []):
            yield from expected(branch, name)


def machines() -> dict[str, dict[str, Any]]:
    draw = workflow_diagram.definition
    return {
        "aws-sdk": draw(evaluation=False),
        "evaluation": draw(evaluation=True),
        "lambda": draw(evaluation=True, create_job_with="lambda"),
    }


@pytest.mark.parametrize("name", list(machines()))
def test_every_state_and_transition_is_drawn(name):
    machine = machines()[name]
    edges, _ = drawn(workflow_diagram.mermaid(machine))
    assert {edge[:3] for edge in edges} == set(expected(machine))


def test_edges_say_when_they_are_taken():
    machine = workflow_diagram.definition(evaluation=True)
    edges, names = drawn(workflow_diagram.mermaid(machine))
    labels = {(source, target): label for _, source, target, label in edges if label}
    assert labels[("Preflight", "Skipped")] == "catch PreflightError.JobAlreadyRunning"
    assert labels[("Watch", "StopTrainingJob")] == "catch States.ALL"
    assert labels[("Evaluate", "StopEvaluation")] == "catch States.ALL"
    assert labels[("Completed?", "TrainingJobFailed")] == "status = Failed"
    assert labels[("Completed?", "UnexpectedStatus")] == "otherwise"
    assert labels[("Finished?", "JobResult")] == "status is Completed, Failed or Stopped"
    assert labels[("HasModelPackage?", "SetApprovalStatus")] == "outputModelPackageArn is string"
    assert labels[("EvaluationDone?", "Gate")] == "done = true"
    assert names["Completed"] == "Completed?"  # Mermaid ids are words; the state keeps its name


def test_fail_states_are_marked():
    text = workflow_diagram.mermaid(workflow_diagram.definition(evaluation=True))
    [marked] = [line.split()[1] for line in text.splitlines() if line.strip().startswith("class ")]
    assert set(marked.split(",")) == {
        "WatchFailed",
        "TrainingJobFailed",
        "TrainingJobStopped",
        "UnexpectedStatus",
        "EvaluationFailed",
    }


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ({"Variable": "$.a.count", "NumericGreaterThanEquals": 3}, "count >= 3"),
        ({"Not": {"Variable": "$.a.x", "IsPresent": True}}, "not x is present"),
        ({"Variable": "$.x", "IsNull": False}, "x is not null"),
        (
            {"And": [{"Variable": "$.x", "BooleanEquals": False}, {"Variable": "$.y", "StringEquals": "b"}]},
            "x = false and y = b",
        ),
        (
            {"Or": [{"Variable": "$.x", "StringEquals": "a"}, {"Variable": "$.y", "StringEquals": "b"}]},
            "x = a or y = b",
        ),
    ],
)
def test_choice_rules_in_words(rule, words):
    assert workflow_diagram._condition(rule) == words


def test_a_rule_it_cannot_draw_is_named():
    with pytest.raises(ValueError, match="StringMatches"):
        workflow_diagram._condition({"Variable": "$.x", "StringMatches": "a*"})


def test_the_drawn_definition_is_the_synthesized_one(example_templates):
    """Every example's workflow draws as one of the README's diagrams (the placeholders change no state)."""
    readme = {
        evaluation: workflow_diagram.mermaid(workflow_diagram.definition(evaluation=evaluation))
        for evaluation in (False, True)
    }
    workflows = [
        json.loads(d) for d in definitions(example_templates).values() if '"StartAt":"Preflight"' in d
    ]
    assert workflows
    for machine in workflows:
        assert workflow_diagram.mermaid(machine) == readme["Evaluate" in machine["States"]]


def test_write_readme_replaces_only_the_generated_part(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{workflow_diagram.BEGIN}\nstale\n{workflow_diagram.END}\nafter\n")
    assert workflow_diagram.main(["--write-readme", str(readme)]) == 0
    text = readme.read_text()
    assert text == f"before\n{workflow_diagram.readme_section()}\nafter\n"
    assert not workflow_diagram.write_readme(readme)  # already up to date


def test_write_readme_without_the_markers_says_so(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    assert workflow_diagram.main(["--write-readme", str(readme)]) == 2
    assert "the markers of the generated workflow diagrams" in capsys.readouterr().err
    assert readme.read_text() == "no markers\n"


def test_the_command_redraws_a_readme_quietly_and_imports_aws_cdk_only_to_draw(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"{workflow_diagram.BEGIN}\n{workflow_diagram.END}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSII_")}  # the command sets jsii's Node
    module = "cdk_sagemaker_finetuning.workflow_diagram"
    run = subprocess.run(
        [sys.executable, "-m", module, "--write-readme", str(readme)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == f"{readme}: workflow diagrams updated\n"
    assert readme.read_text() == workflow_diagram.readme_section() + "\n"
    imported = subprocess.run(
        [sys.executable, "-c", f"import sys, {module}; print('aws_cdk' in sys.modules)"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert imported.stdout.strip() == "False", imported.stderr
