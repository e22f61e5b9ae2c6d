"""The CLI finds a project's outputs in a platform stack: start --project, notebook --stack and plan --stack
read the platform's JSON output or the project's nested stack (CloudFormation stubbed, requests checked)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

T0 = "2026-12-01T00:00:00Z"
SM_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:SupportSft"
NESTED = "arn:aws:cloudformation:us-east-1:123456789012:stack/Platform-SupportSft-1/abc"
OUTPUTS = {
    "ExecutionRoleArn": "arn:aws:iam::123456789012:role/support-training",
    "ModelPackageGroupName": "support-sft",
    "ModelPackageGroupArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/support-sft",
    "TrainUri": "s3://support-data/train.jsonl",
    "OutputUri": "s3://support-output/output/",
    "StateMachineArn": SM_ARN,
}


def described(name: str, outputs: dict[str, str]) -> dict:
    return {
        "Stacks": [
            {
                "StackName": name,
                "CreationTime": T0,
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


def nested_platform(cfn) -> None:
    """A platform deployed with export_outputs=False: the project's outputs only in its nested stack."""
    cfn.add_response("describe_stacks", described("Platform", {}), {"StackName": "Platform"})
    summaries = [
        {
            "LogicalResourceId": logical,
            "PhysicalResourceId": physical,
            "ResourceType": "AWS::CloudFormation::Stack",
            "LastUpdatedTimestamp": T0,
            "ResourceStatus": "CREATE_COMPLETE",
        }
        for logical, physical in (
            (
                "FineTuningMathRlvrNestedStackMathRlvrNestedStackResourceAB12",
                NESTED.replace("Support", "Math"),
            ),
            ("FineTuningSupportSftNestedStackSupportSftNestedStackResourceCD34", NESTED),
        )
    ]
    cfn.add_response("list_stack_resources", {"StackResourceSummaries": summaries}, {"StackName": "Platform"})
    prefixed = {f"SupportSft{k}": v for k, v in OUTPUTS.items()}
    cfn.add_response("describe_stacks", described(NESTED, prefixed), {"StackName": NESTED})


def test_start_finds_the_state_machine_in_the_projects_nested_stack(stubs, run) -> None:
    cfn, sfn = stubs("cloudformation"), stubs("stepfunctions")
    nested_platform(cfn)  # the project's own nested stack is described first, the other one never
    sfn.add_response(
        "start_execution",
        {"executionArn": SM_ARN.replace("stateMachine", "execution") + ":r1", "startDate": T0},
        {"stateMachineArn": SM_ARN, "input": "{}"},
    )
    result = run("start", "Platform", "--project", "support-sft", "--region", "us-east-1")
    assert result.code == 0, result.err


def test_notebook_reads_the_platform_json_output(stubs, run, tmp_path, sft_spec_dict) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**sft_spec_dict, "name": "support-sft"}))
    stubs("cloudformation").add_response(
        "describe_stacks",
        described("Platform", {"SupportSftOutputs": json.dumps(OUTPUTS), "MathRlvrOutputs": "{}"}),
        {"StackName": "Platform"},
    )
    out = tmp_path / "nb.py"
    result = run(
        "notebook", str(spec), "--script", "--stack", "Platform", "-o", str(out), "--region", "us-east-1"
    )
    assert result.code == 0, result.err
    text = Path(out).read_text()
    assert OUTPUTS["ExecutionRoleArn"] in text and OUTPUTS["ModelPackageGroupArn"] in text
    assert "stack outputs from Platform" in result.flat_out


def test_notebook_names_a_missing_project(stubs, run, tmp_path, sft_spec_dict) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**sft_spec_dict, "name": "support-sft"}))
    cfn = stubs("cloudformation")
    cfn.add_response(
        "describe_stacks", described("Platform", {"MathRlvrOutputs": "{}"}), {"StackName": "Platform"}
    )
    cfn.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": "Platform"})
    result = run(
        "notebook", str(spec), "--stack", "Platform", "-o", str(tmp_path / "x.py"), "--region", "us-east-1"
    )
    assert result.code == 2
    assert "no outputs of project 'support-sft'" in result.flat_err and "MathRlvr" in result.flat_err
    assert "Traceback" not in result.err


def test_notebook_takes_outputs_or_stack_not_both(run, tmp_path, sft_spec_dict) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(sft_spec_dict))
    result = run("notebook", str(spec), "--stack", "P", "--outputs", "o.json")
    assert result.code == 2 and "pass --outputs or --stack, not both" in result.flat_err
