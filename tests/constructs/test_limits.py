"""CloudFormation quotas are checked at synth for stacks holding projects: one-paragraph errors, 90 % warnings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match

from cdk_sagemaker_finetuning.constructs.errors import (
    ConstructValidationError,
    exit_on_invalid_app,
    validation_failure,
)
from cdk_sagemaker_finetuning.constructs.limits import TEMPLATE_BYTES
from cdk_sagemaker_finetuning.constructs.project import FineTuningProject
from tests.conftest import REPO

SPEC = {
    "technique": "sft",
    "base_model": "meta-textgeneration-llama-3-2-1b-instruct",
    "accept_eula": True,
    "data": {"train": "s3://demo-data/train.jsonl"},
}


def project_stack(tmp_path: Path, *names: str) -> tuple[cdk.App, cdk.Stack]:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    stack = cdk.Stack(app, "Platform")
    for name in names or ("demo",):
        FineTuningProject(stack, name.title().replace("-", ""), name=name, **SPEC)
    return app, stack


def resource_count(tmp_path: Path) -> int:
    app, _ = project_stack(tmp_path / "measure")
    return len(app.synth().get_stack_artifact("Platform").template["Resources"])


def add_resources(stack: cdk.Stack, count: int) -> None:
    for index in range(count):
        cdk.CfnWaitConditionHandle(stack, f"Filler{index}")


def synth_error(app: cdk.App) -> str:
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = validation_failure(raised.value)
    assert message is not None, str(raised.value)
    return message


def test_too_many_resources_fail_synth_with_one_paragraph(tmp_path):
    app, stack = project_stack(tmp_path, "support-sft", "math-sft")
    add_resources(stack, 480)
    message = synth_error(app)
    assert "\n" not in message
    assert message.startswith("Platform: stack Platform has ")
    count = int(message.split(" has ")[1].split()[0].replace(",", ""))
    assert count > 500
    assert "at most 500 resources per stack template" in message
    assert "2 fine-tuning projects (support-sft, math-sft)" in message
    assert "split the projects across several stacks, or put some into nested stacks" in message
    assert "cloudformation-limits.html" in message


def test_ninety_percent_of_the_resources_warns(tmp_path):
    app, stack = project_stack(tmp_path)
    add_resources(stack, 455 - resource_count(tmp_path))
    app.synth()
    Annotations.from_stack(stack).has_warning(
        "/Platform",
        Match.string_like_regexp("close to the limit with 455 resources; .* at most 500 resources"),
    )


def test_under_ninety_percent_says_nothing(tmp_path):
    app, stack = project_stack(tmp_path)
    app.synth()
    assert (
        Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("CloudFormation allows"))
        == []
    )


def test_outputs_and_parameters_are_counted(tmp_path):
    app, stack = project_stack(tmp_path)
    for index in range(200):
        cdk.CfnOutput(stack, f"Out{index}", value="x")
        cdk.CfnParameter(stack, f"Param{index}", default="x")
    message = synth_error(app)
    assert "at most 200 outputs" in message  # the project's own outputs push it over
    assert "parameters" not in message.split("outputs", 1)[0]


def test_only_stacks_with_projects_are_checked(tmp_path):
    app, _ = project_stack(tmp_path)
    plain = cdk.Stack(app, "Plain")
    add_resources(plain, 501)
    with pytest.raises(RuntimeError) as raised:  # CloudFormation's own limit, not ours to report
        app.synth()
    assert validation_failure(raised.value) is None or "Plain" not in validation_failure(raised.value)


def test_template_size_is_measured_on_the_synthesized_template(tmp_path):
    app, stack = project_stack(tmp_path, "big")
    filler = cdk.CfnWaitConditionHandle(stack, "Padding")
    filler.add_metadata("padding", "x" * TEMPLATE_BYTES)
    message = synth_error(app)
    # jsii puts the plugin report in the error, or (on a terminal) prints it before a short error
    assert message.startswith(("stack Platform has 1,0", "Validation failed. A copy of this report"))
    report = json.loads((tmp_path / "cdk.out" / "validation-report.json").read_text())
    [violation] = [v for r in report["pluginReports"] for v in r["violations"]]
    assert violation["severity"] == "error"
    assert "at most 1,000,000 template bytes per stack template" in violation["description"]
    assert "1 fine-tuning project (big)" in violation["description"]


def test_template_size_warns_from_ninety_percent(tmp_path):
    app, stack = project_stack(tmp_path, "big")
    cdk.CfnWaitConditionHandle(stack, "Padding").add_metadata("padding", "x" * int(TEMPLATE_BYTES * 0.9))
    app.synth()
    report = json.loads((tmp_path / "cdk.out" / "validation-report.json").read_text())
    [violation] = [v for r in report["pluginReports"] for v in r["violations"]]
    assert violation["severity"] == "warning"
    assert "is close to the limit with" in violation["description"]


OVER_LIMIT_APP = """
import aws_cdk as cdk
from cdk_sagemaker_finetuning.constructs.errors import exit_on_invalid_app
from cdk_sagemaker_finetuning.constructs.project import FineTuningProject

