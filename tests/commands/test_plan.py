"""``cdk-finetune plan``: the workflow's request, offline from files and online through the preflight."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cdk_sagemaker_finetuning import cli
from cdk_sagemaker_finetuning.runtime.request import build_create_training_job_request
from cdk_sagemaker_finetuning.spec import load_spec
from cdk_sagemaker_finetuning.workflow_config import runtime_config
from tests import workflow_data as wd
from tests.conftest import EXAMPLES
from tests.runtime.test_preflight import _body

OUTPUTS = {
    "FineTuning-demo": {
        "ExecutionRoleArn": wd.ROLE_ARN,
        "ModelPackageGroupName": wd.GROUP_NAME,
        "ModelPackageGroupArn": wd.GROUP_ARN,
        "TrainUri": "s3://demo-data/train.jsonl",
        "OutputUri": "s3://demo-output/out/",
    }
}


@pytest.fixture
def files(tmp_path, sft_spec_dict):
    spec = {**sft_spec_dict, "hyperparameters": {"max_epochs": 3}}
    paths = {
        "spec": tmp_path / "spec.yaml",
        "hub": tmp_path / "hub.json",
        "params": tmp_path / "params.json",
        "outputs": tmp_path / "outputs.json",
    }
    paths["spec"].write_text(yaml.safe_dump(spec))
    paths["hub"].write_text(json.dumps(wd.hub_content()))
    paths["params"].write_text(json.dumps(wd.override_spec(wd.LLAMA, "SFT")))
    paths["outputs"].write_text(json.dumps(OUTPUTS))
    return {k: str(v) for k, v in paths.items()}


def plan(capsys, *argv):
    code = cli.main(["plan", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_offline_plan_prints_the_workflow_request(files, capsys):
    code, out, err = plan(
        capsys,
        files["spec"],
        "--hub-content",
        files["hub"],
        "--recipe-params",
        files["params"],
        "--execution-name",
        "nightly-1",
        "--outputs-file",
        files["outputs"],
    )
    assert code == 0, err
    printed = json.loads(out)
    spec = load_spec(files["spec"])
    config = runtime_config(
        spec,
        role_arn=wd.ROLE_ARN,
        model_package_group_arn=wd.GROUP_ARN,
        output_uri="s3://demo-output/out/",
        train_uri="s3://demo-data/train.jsonl",
    )
    expected = build_create_training_job_request(
        config,
        wd.hub_content(),
        wd.override_spec(wd.LLAMA, "SFT"),
        {"name": "nightly-1", "input": None},
        account=wd.ACCOUNT,
        region=wd.REGION,
    )
    assert printed == expected
    assert printed["TrainingJobName"] == "demo-nightly-1"
    assert printed["HyperParameters"]["max_epochs"] == "3"


def test_offline_plan_without_outputs_uses_placeholders_and_input(files, capsys):
    code, out, err = plan(
        capsys,
        files["spec"],
        "--hub-content",
        files["hub"],
        "--recipe-params",
        files["params"],
        "--input",
        '{"trainUri": "s3://other/new.jsonl", "hyperparameters": {"learning_rate": 0.0005}}',
    )
    assert code == 0, err
    printed = json.loads(out)
    assert printed["RoleArn"] == "<ExecutionRoleArn>"
    assert printed["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://other/new.jsonl"
    assert printed["HyperParameters"]["learning_rate"] == "0.0005"
    assert printed["TrainingJobName"].startswith("demo-plan-")


def test_rejections_are_named(files, capsys):
    code, out, err = plan(
        capsys,
        files["spec"],
        "--hub-content",
        files["hub"],
        "--recipe-params",
        files["params"],
        "--input",
        '{"hyperparameters": {"max_epochs": 99}}',
    )
    assert (code, out) == (2, "")
    assert " ".join(err.split()).startswith(
        "PreflightError.HyperparameterOutOfRange (hyperparameters.max_epochs): max_epochs=99"
    )


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--input", "{nope"], "--input is not JSON"),
        (["--recipe-params", "/does/not/exist.json"], "--recipe-params '/does/not/exist.json'"),
    ],
)
def test_bad_flags(files, capsys, extra, words):
    argv = [files["spec"], "--hub-content", files["hub"], "--recipe-params", files["params"], *extra]
    code, _, err = plan(capsys, *argv)
    assert code == 2 and words in " ".join(err.split())


def test_only_one_file_is_an_error(files, capsys):
    code, _, err = plan(capsys, files["spec"], "--hub-content", files["hub"])
    assert code == 2 and "both --hub-content and --recipe-params" in " ".join(err.split())


def test_bare_document_needs_a_pinned_version(files, capsys, tmp_path):
    bare = tmp_path / "doc.json"
    bare.write_text(wd.hub_content()["HubContentDocument"])
    code, _, err = plan(capsys, files["spec"], "--hub-content", str(bare), "--recipe-params", files["params"])
    assert code == 2 and "base_model_version" in err
    spec = yaml.safe_load(Path(files["spec"]).read_text())
    Path(files["spec"]).write_text(yaml.safe_dump({**spec, "base_model_version": "1.2.3"}))
    code, out, err = plan(
        capsys, files["spec"], "--hub-content", str(bare), "--recipe-params", files["params"]
    )
    assert code == 0, err
    assert json.loads(out)["ServerlessJobConfig"]["BaseModelArn"].endswith(f"/Model/{wd.LLAMA}/1.2.3")


def test_created_bucket_plans_offline_with_placeholders(files, capsys, sft_spec_dict):
    spec = {**sft_spec_dict, "data": {"create_bucket": True, "train": "train.jsonl", "validation": "val/"}}
    Path(files["spec"]).write_text(yaml.safe_dump(spec))
    code, out, err = plan(
        capsys, files["spec"], "--hub-content", files["hub"], "--recipe-params", files["params"]
    )
    assert code == 0, err
    sources = [c["DataSource"]["S3DataSource"]["S3Uri"] for c in json.loads(out)["InputDataConfig"]]
    assert sources == ["s3://<DataBucket>/train.jsonl", "s3://<DataBucket>/val/"]
    assert "cdk-finetune-plan" not in out  # no stand-in leaks into the printed request


def test_rejections_name_placeholders_not_stand_ins(files, capsys, sft_spec_dict):
    spec = {**sft_spec_dict, "data": {"create_bucket": True, "train": "train\tdata.jsonl"}}
    Path(files["spec"]).write_text(yaml.safe_dump(spec))
    code, out, err = plan(
        capsys, files["spec"], "--hub-content", files["hub"], "--recipe-params", files["params"]
    )
    assert (code, out) == (2, "")  # a control character is no S3 key
    assert "'s3://<DataBucket>/train\\tdata.jsonl'" in err and "cdk-finetune-plan" not in err


def example_files(spec_path: Path, tmp_path: Path) -> tuple[str, str]:
    """Offline --hub-content / --recipe-params files for a spec's base model and technique."""
    spec = load_spec(spec_path)
    technique = spec.technique.upper()
    hub = tmp_path / f"{spec.name}-hub.json"
    params = tmp_path / f"{spec.name}-params.json"
    hub.write_text(json.dumps(wd.hub_content(spec.hub_content_name, techniques=(technique,))))
    params.write_text(json.dumps(wd.override_spec(spec.hub_content_name, technique)))
    return str(hub), str(params)


