"""A reward module's pure-Python requirements, installed locally (no Docker) for the Lambda's platform.

``pip install --target`` with the Lambda's platform and Python version (``--platform manylinux2014_aarch64
--only-binary=:all: --python-version 3.14 --implementation cp``) into a directory named by the hash of the
requirements file and the target, so the next synth or ``validate`` reuses it. pip reads its usual
configuration (index, proxy, ``PIP_*`` variables). Compiled packages are refused: the check imports the
requirements with the local interpreter, which cannot load a binary built for the Lambda's Python.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .files import Problem

#: The reward Lambda's platform (``RewardFunction`` runs on arm64).
PLATFORM = "manylinux2014_aarch64"
#: The reward Lambda's default runtime (``RewardFunction(runtime=...)`` passes its own).
PYTHON_VERSION = "3.14"
PIP_SECONDS = 600.0
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib")
_failed: dict[str, list[Problem]] = {}  # per requirements digest, within a process


def install_requirements(
    path: str | Path, *, python_version: str = PYTHON_VERSION
) -> tuple[Path | None, list[Problem]]:
    """``(directory holding the installed packages, [])`` or ``(None, problems)``; never raises."""
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        return None, [Problem(f"cannot be read: {exc.strerror or exc}")]
    digest = hashlib.sha256(content + f"\0{python_version}\0{PLATFORM}".encode()).hexdigest()[:20]
    target = Path(tempfile.gettempdir()) / f"cdk-sm-ft-requirements-{digest}"
    if target.is_dir():
        return target, []
    if digest in _failed:
        return None, _failed[digest]
    staging = Path(tempfile.mkdtemp(prefix="cdk-sm-ft-requirements-tmp-"))
    command = [
        sys.executable, "-m", "pip", "install", "--target", str(staging), "--platform", PLATFORM,
        "--only-binary=:all:", "--python-version", python_version, "--implementation", "cp",
        "--no-compile", "--disable-pip-version-check", "--no-input", "--quiet",
        "--requirement", str(Path(path).resolve()),
    ]  # fmt: skip
    problems = _install(command, staging, python_version)
    if problems:
        shutil.rmtree(staging, ignore_errors=True)
        _failed[digest] = problems
        return None, problems
    shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: nothing the Lambda runs
    try:
        os.rename(staging, target)
    except OSError:  # another process installed the same requirements first
        shutil.rmtree(staging, ignore_errors=True)
    return target, []


def _install(command: list[str], staging: Path, python_version: str) -> list[Problem]:
    where = f"Python {python_version} on Lambda ({PLATFORM})"
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=PIP_SECONDS, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return [Problem(f"pip did not install them for {where} within {PIP_SECONDS:g} s")]
    if result.returncode != 0:
        errors = [line.removeprefix("ERROR: ") for line in result.stderr.splitlines() if line.strip()]
        return [
            Problem(f"pip cannot install them for {where}: {errors[-1] if errors else 'no error message'}")
        ]
    compiled = sorted(
        p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.suffix in COMPILED_SUFFIXES
    )
    if compiled:
        return [
            Problem(
                f"{compiled[0]} is compiled code; requirements must be pure Python (the check imports them "
                "with this interpreter, which cannot load a binary built for the Lambda)"
            )
        ]
    return []
