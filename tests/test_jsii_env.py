"""jsii's Node settings: app.py, the platform example and the CLI start jsii without the end-of-life banner."""

from __future__ import annotations

import os
import subprocess
import sys

from cdk_sagemaker_finetuning import jsii_env
from tests.conftest import REPO

BANNER = "end-of-life"


def bare_env() -> dict[str, str]:
    """The environment of a user who never heard of jsii: no JSII_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSII_")}
    env["PYTHONPATH"] = str(REPO)
    return env


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_app_starts_jsii_without_a_banner() -> None:
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO, env=bare_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_cli_sets_jsii_node_before_any_command_imports_aws_cdk() -> None:
    code = "import os, cdk_sagemaker_finetuning.cli, aws_cdk; aws_cdk.App(); print(os.environ['JSII_NODE'])"
    result = run_python(code, bare_env())
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip() == jsii_env.wheel_node()


def test_without_the_wheel_the_system_node_banner_is_acknowledged() -> None:
    """The project needs Node anyway (the CDK CLI); an end-of-life one must not print jsii's banner."""
    code = (
        "from cdk_sagemaker_finetuning import jsii_env\n"
        "jsii_env.wheel_node = lambda: None\n"
        "jsii_env.configure()\n"
        "import aws_cdk\n"
        "aws_cdk.App()\n"
    )
    result = run_python(code, bare_env())
    assert result.returncode == 0, result.stderr
    assert BANNER not in result.stderr and "!!" not in result.stderr, result.stderr


def test_configure_keeps_values_already_set(tmp_path) -> None:
    environ = {"JSII_NODE": "/opt/node/bin/node", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18"}
    jsii_env.configure(environ)
    assert environ == {
        "JSII_NODE": "/opt/node/bin/node",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18",
    }


def test_configure_acknowledges_the_major_version_of_the_node_in_use(tmp_path, monkeypatch) -> None:
    node = tmp_path / "node"
    node.write_text("#!/bin/sh\necho v20.20.2\n")
    node.chmod(0o755)
    monkeypatch.setattr(jsii_env, "wheel_node", lambda: None)
    environ = {"JSII_NODE": str(node)}
    jsii_env.configure(environ)
    assert environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] == "20"


def test_configure_prefers_the_wheel_node() -> None:
    environ: dict[str, str] = {}
    jsii_env.configure(environ)
    assert environ == {"JSII_NODE": jsii_env.wheel_node()}
    assert jsii_env.node_major(environ["JSII_NODE"]) == "24"