@pytest.mark.parametrize("spec_path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_spec_plans_offline(spec_path, tmp_path, capsys):
    hub, params = example_files(spec_path, tmp_path)
    code, out, err = plan(capsys, str(spec_path), "--hub-content", hub, "--recipe-params", params)
    assert code == 0, err
    request = json.loads(out)
    spec = load_spec(spec_path)
    assert request["RoleArn"] == "<ExecutionRoleArn>"
    assert request["ModelPackageConfig"]["ModelPackageGroupArn"] == "<ModelPackageGroupArn>"
    uri = request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert uri == f"s3://<DataBucket>/{spec.data.train}"
    registered = spec.judge_prompt_path is not None or (spec.reward and not spec.reward.evaluator_arn)
    if registered:
        assert request["ServerlessJobConfig"]["EvaluatorArn"] == "<EvaluatorArn>"
    assert "cdk-finetune-plan" not in out


def test_the_spec_init_writes_plans_offline(tmp_path, capsys):
    assert (
        cli.main(
            [
                "init",
                "--name",
                "support-bot",
                "--technique",
                "rlvr",
                "--model",
                "huggingface-reasoning-qwen3-8b",
            ]
            + ["--dir", str(tmp_path)]
        )
        == 0
    )
    capsys.readouterr()
    spec_path = tmp_path / "support-bot.yaml"
    hub, params = example_files(spec_path, tmp_path)
    code, out, err = plan(capsys, str(spec_path), "--hub-content", hub, "--recipe-params", params)
    assert code == 0, err
    request = json.loads(out)
    assert request["ServerlessJobConfig"]["EvaluatorArn"] == "<EvaluatorArn>"
    assert request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"].startswith(
        "s3://<DataBucket>/"
    )


def test_the_documented_offline_files_plan_the_sft_example(capsys):
    offline = EXAMPLES / "offline"
    code, out, err = plan(
        capsys,
        str(EXAMPLES / "sft-llama-3-2-1b.yaml"),
        "--hub-content",
        str(offline / "llama-3-2-1b-hub-content.json"),
        "--recipe-params",
        str(offline / "llama-3-2-1b-sft-recipe-params.json"),
    )
    assert code == 0, err
    request = json.loads(out)
    assert request["ServerlessJobConfig"]["BaseModelArn"].endswith(
        "/meta-textgeneration-llama-3-2-1b-instruct/1.2.3"
    )
    assert request["HyperParameters"]["learning_rate"] == "0.0001"
    assert request["ServerlessJobConfig"]["Peft"] == "LORA"


