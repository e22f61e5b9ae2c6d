"""The generated notebook's evaluation cells make the SDK send the requests ``plan --evaluation`` prints.

Each evaluation case's script runs unchanged against the real SDK with the offline AWS of
:class:`~tests.notebook.evaluation_fake.EvaluationFakeAws` (training completes, every evaluation pipeline
succeeds with fabricated results). The training steps of the pipelines the SDK's evaluators create, resolved as
in ``test_evaluation_conformance.py``, must equal ``plan --evaluation`` for the package the training registered
(plus ``--base-model``'s jobs of the gate's evaluation, or the jobs of the Approved reference package), member by
member apart from the documented differences (job names, ``Tags``, ``MlflowConfig``). The gate cell's printed
decision is checked too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.validate import validate_parameters

from cdk_sagemaker_finetuning.notebook import render_script
from cdk_sagemaker_finetuning.runtime.request import job_name
from cdk_sagemaker_finetuning.spec import FineTuningSpec
from cdk_sagemaker_finetuning.workflow_config import job_name_prefix
from tests.notebook.cases import CASES, EVALUATOR_ARN, REWARD_LAMBDA_ARN, outputs_for
from tests.notebook.fake_aws import ACCOUNT, REGION
from tests.notebook.test_conformance import fake_for, run_generated
from tests.notebook.test_evaluation_conformance import BY_DESIGN, SAGEMAKER, plan, sdk_jobs

DATASET = "s3://demo-data/eval/prompts.jsonl"
#: The golden cases with an evaluation block, and the custom scorers they do not cover.
SPECS: dict[str, dict[str, Any]] = {name: data for name, data in CASES.items() if "evaluation" in data}
SPECS["scorer-preset-gate"] = {
    **CASES["eval-judge"],
    "name": "tone-preset",
    "evaluation": {
        "dataset": DATASET,
        "custom_scorer": {"builtin": "prime_math"},
        "gate": {"metric": "custom_scorer/score", "min_delta": 0.1},
    },
}
SPECS["scorer-evaluator-arn"] = {
    **CASES["sft-meta"],
    "name": "support-scorer",
    "evaluation": {"dataset": DATASET, "custom_scorer": {"evaluator_arn": EVALUATOR_ARN}},
}
REFERENCE_EXECUTION = "nightly-7-ref"


def call_of(definition: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(kind, keyword arguments)`` of the evaluator call that created a pipeline, read from its steps."""
    steps = {s["Name"]: s["Arguments"] for s in definition["Steps"] if s["Type"] == "Training"}
    if any(name.endswith("Metrics") for name in steps):
        return "judge", {}
    arguments = steps.get("EvaluateCustomModel") or steps["EvaluateBaseModel"]
    if arguments["ServerlessJobConfig"]["EvaluationType"] == "CustomScorerEvaluation":
        return "scorer", {}
    return "benchmark", {"benchmark": arguments["HyperParameters"]["task"]}


def evaluated_package(definition: dict[str, Any]) -> str | None:
    steps = [s["Arguments"] for s in definition["Steps"] if s["Type"] == "Training"]
    return next(
        (a["ModelPackageConfig"]["SourceModelPackageArn"] for a in steps if "ModelPackageConfig" in a), None
    )


def gate_job_names(prefix: str, evaluation: str, execution: str, *, base: bool) -> set[str]:
    """Our names of the jobs of one evaluation (of the base model with ``base``)."""
    suffixes = {"judge": ["judge-inference", "judge"], "custom_scorer": ["scorer"]}.get(
        evaluation, [evaluation]
    )
    return {job_name(prefix, f"{execution}-eval-{'base-' if base else ''}{s}") for s in suffixes}


@pytest.mark.parametrize(
    ("case", "reference"),
    [(case, False) for case in sorted(SPECS)]
    + [("eval-benchmarks-gate", True), ("scorer-preset-gate", True)],
)
def test_notebook_evaluation_cells_send_the_planned_requests(
    case: str, reference: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    data = SPECS[case]
    spec = FineTuningSpec.from_dict(data, base_dir=tmp_path)
    outputs = outputs_for(spec)
    fake = fake_for(spec, outputs)
    fake.evaluators[EVALUATOR_ARN] = REWARD_LAMBDA_ARN
    approved = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{spec.model_package_group_name}/99"
    if reference:  # an earlier round's Approved package: the gate's reference
        fake.model_packages[approved] = spec.hub_content_name
        fake.approvals[approved] = "Approved"
    fake.install(monkeypatch)

    namespace = run_generated(render_script(spec, outputs), fake, monkeypatch, tmp_path)
    printed = capsys.readouterr().out

    package, prefix = namespace["MODEL_PACKAGE_ARN"], job_name_prefix(spec)
    sdk: dict[str, dict[str, Any]] = {}
    for definition in fake.definitions():
        kind, kwargs = call_of(definition)
        execution = REFERENCE_EXECUTION if evaluated_package(definition) == approved else "nightly-7"
        sdk.update(sdk_jobs(definition, kind, kwargs, prefix=prefix, execution=execution))

    gate = spec.evaluation.gate
    ours = {
        job["TrainingJobName"]: job
        for job in plan(tmp_path, data, fake, capsys, base_model=True, package=package)
    }
    evaluation = gate.metric.split("/", 1)[0] if gate else None
    base_jobs = {name for name in ours if "-eval-base-" in name}
    wanted_base = (
        gate_job_names(prefix, evaluation, "nightly-7", base=True) if gate and not reference else set()
    )
    assert wanted_base <= base_jobs
    ours = {name: job for name, job in ours.items() if name not in base_jobs or name in wanted_base}
    if reference:
        planned = plan(
            tmp_path, data, fake, capsys, base_model=False, package=approved, execution=REFERENCE_EXECUTION
        )
        wanted = gate_job_names(prefix, evaluation, REFERENCE_EXECUTION, base=False)
        ours.update({job["TrainingJobName"]: job for job in planned if job["TrainingJobName"] in wanted})
        assert {job["ModelPackageConfig"]["SourceModelPackageArn"] for job in planned} == {approved}

    evaluations = spec.evaluation
    count = len(evaluations.benchmarks) + 2 * bool(evaluations.judge) + bool(evaluations.custom_scorer)
    assert len(ours) == count + len(wanted_base) + (len(wanted) if reference else 0)
    assert sorted(sdk) == sorted(ours)
    for name, mine in ours.items():
        theirs = sdk[name]
        validate_parameters(mine, SAGEMAKER.operation_model("CreateTrainingJob").input_shape)
        assert set(theirs) == set(mine) - set(BY_DESIGN), name
        for member in theirs:
            assert mine[member] == theirs[member], (name, member)

    assert printed.count("Results of ") == len(fake.definitions())
    if gate is None:
        assert "gate would set" not in printed
    else:  # the fake's base model scores half the new package; an Approved reference the same (delta 0)
        decision = gate.on_fail if reference and gate.min_delta > 0 else "Approved"
        assert f"the workflow's gate would set {decision} on {package}." in printed
    assert fake.approvals.get(package) is None  # the gate cell only prints its decision
