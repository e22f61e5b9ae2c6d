"""``reward.requirements``: pure-Python packages pip-installed for the Lambda's platform (offline wheelhouse),
imported by the check and bundled into the reward Lambda without Docker."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import aws_cdk as cdk
import pytest
import yaml

from cdk_sagemaker_finetuning.cli import main
from cdk_sagemaker_finetuning.constructs.errors import ConstructValidationError
from cdk_sagemaker_finetuning.constructs.reward_function import RewardFunction
from cdk_sagemaker_finetuning.user_code import check_reward_code, install_requirements

MODULE = "import tinyreq\n\ndef reward(sample):\n    return tinyreq.VALUE / 100\n"


def build_wheel(directory: Path, name: str, files: dict[str, bytes]) -> None:
    """A minimal ``py3-none-any`` wheel (what a pure-Python package publishes)."""
    dist_info = f"{name}-1.0.dist-info"
    files = {
        **files,
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    records = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for path, data in files.items()
    ]
    with zipfile.ZipFile(directory / f"{name}-1.0-py3-none-any.whl", "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
        wheel.writestr(f"{dist_info}/RECORD", "\n".join(records + [f"{dist_info}/RECORD,,"]) + "\n")


@pytest.fixture
def wheelhouse(tmp_path_factory, monkeypatch) -> Path:
    """pip finds packages only in a local folder (no index): the tests stay offline."""
    directory = tmp_path_factory.mktemp("wheels")
    build_wheel(directory, "tinyreq", {"tinyreq/__init__.py": b"VALUE = 42\n"})
    build_wheel(directory, "tinybin", {"tinybin/__init__.py": b"", "tinybin/_speed.cpython-314-x86_64-linux-gnu.so":
                                       b"\x7fELF not really"})
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(directory))
    return directory


def requirements(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    return path


def test_installed_requirements_are_importable_by_the_check(tmp_path, wheelhouse):
    installed, problems = install_requirements(requirements(tmp_path, "tinyreq==1.0\n"))
    assert problems == [] and (installed / "tinyreq" / "__init__.py").is_file()
    assert install_requirements(requirements(tmp_path, "tinyreq==1.0\n")) == (installed, [])  # reused
    module = tmp_path / "mine.py"
    module.write_text(MODULE)
    [problem] = check_reward_code(module).problems
    assert problem.message.startswith("imports 'tinyreq', which the Lambda cannot import")
    assert "list pure-Python packages in reward.requirements" in problem.message
    check = check_reward_code(module, rows=[{"response": "x"}], requirements=installed)
    assert check.problems == () and check.rows[0]["entry"]["aggregate_reward_score"] == 0.42


def test_requirements_pip_cannot_install_or_that_are_compiled_are_rejected(tmp_path, wheelhouse):
    installed, [problem] = install_requirements(requirements(tmp_path, "no-such-package==1\n"))
    assert installed is None
    assert problem.render("requirements.txt") == (
        "requirements.txt: pip cannot install them for Python 3.14 on Lambda (manylinux2014_x86_64): "
        "No matching distribution found for no-such-package==1")
    installed, [problem] = install_requirements(requirements(tmp_path, "tinybin==1.0\n"))
    assert installed is None
    assert problem.message.startswith("tinybin/_speed.cpython-314-x86_64-linux-gnu.so is compiled code; "
                                      "requirements must be pure Python")
    assert install_requirements(tmp_path / "none.txt")[1][0].message.startswith("cannot be read")


def test_validate_imports_the_module_with_its_requirements(tmp_path, wheelhouse, capsys):
    (tmp_path / "mine.py").write_text(MODULE)
    (tmp_path / "rows.jsonl").write_text('{"response": "x"}\n')
    requirements(tmp_path, "tinyreq==1.0\n")
    spec = {"name": "demo", "technique": "rlvr", "base_model": "huggingface-reasoning-qwen3-4b",
            "data": {"train": "s3://demo-data/train.jsonl"},
            "reward": {"code": "mine.py", "requirements": "requirements.txt", "samples": "rows.jsonl"}}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    requirements(tmp_path, "tinyreq==1.0\nmissing-one==2\n")
    assert main(["validate", str(path)]) == 2
    [problem] = " ".join(capsys.readouterr().err.split()).split(" - ")[1:]  # wrapped to 80 columns
    assert problem == (
        "reward.requirements: requirements.txt: pip cannot install them for Python 3.14 on Lambda "
        "(manylinux2014_x86_64): No matching distribution found for missing-one==2"
    )
    spec["reward"] = {"builtin": "exact_match", "requirements": "requirements.txt"}
    path.write_text(yaml.safe_dump(spec))
    assert main(["validate", str(path)]) == 2
    assert "reward.requirements: only applies to reward.code" in capsys.readouterr().err


def test_reward_function_bundles_the_requirements_without_docker(tmp_path, wheelhouse):
    module = tmp_path / "mine.py"
    module.write_text(MODULE)
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    stack = cdk.Stack(app, "Stack")
    with pytest.raises(ConstructValidationError, match=r"Stack/Bare: code .*mine\.py:1: imports 'tinyreq'"):
        RewardFunction(stack, "Bare", code=module)
    RewardFunction(stack, "Reward", code=module, requirements=requirements(tmp_path, "tinyreq==1.0\n"))
    app.synth()
    [asset] = [p for p in (tmp_path / "cdk.out").glob("asset.*") if (p / "user_reward.py").exists()]
    names = sorted(str(p.relative_to(asset)) for p in asset.rglob("*.py"))
    assert names == ["lambda_function.py", "reward_runtime/__init__.py", "reward_runtime/builtins.py",
                     "reward_runtime/handler.py", "reward_runtime/sample.py", "tinyreq/__init__.py", "user_reward.py"]
    with pytest.raises(ConstructValidationError, match=r"Stack/Bin: requirements .*requirements\.txt: tinybin/"):
        RewardFunction(stack, "Bin", code=module, requirements=requirements(tmp_path, "tinybin==1.0\n"))
    with pytest.raises(ConstructValidationError, match="requirements only apply to code"):
        RewardFunction(stack, "Builtin", builtin="exact_match", requirements=tmp_path / "requirements.txt")


def test_reward_test_uses_the_requirements(tmp_path, wheelhouse, capsys):
    module = tmp_path / "mine.py"
    module.write_text(MODULE)
    data = tmp_path / "d.jsonl"
    data.write_text('{"id": "a", "response": "x"}\n')
    assert main(["reward", "test", str(module), str(data)]) == 2
    assert "imports 'tinyreq'" in capsys.readouterr().err
    listed = str(requirements(tmp_path, "tinyreq==1.0\n"))
    assert main(["reward", "test", str(module), str(data), "--requirements", listed]) == 0
    assert capsys.readouterr().out.startswith("mine.py: 1 samples, mean score 0.420")
    assert main(["reward", "test", "exact_match", str(data), "--requirements", listed]) == 2
    assert "--requirements only applies to a reward module" in capsys.readouterr().err