with exit_on_invalid_app():
    app = cdk.App()
    stack = cdk.Stack(app, "Platform")
    FineTuningProject(stack, "Demo", name="demo", technique="sft", base_model="huggingface-reasoning-qwen3-8b",
                      data={"train": "s3://demo-data/train.jsonl"})
    for index in range(480):
        cdk.CfnWaitConditionHandle(stack, f"Filler{index}")
    app.synth()
"""


def test_cdk_synth_prints_the_quota_error_cleanly(tmp_path):
    (tmp_path / "over_limit.py").write_text(textwrap.dedent(OVER_LIMIT_APP))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    result = subprocess.run(
        [
            str(REPO / "node_modules" / ".bin" / "cdk"),
            "synth",
            "--quiet",
            "--no-notices",
            "--app",
            f"{sys.executable} over_limit.py",
            "--output",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "jsii" not in result.stderr
    [paragraph] = [line for line in result.stderr.splitlines() if "CloudFormation allows" in line]
    assert (
        paragraph.startswith("Platform: stack Platform has ") and "1 fine-tuning project (demo)" in paragraph
    )


def test_apps_report_invalid_input_in_one_message_and_exit_2(capsys):
    stack = cdk.Stack(cdk.App(), "Platform")
    failures = [
        ConstructValidationError("output_prefix 'x-y' must be alphanumeric", stack),
        RuntimeError(
            "ValidationFailedWithErrors: Validation failed with the following errors:\n  [Platform] too big"
        ),
    ]
    for failure in failures:
        with pytest.raises(SystemExit) as exited, exit_on_invalid_app():
            raise failure
        assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "Platform: output_prefix 'x-y' must be alphanumeric",
        "Platform: too big",
    ]
    with pytest.raises(RuntimeError, match="something else"), exit_on_invalid_app():
        raise RuntimeError("something else")


def test_thirty_four_ordinary_projects_exceed_the_output_quota(tmp_path):
    names = [f"team-{index}" for index in range(34)]  # 6 outputs and 12 resources each
    app, _ = project_stack(tmp_path, *names)
    message = synth_error(app)
    assert "\n" not in message and "at most 200 outputs" in message
    assert f"34 fine-tuning projects ({', '.join(names)})" in message


def test_nested_stacks_have_their_own_quota(tmp_path):
    app, stack = project_stack(tmp_path)
    add_resources(cdk.NestedStack(stack, "Nested"), 480)  # the parent holds one AWS::CloudFormation::Stack
    app.synth()
    assert (
        Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("CloudFormation allows"))
        == []
    )


def test_a_nested_stack_of_projects_is_counted_from_the_listing_its_parent_made(tmp_path):
    """The parent's validation lists each nested stack once and hands the counts to that stack's own check."""

    def platform(outdir: Path, fillers: int) -> tuple[cdk.App, cdk.NestedStack]:
        app, stack = project_stack(outdir)
        nested = cdk.NestedStack(stack, "Nested")
        FineTuningProject(nested, "Team", name="team", **SPEC)
        add_resources(nested, fillers)
        return app, nested

    app, nested = platform(tmp_path / "plain", 0)
    assembly = app.synth()
    own = len(json.loads((Path(assembly.directory) / nested.template_file).read_text())["Resources"])
    message = synth_error(platform(tmp_path / "full", 500 - own + 1)[0])
    assert message.startswith("Platform/Nested: stack Platform/Nested has 501 resources")
    assert "1 fine-tuning project (team)" in message and "demo" not in message
