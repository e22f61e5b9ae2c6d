"""The built wheel carries the Lambda runtime code, the notebook templates and py.typed."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from tests.conftest import REPO


def test_wheel_contains_runtime_assets_and_templates(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [wheel] = tmp_path.glob("cdk_sagemaker_finetuning-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "cdk_sagemaker_finetuning/py.typed" in names
    assert "cdk_sagemaker_finetuning/runtime/models.py" in names
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
