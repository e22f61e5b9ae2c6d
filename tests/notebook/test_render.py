"""Rendered notebooks and scripts: valid nbformat 4.4, compilable cells, ruff-clean scripts, generator rules."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nbformat
import pytest

from cdk_sagemaker_finetuning.notebook import render_notebook, render_script, stack_outputs
from cdk_sagemaker_finetuning.spec import FineTuningSpec, load_spec
from tests.notebook.cases import CASES, TRAIN_DATASET_ARN, load_case, outputs_for

REPO = Path(__file__).resolve().parents[2]
VARIANTS = [(case, with_outputs) for case in sorted(CASES) for with_outputs in (True, False)]
EXAMPLE_SPECS = [
    REPO / path
    for path in json.loads((REPO / "cdk.json").read_text())["context"]["cdk-sagemaker-finetuning:specs"]
]


def render(case: str, tmp_path: Path, with_outputs: bool = True, **kwargs: Any) -> tuple[Any, str]:
    spec = load_case(case, tmp_path)
    outputs = outputs_for(spec) if with_outputs else None
    return render_notebook(spec, outputs, **kwargs), render_script(spec, outputs, **kwargs)


def code_cells(notebook: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def without_magics(source: str) -> str:
    """IPython magics (``%pip``) are not Python; replace them the way IPython would run them: separately."""
    return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


@pytest.mark.parametrize("path", EXAMPLE_SPECS, ids=lambda path: path.stem)
def test_example_spec_notebooks_render_and_compile(path: Path) -> None:
    notebook = render_notebook(load_spec(path))
    nbformat.validate(notebook)
    for index, source in enumerate(code_cells(notebook)):
        compile(without_magics(source), f"{path.stem}-cell-{index}", "exec")


@pytest.mark.parametrize(("case", "with_outputs"), VARIANTS)
def test_notebook_is_valid_nbformat_4_4_and_every_cell_compiles(
    case: str, with_outputs: bool, tmp_path: Path
) -> None:
    notebook, _ = render(case, tmp_path, with_outputs)

    nbformat.validate(notebook)
    written = json.loads(nbformat.writes(notebook))
    assert (written["nbformat"], written["nbformat_minor"]) == (4, 4)
    for cell in written["cells"]:
        assert "id" not in cell
        assert all(line.endswith("\n") for line in cell["source"][:-1])
        assert not cell["source"][-1].endswith("\n")
        if cell["cell_type"] == "code":
            assert (cell["execution_count"], cell["outputs"], cell["metadata"]) == (None, [], {})
        else:
            assert "outputs" not in cell and "execution_count" not in cell
    for index, source in enumerate(code_cells(notebook)):
        compile(without_magics(source), f"{case}-cell-{index}", "exec")


def test_rendered_scripts_are_ruff_clean(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for case, with_outputs in VARIANTS:
        for validate_role in (False, True):
            _, script = render(case, tmp_path, with_outputs, validate_role=validate_role)
            name = f"{case}-{'outputs' if with_outputs else 'placeholders'}-{validate_role}.py".replace(
                "-", "_"
            )
            (scripts / name).write_text(script)
    for path in EXAMPLE_SPECS:  # what `make synth` renders
        (scripts / f"example_{path.stem.replace('-', '_')}.py").write_text(render_script(load_spec(path)))
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run(
        [str(ruff), "check", "--no-cache", "--config", str(REPO / "pyproject.toml"), str(scripts)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_script_has_a_docstring_cell_markers_and_no_notebook_only_code(case: str, tmp_path: Path) -> None:
    notebook, script = render(case, tmp_path)

    module = ast.parse(script)
    assert ast.get_docstring(module).startswith("# Fine-tune")
    assert script.count("\n# %% ") + script.count("\n# %% [markdown]") >= 10
    assert "%pip" not in script and "NOTEBOOK_ONLY" not in script
    assert "Training metrics" not in script and "show_metrics" not in script and "MlflowClient" not in script
    assert "trainer.train(wait=True)" in script
    notebook_code = "\n".join(code_cells(notebook))
    assert notebook_code.startswith('%pip install --quiet "sagemaker>=3.27,<4"')
    assert "NOTEBOOK_ONLY" not in notebook_code
    assert ("show_metrics" in notebook_code) == CASES[case]["name"].startswith("nova")


@pytest.mark.parametrize("case", sorted(CASES))
def test_eula_is_accepted_only_for_gated_meta_models_and_never_in_the_next_round(
    case: str, tmp_path: Path
) -> None:
    _, script = render(case, tmp_path)
    gated = CASES[case]["base_model"].startswith("meta-")

    assert script.count("    accept_eula=True,") == (1 if gated else 0)
    assert "accept_eula=False" not in script


@pytest.mark.parametrize("case", ["sft-nova", "rlvr-nova"])
def test_nova_code_has_no_max_epochs_or_warmup_ratio(case: str, tmp_path: Path) -> None:
    notebook, script = render(case, tmp_path)
    text = script + json.dumps(notebook)
    assert "max_epochs" not in text.replace("no `max_epochs`", "")
    assert "lr_warmup_steps_ratio" not in text.replace("or `lr_warmup_steps_ratio`", "")
    assert "AWS Service Terms" in notebook.cells[0].source


def test_license_name_and_link_are_shown(tmp_path: Path) -> None:
    notebook, _ = render("sft-meta", tmp_path)
    header = notebook.cells[0].source
    assert "Llama 3.2 Community" in header
    assert "<https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct/blob/main/LICENSE.txt>" in header

    unknown = FineTuningSpec.from_dict(
        {**CASES["dpo-qwen-full"], "base_model": "huggingface-llm-new-model-7b"}
    )
    assert "not in the model catalog" in render_notebook(unknown).cells[0].source


def test_training_type_is_an_enum_and_the_role_is_always_passed(tmp_path: Path) -> None:
    _, lora = render("sft-meta", tmp_path)
    _, full = render("dpo-qwen-full", tmp_path)

    assert lora.count("training_type=TrainingType.LORA") == 2
    assert full.count("training_type=TrainingType.FULL") == 2
    assert '"FULL"' not in full and '"LORA"' not in lora
    for script in (lora, full):
        assert script.count("role=ROLE_ARN,") == script.count("Trainer(") == 2


def test_reward_validation_is_skipped_only_for_a_dataset_arn(tmp_path: Path) -> None:
    _, arn_data = render("rlvr-dataset-arn", tmp_path)
    _, s3_data = render("rlvr-deepseek", tmp_path)

    assert f'TRAIN_DATA = "{TRAIN_DATASET_ARN}"' in arn_data.replace("(\n    ", "").replace("\n)", "")
    assert "    skip_reward_validation=True," in arn_data
    assert "    skip_reward_validation=False," in s3_data
    for script in (arn_data, s3_data):
        assert 'skip_reward_validation=NEXT_ROUND_TRAIN_DATA.startswith("arn:"),' in script


def test_preset_reward_needs_no_evaluator(tmp_path: Path) -> None:
    _, script = render("rlvr-preset", tmp_path)
    assert "custom_reward_function" not in script and "skip_reward_validation" not in script
    assert 'trainer.hyperparameters.preset_reward_function = "prime_code"' in script


def test_role_validation_is_off_by_default_and_kept_on_request(tmp_path: Path) -> None:
    _, default = render("sft-meta", tmp_path)
    _, validating = render("sft-meta", tmp_path, validate_role=True)

    assert 'os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"' in default
    assert "SAGEMAKER_VALIDATE_ROLE" not in validating.replace("(SAGEMAKER_VALIDATE_ROLE=false)", "")
    assert "import os\n" not in validating


def test_a_private_hub_is_selected_through_the_sdk_environment(tmp_path: Path) -> None:
    spec = FineTuningSpec.from_dict({**CASES["rlvr-preset"], "hub": "team-hub"})
    assert 'os.environ["SAGEMAKER_HUB_NAME"] = "team-hub"' in render_script(spec, validate_role=True)


def test_without_outputs_stack_values_are_marked_placeholders(tmp_path: Path) -> None:
    _, with_outputs = render("rlvr-deepseek", tmp_path)
    _, without = render("rlvr-deepseek", tmp_path, with_outputs=False)

    assert "<fill in" not in with_outputs
    assert 'ROLE_ARN = "<fill in: stack output ExecutionRoleArn>"' in without
    assert 'REWARD_EVALUATOR_ARN = "<fill in: stack output EvaluatorArn>"' in without
    assert 'TRAIN_DATA = "s3://demo-data/rlvr/train.jsonl"' in without  # from the spec
    # not the SDK's default bucket, which the stack's execution role cannot write
    assert 'S3_OUTPUT_PATH = "<fill in: stack output OutputUri>"' in without
    assert '    "S3_OUTPUT_PATH": S3_OUTPUT_PATH,' in without
    assert "MODEL_PACKAGE_GROUP = MODEL_PACKAGE_GROUP_NAME" in without
    assert '    "REWARD_EVALUATOR_ARN": REWARD_EVALUATOR_ARN,' in without


def test_custom_judge_prompt_is_registered_by_arn_without_outputs(tmp_path: Path) -> None:
    _, with_outputs = render("rlaif-custom", tmp_path)
    _, without = render("rlaif-custom", tmp_path, with_outputs=False)

    assert "Evaluator.create" not in with_outputs
    assert "JUDGE_PROMPT = (\n" in with_outputs or 'JUDGE_PROMPT = "arn:' in with_outputs
    assert 'type="RewardPrompt"' in without and "JUDGE_PROMPT = judge_prompt.arn" in without
    assert 'JUDGE_PROMPT_FILE = "prompts/judge.jinja"' in without
    assert "from sagemaker.ai_registry.evaluator import Evaluator" in without


class _Point(SimpleNamespace):
    pass


@pytest.mark.parametrize("points", [[], [_Point(step=1, value=0.9), _Point(step=2, value=0.5)]])
def test_metric_plot_cell_guards_empty_histories(
    points: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    notebook, _ = render("sft-meta", tmp_path)
    [cell] = [c for c in code_cells(notebook) if "PLOT_METRICS" in c]
    requested = []

    class Client:
        def get_metric_history(self, run_id: str, name: str) -> list:
            requested.append((run_id, name))
            return points

    monkeypatch.setattr("mlflow.set_tracking_uri", lambda uri: None)
    monkeypatch.setattr("mlflow.tracking.MlflowClient", Client)
    monkeypatch.setattr(plt, "show", lambda: None)
    job = SimpleNamespace(
        mlflow_details=SimpleNamespace(mlflow_run_id="run-1"),
        mlflow_config=SimpleNamespace(mlflow_resource_arn="arn:aws:sagemaker:us-east-1:1:mlflow-app/app-1"),
    )
    plt.close("all")

    exec(compile(cell, "metrics-cell", "exec"), {"training_job": job})  # noqa: S102 - the generated cell

    assert requested == [("run-1", "total_loss"), ("run-1", "val_eval_total_loss")]
    if points:
        assert len(plt.gcf().axes) == 2
    else:
        assert "No values recorded yet" in capsys.readouterr().out
        assert plt.get_fignums() == []


def test_metric_plot_cell_handles_a_job_without_mlflow(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    notebook, _ = render("rlaif-builtin", tmp_path)
    [cell] = [c for c in code_cells(notebook) if "PLOT_METRICS" in c]
    exec(
        compile(cell, "metrics-cell", "exec"),
        {"training_job": SimpleNamespace(mlflow_details=None, mlflow_config=None)},
    )  # noqa: S102
    assert "no MLflow run" in capsys.readouterr().out


def test_nova_metric_cell_reports_missing_metrics(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    notebook, _ = render("sft-nova", tmp_path)
    [cell] = [c for c in code_cells(notebook) if "show_metrics" in c]

    def show_metrics() -> None:
        raise ValueError("No training metrics found in CloudWatch logs")

    exec(compile(cell, "metrics-cell", "exec"), {"trainer": SimpleNamespace(show_metrics=show_metrics)})  # noqa: S102
    assert "No metrics to plot yet: No training metrics found" in capsys.readouterr().out


# -- stack outputs --------------------------------------------------------------------------------------------


def test_outputs_accept_the_whole_outputs_file_or_one_stack(tmp_path: Path) -> None:
    spec = load_case("sft-meta", tmp_path)
    whole = outputs_for(spec)
    one = whole["FineTuning-support-sft"]

    assert stack_outputs(whole, spec) == stack_outputs(one, spec) == {k: v for k, v in one.items()}
    other = {"FineTuning-other": {**one, "ModelPackageGroupName": "other"}}
    assert stack_outputs({**other, **whole}, spec) == one
    renamed = {"MyStack": one, **other}
    assert stack_outputs(renamed, spec) == one  # matched by model package group name


def test_outputs_that_match_no_stack_or_are_malformed_are_rejected(tmp_path: Path) -> None:
    spec = load_case("sft-meta", tmp_path)
    one = outputs_for(spec)["FineTuning-support-sft"]
    with pytest.raises(ValueError, match="cannot tell which stack's outputs belong to spec 'support-sft'"):
        stack_outputs(
            {"A": {**one, "ModelPackageGroupName": "a"}, "B": {**one, "ModelPackageGroupName": "b"}}, spec
        )
    with pytest.raises(ValueError, match="found \\['Unrelated'\\]"):
        stack_outputs({"Unrelated": {**one, "ModelPackageGroupName": "other"}}, spec)
    with pytest.raises(ValueError, match="stack output TrainUri in the outputs must be a non-empty string"):
        stack_outputs({**one, "TrainUri": 3}, spec)
    with pytest.raises(ValueError, match="must be a JSON object"):
        stack_outputs(["ExecutionRoleArn"], spec)  # type: ignore[arg-type]


def test_long_values_are_wrapped_within_the_line_length(tmp_path: Path) -> None:
    data = {**CASES["rlvr-dataset-arn"], "name": "a-rather-long-project-name-for-wrapping"}
    spec = FineTuningSpec.from_dict(data, base_dir=tmp_path)
    outputs = outputs_for(spec)
    script = render_script(spec, outputs)
    assert max(len(line) for line in script.splitlines() if " " in line.strip()) <= 110
    assert "REWARD_EVALUATOR_ARN = (\n" in script
    namespace: dict[str, Any] = {}
    config = script[script.index("# SageMaker Hub model id") : script.index("# %% [markdown] Environment")]
    exec(compile(config, "config", "exec"), namespace)  # noqa: S102 - the generated configuration
    assert namespace["REWARD_EVALUATOR_ARN"] == data["reward"]["evaluator_arn"]


def test_a_pinned_base_model_version_is_explained(tmp_path: Path) -> None:
    pinned = FineTuningSpec.from_dict({**CASES["sft-meta"], "base_model_version": "1.2.3"})
    markdown = " ".join(cell.source for cell in render_notebook(pinned).cells if cell.cell_type == "markdown")
    assert "the spec pins version 1.2.3, which only the training workflow uses" in " ".join(markdown.split())
    _, floating = render("sft-meta", tmp_path)
    assert "pins version" not in floating


def _accepted_keywords(callee: str) -> set[str]:
    """Keyword arguments the SDK accepts for a callee of the generated code (trainers forward **kwargs)."""
    import inspect

    from sagemaker.ai_registry.evaluator import Evaluator
    from sagemaker.core.resources import ModelPackageGroup
    from sagemaker.core.training.configs import StoppingCondition
    from sagemaker.train import DPOTrainer, RLAIFTrainer, RLVRTrainer, SFTTrainer
    from sagemaker.train.base_trainer import BaseTrainer

    if callee == "StoppingCondition":
        return set(StoppingCondition.model_fields)
    targets = {
        "SFTTrainer": [SFTTrainer.__init__, BaseTrainer.__init__],
        "DPOTrainer": [DPOTrainer.__init__, BaseTrainer.__init__],
        "RLVRTrainer": [RLVRTrainer.__init__, BaseTrainer.__init__],
        "RLAIFTrainer": [RLAIFTrainer.__init__, BaseTrainer.__init__],
        "ModelPackageGroup.create": [ModelPackageGroup.create],
        "ModelPackageGroup.get": [ModelPackageGroup.get],
        "Evaluator.create": [Evaluator.create],
    }[callee]
    return {name for target in targets for name in inspect.signature(target).parameters} - {"self", "kwargs"}


@pytest.mark.parametrize(("case", "with_outputs"), VARIANTS)
def test_generated_calls_use_only_keywords_the_sdk_accepts(
    case: str, with_outputs: bool, tmp_path: Path
) -> None:
    _, script = render(case, tmp_path, with_outputs)
    checked = set()
    for node in ast.walk(ast.parse(script)):
        if not isinstance(node, ast.Call):
            continue
        callee = ast.unparse(node.func)
        if (
            callee.endswith("Trainer")
            or callee in ("StoppingCondition",)
            or callee.startswith(("ModelPackageGroup.", "Evaluator."))
        ):
            used = {keyword.arg for keyword in node.keywords}
            assert used <= _accepted_keywords(callee), (callee, used - _accepted_keywords(callee))
            checked.add(callee)
    assert {"StoppingCondition", "ModelPackageGroup.get"} <= checked
    assert sum(name.endswith("Trainer") for name in checked) == 1


@pytest.mark.parametrize("case", sorted(CASES))
def test_script_runs_the_notebook_code_minus_notebook_only_cells(case: str, tmp_path: Path) -> None:
    notebook, script = render(case, tmp_path)
    script_cells = [
        part.split("\n", 1)[1].strip("\n")
        for part in script.split("\n# %% ")[1:]
        if not part.startswith("[markdown]")
    ]
    notebook_cells = [
        source
        for source in code_cells(notebook)
        if not source.startswith("%pip") and "PLOT_METRICS" not in source
    ]
    notebook_cells = [source for source in notebook_cells if "show_metrics" not in source]
    assert script_cells == notebook_cells


def test_the_notebook_reads_every_output_the_stack_exports(tmp_path: Path) -> None:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from cdk_sagemaker_finetuning.notebook import OUTPUT_KEYS
    from cdk_sagemaker_finetuning.stack import FineTuningStack

    data = {
        **CASES["rlvr-deepseek"],
        "data": {"create_bucket": True, "train": "train.jsonl", "validation": "validation.jsonl"},
    }
    stack = FineTuningStack(cdk.App(), "Project", spec=FineTuningSpec.from_dict(data, base_dir=tmp_path))
    assert set(Template.from_stack(stack).to_json()["Outputs"]) == set(OUTPUT_KEYS)


def test_approval_status_is_set_only_when_the_spec_asks(tmp_path: Path) -> None:
    _, approving = render("rlvr-deepseek", tmp_path)
    _, default = render("rlvr-dataset-arn", tmp_path)

    assert approving.count('ModelApprovalStatus="Approved"') == 2  # both rounds
    assert "update_model_package" not in default


def test_retraining_from_the_latest_package_is_explained(tmp_path: Path) -> None:
    retraining = {"continue_from_latest": True, "schedule": "rate(7 days)"}
    spec = FineTuningSpec.from_dict({**CASES["sft-meta"], "retraining": retraining})
    script = " ".join(render_script(spec).replace("#", " ").split())
    assert "continues from the newest approved package of the group" in script
    _, plain = render("sft-meta", tmp_path)
    assert "newest" not in plain
