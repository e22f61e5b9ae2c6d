"""``cdk-finetune notebook``: writes the notebook or script, fills stack outputs, rejects bad input with exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
import yaml

from cdk_sagemaker_finetuning import cli
from cdk_sagemaker_finetuning.spec import SpecError, load_spec
from tests.commands.conftest import Result
from tests.notebook.cases import CASES

SPEC = {**CASES["sft-meta"], "data": {"create_bucket": True, "train": "train/train.jsonl"}}
ROLE = "arn:aws:iam::123456789012:role/FineTuning-support-sft-TrainingRole"
OUTPUTS = {
    "FineTuning-support-sft": {
        "ExecutionRoleArn": ROLE,
        "ModelPackageGroupName": "support-sft",
        "ModelPackageGroupArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/support-sft",
        "TrainUri": "s3://support-sft-data-abc123/train/train.jsonl",
        "OutputUri": "s3://support-sft-output-abc123/output/",
    }
}


@pytest.fixture
def spec_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    return path


def test_writes_a_valid_notebook_filled_from_the_outputs_file(
    spec_file: Path, run: Callable[..., Result]
) -> None:
    (spec_file.parent / "cdk-outputs.json").write_text(json.dumps(OUTPUTS))

    result = run("notebook", str(spec_file), "--outputs", "cdk-outputs.json")

    assert result.code == 0, result.err
    assert "wrote notebook support-sft.ipynb" in result.flat_out
    notebook = nbformat.read(spec_file.parent / "support-sft.ipynb", as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert (notebook.nbformat, notebook.nbformat_minor) == (4, 4)
    code = "\n".join(cell.source for cell in notebook.cells)
    assert f'ROLE_ARN = "{ROLE}"' in code
    assert 'TRAIN_DATA = "s3://support-sft-data-abc123/train/train.jsonl"' in code
    assert "<fill in" not in code


def test_writes_a_script_with_placeholders_without_outputs(
    spec_file: Path, run: Callable[..., Result]
) -> None:
    result = run("notebook", str(spec_file), "--script", "-o", "scripts/01_sft_finetuning.py")

    assert result.code == 0, result.err
    script = (spec_file.parent / "scripts" / "01_sft_finetuning.py").read_text()
    compile(script, "script", "exec")
    assert 'ROLE_ARN = "<fill in: stack output ExecutionRoleArn>"' in script
    assert 'os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"' in script


def test_validate_role_flag_keeps_the_sdk_role_check(spec_file: Path, run: Callable[..., Result]) -> None:
    assert run("notebook", str(spec_file), "--script", "--validate-role").code == 0
    assert 'SAGEMAKER_VALIDATE_ROLE"] =' not in (spec_file.parent / "support-sft.py").read_text()


def test_stdout_output(spec_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["notebook", str(spec_file), "--script", "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith('"""# Fine-tune `meta-textgeneration-llama-3-2-1b-instruct`')
    assert not (spec_file.parent / "support-sft.py").exists()


def test_an_existing_file_is_kept_unless_forced(spec_file: Path, run: Callable[..., Result]) -> None:
    target = spec_file.parent / "support-sft.ipynb"
    target.write_text("my edits")

    refused = run("notebook", str(spec_file))
    assert refused.code == 2
    assert "support-sft.ipynb exists; use --force to overwrite it" in refused.flat_err
    assert target.read_text() == "my edits"

    assert run("notebook", str(spec_file), "--force").code == 0
    nbformat.validate(nbformat.reads(target.read_text(), as_version=nbformat.NO_CONVERT))


@pytest.mark.parametrize(
    "change",
    [
        {"base_model": "meta-textgeneration-llama-3-2-1b-instruct", "accept_eula": False},
        {"data": None},
        {"technique": "rlvr"},
    ],
    ids=["eula", "incomplete", "rlvr-without-reward"],
)
def test_bad_specs_fail_with_the_synth_messages(
    change: dict, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = {**SPEC, **change}
    spec_file.write_text(yaml.safe_dump({k: v for k, v in data.items() if v is not None}))
    with pytest.raises(SpecError) as synth_error:  # what app.py prints before exiting with 2
        load_spec(spec_file)

    code = cli.main(["notebook", str(spec_file)])

    assert code == 2
    assert capsys.readouterr().err.split() == str(synth_error.value).split()  # the same words, in 80 columns
    assert "invalid fine-tuning spec" in str(synth_error.value)
    assert not list(spec_file.parent.glob("*.ipynb"))


@pytest.mark.parametrize(
    ("prompt", "problem"),
    [
        ("Rate {{ prompt }}.\n", "rlaif.prompt: judge.jinja: never uses {{ response }}"),
        ("{{ response }}\n{% if ground_truth %}\n", "rlaif.prompt: judge.jinja:2: Jinja syntax error"),
    ],
)
def test_broken_judge_prompts_fail_like_synth(
    prompt: str, problem: str, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (spec_file.parent / "judge.jinja").write_text(prompt)
    rlaif = {"judge_model_id": "openai.gpt-oss-120b-1:0", "prompt": "judge.jinja"}
    spec_file.write_text(yaml.safe_dump({**CASES["rlaif-builtin"], "rlaif": rlaif}))

    code = cli.main(["notebook", str(spec_file)])

    assert code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "invalid fine-tuning spec (1 problem):"
    assert err.splitlines()[1].startswith(f"  - {problem}")
    assert not list(spec_file.parent.glob("*.ipynb"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        ),
        ("[1, 2]", "must hold a JSON object (mapping), not a list [1, 2]"),
        (json.dumps({"A": OUTPUTS["FineTuning-support-sft"], "B": {"ModelPackageGroupName": "other"}}), None),
        (json.dumps({"FineTuning-support-sft": {"TrainUri": ""}}), "stack output TrainUri"),
    ],
)
def test_bad_outputs_files_fail_with_exit_2(
    content: str, message: str | None, spec_file: Path, run: Callable[..., Result]
) -> None:
    outputs = spec_file.parent / "cdk-outputs.json"
    outputs.write_text(content)
    if message is None:  # two stacks, the spec's group in one: that one is used
        assert run("notebook", str(spec_file), "--outputs", str(outputs)).code == 0
        return
    result = run("notebook", str(spec_file), "--outputs", str(outputs))
    assert result.code == 2
    assert message in result.flat_err


def test_missing_outputs_file(spec_file: Path, run: Callable[..., Result]) -> None:
    result = run("notebook", str(spec_file), "--outputs", "missing.json")
    assert result.code == 2
    assert "cannot read stack outputs 'missing.json'" in result.flat_err
