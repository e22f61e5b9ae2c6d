"""Golden files: every technique template and the Meta, Nova and other families, reviewed as diffs.

Regenerate after an intended template change with ``UPDATE_GOLDEN=1 .venv/bin/python -m pytest
tests/notebook/test_golden.py`` and review ``git diff tests/golden/notebook``.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import nbformat
import pytest

from cdk_sagemaker_finetuning.notebook import render_notebook, render_script
from tests.notebook.cases import CASES, load_case, outputs_for

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "notebook"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def golden_files(case: str, base_dir: Path) -> dict[str, str]:
    """The files rendered for one case: notebook and script with stack outputs, script with placeholders."""
    spec = load_case(case, base_dir)
    outputs = outputs_for(spec)
    return {
        f"{case}.ipynb": nbformat.writes(render_notebook(spec, outputs)) + "\n",
        f"{case}.py": render_script(spec, outputs),
        f"{case}.no-outputs.py": render_script(spec),
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_code_matches_the_golden_files(case: str, tmp_path: Path) -> None:
    for name, text in golden_files(case, tmp_path).items():
        path = GOLDEN / name
        if UPDATE:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            continue
        assert path.exists(), f"{path} is missing; run with UPDATE_GOLDEN=1 to create it"
        expected = path.read_text()
        if text != expected:
            diff = difflib.unified_diff(
                expected.splitlines(), text.splitlines(), str(path), "rendered", lineterm=""
            )
            pytest.fail(
                f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept):\n"
                + "\n".join(list(diff)[:80])
            )


def test_no_stale_golden_files(tmp_path: Path) -> None:
    expected = {name for case in CASES for name in golden_files(case, tmp_path)}
    assert {path.name for path in GOLDEN.iterdir()} == expected
