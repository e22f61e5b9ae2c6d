"""The built wheel carries the Lambda runtime code, the notebook templates and py.typed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

from tests.conftest import REPO


def test_wheel_contains_runtime_assets_and_templates(tmp_path):
    """Built from a copy of the project with bytecode caches in it, as after any run: no setuptools warning."""
    source = tmp_path / "src"
    shutil.copytree(REPO / "cdk_sagemaker_finetuning", source / "cdk_sagemaker_finetuning")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, source / name)
    for folder in ("runtime", "runtime/reward", "code_templates"):
        cache = source / "cdk_sagemaker_finetuning" / folder / "__pycache__"
        cache.mkdir(exist_ok=True)
        (cache / "stale.cpython-311.pyc").write_bytes(b"\0")
    wheels = tmp_path / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Warning" not in result.stderr and "!!" not in result.stderr, result.stderr  # no setuptools banner
    [wheel] = wheels.glob("cdk_sagemaker_finetuning-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "cdk_sagemaker_finetuning/py.typed" in names
    assert "cdk_sagemaker_finetuning/runtime/models.py" in names
    assert "cdk_sagemaker_finetuning/user_code/probe.py" in names  # run by user_code.check_reward_code
    assert any(n.startswith("cdk_sagemaker_finetuning/code_templates/") for n in names)
    runtime = REPO / "cdk_sagemaker_finetuning" / "runtime"
    assert {p.relative_to(REPO).as_posix() for p in runtime.rglob("*.py")} <= set(names)
    assert not any("__pycache__" in n for n in names)
    license_file = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
    assert zipfile.ZipFile(wheel).read(license_file) == (REPO / "LICENSE").read_bytes()
    assert (
        "Apache License" in (REPO / "LICENSE").read_text() and "Version 2.0" in (REPO / "LICENSE").read_text()
    )
    metadata = (
        zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    )
    assert "License-Expression: Apache-2.0" in metadata and "License-File: LICENSE" in metadata
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "cdk-finetune = cdk_sagemaker_finetuning.cli:main" in scripts