def test_online_data_check_needs_the_deployed_data_location(files, capsys, stubs, sft_spec_dict):
    spec = {**sft_spec_dict, "data": {"create_bucket": True, "train": "train.jsonl"}}
    Path(files["spec"]).write_text(yaml.safe_dump(spec))
    stubs("cloudformation").add_client_error(
        "describe_stacks",
        "ValidationError",
        "Stack with id FineTuning-demo does not exist",
        expected_params={"StackName": "FineTuning-demo"},
    )
    code, _, err = plan(capsys, files["spec"])
    assert code == 2
    assert "data.create_bucket is true" in " ".join(err.split())


def test_online_plan_runs_the_preflight(files, capsys, stubs):
    cloudformation = stubs("cloudformation")
    outputs = [{"OutputKey": k, "OutputValue": v} for k, v in OUTPUTS["FineTuning-demo"].items()]
    cloudformation.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "FineTuning-demo",
                    "CreationTime": "2026-01-01T00:00:00Z",
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": outputs,
                }
            ]
        },
        {"StackName": "FineTuning-demo"},
    )
    stubs("sts").add_response("get_caller_identity", {"Account": wd.ACCOUNT})
    sagemaker, s3 = stubs("sagemaker"), stubs("s3")
    sagemaker.add_response(
        "describe_model_package_group",
        {
            "ModelPackageGroupName": "demo",
            "ModelPackageGroupArn": wd.GROUP_ARN,
            "CreationTime": "2026-01-01T00:00:00Z",
            "CreatedBy": {},
            "ModelPackageGroupStatus": "Completed",
        },
    )
    sagemaker.add_response("list_training_jobs", {"TrainingJobSummaries": []})
    hub = {k: v for k, v in wd.hub_content().items() if k != "HubContentSearchKeywords"}
    hub.update(
        HubArn="arn:aws:sagemaker:us-east-1:aws:hub/SageMakerPublicHub", CreationTime="2026-01-01T00:00:00Z"
    )
    sagemaker.add_response("describe_hub_content", hub)
    s3.add_response("get_object", {"Body": _body(json.dumps(wd.override_spec(wd.LLAMA, "SFT")).encode())})
    rows = wd.jsonl(wd.SFT_ROW)
    s3.add_response("list_objects_v2", {"Contents": [{"Key": "train.jsonl", "Size": len(rows)}]})
    s3.add_response("get_object", {"Body": _body(rows)})
    code, out, err = plan(capsys, files["spec"], "--execution-name", "e1", "--region", "us-east-1")
    assert code == 0, err
    printed = json.loads(out)
    assert printed["RoleArn"] == wd.ROLE_ARN and printed["TrainingJobName"] == "demo-e1"


def test_online_access_denied_is_exit_1(files, capsys, stubs):
    stubs("cloudformation").add_client_error("describe_stacks", "ValidationException", "Stack does not exist")
    stubs("sts").add_response("get_caller_identity", {"Account": wd.ACCOUNT})
    stubs("s3")
    stubs("sagemaker").add_client_error("describe_model_package_group", "AccessDeniedException", "no")
    code, _, err = plan(capsys, files["spec"], "--region", "us-east-1")
    assert code == 1 and "PreflightError.AwsError" in err


def test_lineage_plans_the_dataset_import_and_the_job_training_from_it(files, capsys, sft_spec_dict):
    from cdk_sagemaker_finetuning.runtime import dataset_registry

    spec = {
        **sft_spec_dict,
        "data": {"create_bucket": True, "train": "round-1/train.jsonl", "register_dataset": True},
    }
    Path(files["spec"]).write_text(yaml.safe_dump(spec))
    code, out, err = plan(
        capsys, files["spec"], "--hub-content", files["hub"], "--recipe-params", files["params"]
    )
    assert code == 0, err
    printed = json.loads(out)
    assert printed["CreateTrainingJob"]["InputDataConfig"] == [
        {"ChannelName": "train", "DataSource": {"DatasetSource": {"DatasetArn": "<DatasetArn>"}}}
    ]
    imported = printed["ImportHubContent"]
    assert imported == {
        **dataset_registry.import_request(
            hub="<AiRegistryHub>",
            name="demo-train",
            version="<latest major + 1>.0.0",
            source="s3://<DataBucket>/round-1/train.jsonl",
            role_arn="<ExecutionRoleArn>",
            technique="SFT",
        ),
    }
    assert json.loads(imported["HubContentDocument"])["DatasetS3Bucket"] == "<DataBucket>"


def test_lineage_rejects_an_input_prefix_by_name(files, capsys, sft_spec_dict):
    spec = {**sft_spec_dict, "data": {"train": "s3://demo-data/train.jsonl", "register_dataset": True}}
    Path(files["spec"]).write_text(yaml.safe_dump(spec))
    code, _, err = plan(
        capsys,
        files["spec"],
        "--hub-content",
        files["hub"],
        "--recipe-params",
        files["params"],
        "--input",
        '{"trainUri": "s3://demo-data/round-2/"}',
    )
    assert code == 2
    assert " ".join(err.split()).startswith(
        "PreflightError.InvalidInput (input.trainUri): 's3://demo-data/round-2/' must be the S3 URI of one .jsonl"
    )
