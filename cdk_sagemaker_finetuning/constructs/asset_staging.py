"""Assemble Lambda code directories at synth time (no Docker bundling): copies plus small generated files."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"
#: The runtime folder's package name inside every Lambda asset: handlers are ``runtime.<module>.<function>``
#: and the modules' relative imports (``from . import errors``) work as they do in the installed package.
RUNTIME_PACKAGE = "runtime"


def stage_directory(files: Mapping[str, Path | str], *, prefix: str) -> Path:
    """A directory holding ``files`` (relative name -> source ``Path`` to copy, or ``str`` content to write).

    The directory name is the hash of the contents, so the same inputs give the same directory (and the same
    CDK asset hash) and a concurrent synth never sees a half-written directory.
    """
    contents = {
        name: source.read_bytes() if isinstance(source, Path) else source.encode()
        for name, source in sorted(files.items())
    }
    digest = hashlib.sha256()
    for name, data in contents.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    target = Path(tempfile.gettempdir()) / f"{prefix}-{digest.hexdigest()[:20]}"
    if target.is_dir():
        return target
    staging = Path(tempfile.mkdtemp(prefix=f"{prefix}-tmp-"))
    for name, data in contents.items():
        path = staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    try:
        os.rename(staging, target)
    except OSError:  # another process staged the same contents first
        shutil.rmtree(staging, ignore_errors=True)
    return target


def runtime_asset(modules: Sequence[str] | None = None) -> Path:
    """A Lambda code directory holding the runtime folder as the package ``runtime``: its ``__init__.py`` and
    ``modules`` (names without ``.py``; default: every top-level module; ``reward/`` is its own asset)."""
    names = modules or sorted(path.stem for path in RUNTIME_DIR.glob("*.py") if path.stem != "__init__")
    files = {f"{RUNTIME_PACKAGE}/{name}.py": RUNTIME_DIR / f"{name}.py" for name in ("__init__", *names)}
    return stage_directory(files, prefix="cdk-sm-ft-runtime")


def runtime_handler(handler: str) -> str:
    """The Lambda handler of ``<module>.<function>`` of the runtime package (``runtime.<module>.<function>``)."""
    return f"{RUNTIME_PACKAGE}.{handler}"


def package_files(package: str, *, as_name: str) -> dict[str, Path]:
    """The ``.py`` files of a runtime sub-package, renamed to the top-level package ``as_name``."""
    source = RUNTIME_DIR / package
    return {f"{as_name}/{path.name}": path for path in sorted(source.glob("*.py"))}
