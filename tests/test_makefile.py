"""The Makefile's set-up: `make synth` installs only what synthesis needs, `make test` the test extra; both
idempotent. Checked with `make -n` (print the recipes, run nothing) in a copy of the project's set-up files."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, example_app_modules

SETUP_FILES = ("Makefile", "pyproject.toml", "package.json", "package-lock.json", "cdk.json")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in SETUP_FILES:
        shutil.copy2(REPO / name, tmp_path / name)
    return tmp_path


def dry_run(project: Path, target: str) -> str:
    result = subprocess.run(
        ["make", "-n", target], cwd=project, capture_output=True, text=True, timeout=60, env=dict(os.environ)
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_synth_installs_the_synth_extra_only(project: Path) -> None:
    recipe = dry_run(project, "synth")
    assert "python3 -m venv .venv" in recipe
    assert "-e '.[synth]'" in recipe
    assert ".[test]" not in recipe
    assert "npm ci" in recipe and "cdk synth --quiet --no-notices" in recipe


def test_test_installs_the_test_extra(project: Path) -> None:
    recipe = dry_run(project, "test")
    assert "-e '.[synth]'" in recipe and "-e '.[test]'" in recipe
    assert "-m pytest" in recipe


def test_a_second_run_installs_nothing(project: Path) -> None:
    venv = project / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(shutil.which("python3") or "/usr/bin/python3")
    (project / "node_modules").mkdir()
    for stamp in (
        venv / ".installed-synth",
        venv / ".installed-test",
        project / "node_modules" / ".installed",
    ):
        stamp.touch()
    for target in ("synth", "test"):
        recipe = dry_run(project, target)
        assert "pip install" not in recipe and "npm ci" not in recipe and "-m venv" not in recipe, recipe


def test_ci_runs_make_test() -> None:
    assert (REPO / ".ci" / "run").read_text().strip().endswith("make test")


def test_make_test_runs_the_suite_on_two_workers_a_module_at_a_time(project: Path) -> None:
    assert "-m pytest -n 2 --dist loadscope" in dry_run(project, "test")


def test_the_modules_that_use_the_example_apps_are_found() -> None:
    """They share one worker (tests/conftest.py), so the session synthesizes the example apps once."""
    found = example_app_modules()
    assert {"tests/test_app.py", "tests/test_logical_ids.py", "tests/test_platform_example.py"} <= found
    assert "tests/test_makefile.py" not in found and "tests/constructs/test_platform.py" not in found
