"""The integration test app, checked offline so it can never rot (part of ``make test``).

The synthesized app is reduced to what the real-account run depends on: each stack's resources (logical id
and type), the integ manifest's test case, and the assertion calls in order (service, API, parameter names,
expected result). It must equal ``integ_minimal_sft.snapshot.json``; after a deliberate change, regenerate
with ``UPDATE_INTEG_SNAPSHOT=1 pytest tests/integ``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import aws_cdk as cdk
import pytest

from cdk_sagemaker_finetuning.runtime import dataset_format
from tests.integ import assertion_results
from tests.integ.integ_minimal_sft import DATA, build

SNAPSHOT = Path(__file__).resolve().parent / "integ_minimal_sft.snapshot.json"
SDK_CALL = "Custom::DeployAssert@SdkCall"


@pytest.fixture(scope="module")
def assembly(tmp_path_factory):
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("integ")))
    build(app)
    return app.synth()


def summarize(assembly) -> dict:
    integ = json.loads((Path(assembly.directory) / "integ.json").read_text())
    summary: dict = {"testCases": integ["testCases"], "stacks": {}}
    for stack in assembly.stacks:
        resources = stack.template["Resources"]
        calls = [
            {
                "id": logical,
                "call": f"{r['Properties']['service']}.{r['Properties']['api']}",
                "parameters": sorted(r["Properties"].get("parameters", {})),
                "expected": r["Properties"].get("expected"),
                "after": sorted(
                    d for d in r.get("DependsOn", []) if resources[d]["Type"].startswith(SDK_CALL)
                ),
            }
            for logical, r in resources.items()
            if r["Type"].startswith(SDK_CALL)
        ]
        summary["stacks"][stack.stack_name] = {
            "resources": sorted(f"{logical} {r['Type']}" for logical, r in resources.items()),
            "assertions": calls,
        }
    return summary


def test_synthesized_integ_app_matches_its_snapshot(assembly):
    summary = summarize(assembly)
    if os.environ.get("UPDATE_INTEG_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    assert summary == json.loads(SNAPSHOT.read_text()), (
        "the integ app changed: check it still tests what README says, then UPDATE_INTEG_SNAPSHOT=1"
    )


def test_assertions_start_watch_and_stop_the_workflow(assembly):
    [asserts] = [s for s in summarize(assembly)["stacks"].values() if s["assertions"]]
    calls = [(a["call"], a["expected"]) for a in asserts["assertions"]]
    assert calls == [
        ("StepFunctions.startExecution", None),
        ("SageMaker.describeTrainingJob", '{"$ObjectLike":{"TrainingJobStatus":"InProgress"}}'),
        (
            "StepFunctions.getExecutionHistory",
            '{"$ObjectLike":{"events":{"$ArrayWith":[{"$ObjectLike":{"stateExitedEventDetails":'
            '{"$ObjectLike":{"name":"Preflight"}}}}]}}}',
        ),
        ("StepFunctions.describeExecution", '{"$ObjectLike":{"status":"RUNNING"}}'),
        ("StepFunctions.stopExecution", None),
        (
            "SageMaker.describeTrainingJob",
            '{"$ObjectLike":{"TrainingJobStatus":{"$StringLike":"^(Stopping|Stopped)$"}}}',
        ),
    ]
    ids = [a["id"] for a in asserts["assertions"]]
    assert [a["after"] for a in asserts["assertions"]][1:] == [[i] for i in ids[:-1]]  # a chain, in order


def test_dataset_asset_is_valid_sft_data():
    report = dataset_format.check_sample((DATA / "train.jsonl").read_bytes(), complete=True)
    assert report.ok and report.format in dataset_format.formats_for("sft", False) and report.records == 64


def test_assertion_outputs_decide_the_exit_status(tmp_path, capsys):
    outputs = tmp_path / "outputs.json"
    ok = {"AssertionResultsA": json.dumps({"status": "success"}), "Other": "x"}
    outputs.write_text(json.dumps({"Assert": ok}))
    assert assertion_results.main([str(outputs)]) == 0
    outputs.write_text(
        json.dumps({"Assert": {**ok, "AssertionResultsB": '{"status":"fail","message":"Stopped"}'}})
    )
    assert assertion_results.main([str(outputs)]) == 1
    assert "AssertionResultsB: Stopped" in capsys.readouterr().err
    assert assertion_results.main([str(tmp_path / "missing.json")]) == 1
