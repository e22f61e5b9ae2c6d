"""Preflight Lambda with botocore Stubber: every named error, merge, data formats, Nova, gating, continuation."""

from __future__ import annotations

import io
import json
import weakref

import pytest
from botocore.response import StreamingBody

from cdk_sagemaker_finetuning.runtime import errors, preflight
from cdk_sagemaker_finetuning.runtime.hub_evaluator import hub_content_document
from tests import stub_pool
from tests import workflow_data as wd

PACKAGE_ARN = f"arn:aws:sagemaker:us-east-1:{wd.ACCOUNT}:model-package/demo/3"


def _body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


class Aws:
    """Stubbed SageMaker, S3 and STS clients; ``expect_*`` queue the calls a preflight makes, in order."""

    def __init__(self) -> None:
        # the fuzz tests make thousands of ``Aws()``: each borrows pooled clients, given back when it is freed
        self.stubs = [stub_pool.lend(service) for service in ("sagemaker", "s3", "sts", "lambda")]
        self.sm, self.s3s, self.stss, self.lams = self.stubs
        self.sagemaker, self.s3, self.sts, self.lam = (stub.client for stub in self.stubs)
        weakref.finalize(self, stub_pool.give_back, *self.stubs)
        self.clients = preflight.Clients(sagemaker=self.sagemaker, s3=self.s3, sts=self.sts, lambda_=self.lam)

    def identity(self):
        self.stss.add_response(
            "get_caller_identity", {"Account": wd.ACCOUNT, "Arn": "arn:aws:iam::1:user/x", "UserId": "x"}
        )

    def group(self, error: str | None = None, running: tuple[str, ...] = ()):
        params = {"ModelPackageGroupName": wd.GROUP_NAME}
        if error:
            self.sm.add_client_error(
                "describe_model_package_group", error, "not found", expected_params=params
            )
            return
        self.sm.add_response(
            "describe_model_package_group",
            {
                "ModelPackageGroupName": wd.GROUP_NAME,
                "ModelPackageGroupArn": wd.GROUP_ARN,
                "CreationTime": "2026-01-01T00:00:00Z",
                "CreatedBy": {},
                "ModelPackageGroupStatus": "Completed",
            },
            params,
        )
        summaries = [
            {
                "TrainingJobName": n,
                "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:{wd.ACCOUNT}:training-job/{n}",
                "CreationTime": "2026-01-01T00:00:00Z",
                "TrainingJobStatus": "InProgress",
            }
            for n in running
        ]
        self.sm.add_response(
            "list_training_jobs",
            {"TrainingJobSummaries": summaries},
            {"NameContains": "demo-", "StatusEquals": "InProgress", "MaxResults": 100},
        )

    def hub(self, content: dict | None = None, *, model=wd.LLAMA, version=None, error=None):
        params = {"HubName": "SageMakerPublicHub", "HubContentType": "Model", "HubContentName": model}
        if version:
            params["HubContentVersion"] = version
        if error:
            self.sm.add_client_error("describe_hub_content", error, "missing", expected_params=params)
            return
        content = content or wd.hub_content(model)
        response = {k: v for k, v in content.items() if k != "HubContentSearchKeywords"}
        response.update(
            HubContentDisplayName=model,
            CreationTime="2026-01-01T00:00:00Z",
            HubArn="arn:aws:sagemaker:us-east-1:aws:hub/SageMakerPublicHub",
        )
        self.sm.add_response("describe_hub_content", response, params)

    def spec(self, model=wd.LLAMA, technique="SFT", *, lora=True, spec=None, error=None):
        params = {"Bucket": wd.RECIPE_BUCKET, "Key": wd.spec_key(model, technique, lora)}
        if error:
            self.s3s.add_client_error("get_object", error, "denied", expected_params=params)
            return
        body = json.dumps(spec if spec is not None else wd.override_spec(model, technique)).encode()
        self.s3s.add_response("get_object", {"Body": _body(body)}, params)

    def data(self, rows: bytes, *, bucket="demo-data", key="train.jsonl", listing=None):
        listing = [{"Key": key, "Size": len(rows)}] if listing is None else listing
        self.s3s.add_response(
            "list_objects_v2",
            {"Contents": listing} if listing else {"KeyCount": 0},
            {"Bucket": bucket, "Prefix": key, "MaxKeys": 1000},
        )
        if listing:
            self.s3s.add_response(
                "get_object",
                {"Body": _body(rows)},
                {"Bucket": bucket, "Key": key, "Range": "bytes=0-1048575"},
            )

    def evaluator(self, status="Available", arn=wd.EVALUATOR_ARN, document=None, lambda_error=None):
        """DescribeHubContent of an evaluator (as ``runtime/hub_evaluator.py`` writes it), then GetFunction."""
        hub, kind, name, version = arn.split(":", 5)[5].split("/")[1:5]
        params = {
            "HubName": hub,
            "HubContentType": kind,
            "HubContentName": name,
            "HubContentVersion": version,
        }
        prompt = arn == wd.PROMPT_EVALUATOR_ARN
        if document is None:
            document = json.loads(
                hub_content_document(
                    "RewardPrompt" if prompt else "RewardFunction",
                    "s3://demo-assets/judge.jinja" if prompt else wd.REWARD_LAMBDA_ARN,
                )
            )
        self.sm.add_response(
            "describe_hub_content", _hub_content_response(arn, kind, status, document), params
        )
        try:
            reference = json.loads(document["JsonContent"])["Reference"]
        except (KeyError, ValueError):
            return
        if status != "Available" or not reference.startswith("arn:aws:lambda:us-east-1:"):
            return
        if lambda_error:
            self.lams.add_client_error(
                "get_function", lambda_error, "missing", expected_params={"FunctionName": reference}
            )
        else:
            self.lams.add_response(
                "get_function",
                {"Configuration": {"FunctionName": reference.split(":")[6], "FunctionArn": reference}},
                {"FunctionName": reference},
            )

    def happy(self, technique="SFT", model=wd.LLAMA, rows=None, hub=None):
        self.identity()
        self.group()
        self.hub(hub, model=model)
        self.spec(model, technique)
        if technique == "RLVR":
            self.evaluator()
        self.data(rows if rows is not None else wd.jsonl(wd.ROWS[technique]))

    def done(self):
        for stub in self.stubs:
            stub.assert_no_pending_responses()


def _hub_content_response(arn, kind, status, document=None):
    hub, _, name, version = arn.split(":", 5)[5].split("/")[1:5]
    return {
        "HubContentName": name,
        "HubContentArn": arn,
        "HubContentVersion": version,
        "HubContentType": kind,
        "DocumentSchemaVersion": "2.0.0",
        "HubName": hub,
        "HubArn": f"arn:aws:sagemaker:us-east-1:{wd.ACCOUNT}:hub/{hub}",
        "HubContentDocument": json.dumps(document or {}),
        "HubContentStatus": status,
        "CreationTime": "2026-01-01T00:00:00Z",
    }


@pytest.fixture
def aws():
    return Aws()


def run(aws, config=None, input=None, name="exec-1", **changes):
    cfg = config or wd.config(**changes)
    return preflight.plan(cfg, {"executionName": name, "input": input}, aws.clients)


def test_sft_preflight_builds_request_and_reads_data(aws):
    aws.happy()
    out = run(aws, input={"hyperparameters": {"max_epochs": 4}})
    aws.done()
    assert out["trainingJobName"] == "demo-exec-1"
    assert out["request"]["HyperParameters"]["max_epochs"] == "4"
    assert out["hasHyperParameters"] is True
    assert out["dataFormats"] == {"train": "open_weights_sft"}


@pytest.mark.parametrize(
    ("technique", "rows", "expected"),
    [
        ("DPO", wd.jsonl(wd.DPO_ROW), "open_weights_dpo"),
        ("RLVR", wd.jsonl(wd.VERL_ROW), "verl"),
        ("RLAIF", wd.jsonl(wd.VERL_ROW), "verl"),
    ],
)
def test_format_accepted_per_technique(aws, technique, rows, expected):
    aws.happy(technique, rows=rows)
    out = run(aws, config=wd.config(technique))
    aws.done()
    assert out["dataFormats"]["train"] == expected


@pytest.mark.parametrize(
    ("technique", "rows", "words"),
    [
        ("SFT", wd.jsonl(wd.DPO_ROW), "looks like open_weights_dpo; it fits DPO"),
        ("DPO", wd.jsonl(wd.SFT_ROW), "needs open_weights_dpo or gpt_oss_dpo"),
        ("RLVR", wd.jsonl(wd.SFT_ROW), "needs verl or verl_legacy"),
        ("SFT", b"{not json}\n", "no known format"),
        ("SFT", wd.jsonl(wd.SFT_ROW, {"prompt": "x", "completion": 3}), "line 2"),
    ],
)
def test_dataset_format_rejections(aws, technique, rows, words):
    aws.happy(technique, rows=rows)
    with pytest.raises(errors.DatasetFormat, match=words) as info:
        run(aws, config=wd.config(technique))
    assert info.value.field == "data.train"


def test_sample_is_cut_at_one_megabyte_without_false_errors(aws):
    row = (json.dumps(wd.SFT_ROW) + "\n").encode()
    big = row * (2_000_000 // len(row))
    aws.identity()
    aws.group()
    aws.hub()
    aws.spec()
    aws.data(big[:1_048_576], listing=[{"Key": "train.jsonl", "Size": len(big)}])
    assert run(aws)["dataFormats"]["train"] == "open_weights_sft"


def test_missing_data_is_named(aws):
    aws.identity()
    aws.group()
    aws.hub()
    aws.spec()
    aws.data(b"", listing=[])
    with pytest.raises(errors.DatasetNotFound, match="no data at s3://demo-data/train.jsonl"):
        run(aws)


def test_prefix_checks_every_object_and_skips_folder_markers(aws):
    aws.identity()
    aws.group()
    aws.hub()
    aws.spec()
    rows = wd.jsonl(wd.SFT_ROW)
    aws.s3s.add_response(
        "list_objects_v2",
        {
            "Contents": [
                {"Key": "train/", "Size": 0},
                {"Key": "train/a.jsonl", "Size": len(rows)},
                {"Key": "train/b.jsonl", "Size": len(rows)},
            ]
        },
        {"Bucket": "demo-data", "Prefix": "train/", "MaxKeys": 1000},
    )
    for key, limit in (("train/a.jsonl", 1_048_576), ("train/b.jsonl", 131_072)):
        aws.s3s.add_response(
            "get_object",
            {"Body": _body(rows)},
            {"Bucket": "demo-data", "Key": key, "Range": f"bytes=0-{limit - 1}"},
        )
    out = run(aws, trainUri="s3://demo-data/train/")
    aws.done()
    assert out["dataFormats"]["train"] == "open_weights_sft"
    assert out["dataChecks"]["train"]["sampled"] == ["train/a.jsonl", "train/b.jsonl"]


def test_nova_sft_needs_nova_format(aws):
    hub = wd.hub_content(wd.NOVA, techniques=("SFT", "RLVR"))
    aws.happy("SFT", wd.NOVA, rows=wd.jsonl(wd.NOVA_SFT_ROW), hub=hub)
    out = run(aws, config=wd.config("SFT", wd.NOVA))
    assert out["request"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataType"] == "Converse"
    assert out["dataFormats"]["train"] == "nova_sft"
    other = Aws()
    other.happy("SFT", wd.NOVA, rows=wd.jsonl(wd.SFT_ROW), hub=hub)
    with pytest.raises(errors.DatasetFormat, match="on Nova models needs nova_sft"):
        run(other, config=wd.config("SFT", wd.NOVA))


def test_nova_rlvr_format(aws):
    hub = wd.hub_content(wd.NOVA, techniques=("SFT", "RLVR"))
    aws.happy("RLVR", wd.NOVA, rows=wd.jsonl(wd.NOVA_RLVR_ROW), hub=hub)
    out = run(aws, config=wd.config("RLVR", wd.NOVA))
    assert out["dataFormats"]["train"] == "nova_rlvr"


def test_gated_model_checked_against_hub_document(aws):
    aws.identity()
    aws.group()
    aws.hub()
    aws.spec()
    with pytest.raises(errors.EulaNotAccepted):
        run(aws, acceptEula=False)
    ungated = Aws()
    ungated.happy(hub=wd.hub_content(gated=False))
    req = run(ungated, acceptEula=False)["request"]
    assert "AcceptEula" not in req["ServerlessJobConfig"]


def test_pinned_version_is_requested(aws):
    aws.identity()
    aws.group()
    aws.hub(version="1.0.0", error="ResourceNotFound")
    with pytest.raises(errors.ModelNotFound, match="version 1.0.0 is not in hub"):
        run(aws, baseModelVersion="1.0.0")


def test_one_running_job_per_project(aws):
    aws.identity()
    aws.group(running=("demo-exec-0", "demonstration-x"))
    with pytest.raises(errors.JobAlreadyRunning, match="demo-exec-0 of this project is still running"):
        run(aws)
    own = Aws()  # a retried preflight of the same execution does not block itself; other projects never do
    own.identity()
    own.group(running=("demo-exec-1", "demonstration-x"))
    own.hub()
    own.spec()
    own.data(wd.jsonl(wd.SFT_ROW))
    assert run(own)["trainingJobName"] == "demo-exec-1"


def test_concurrent_runs_can_be_allowed(aws):
    aws.identity()
    aws.sm.add_response(
        "describe_model_package_group",
        {
            "ModelPackageGroupName": "demo",
            "ModelPackageGroupArn": wd.GROUP_ARN,
            "CreationTime": "2026-01-01T00:00:00Z",
            "CreatedBy": {},
            "ModelPackageGroupStatus": "Completed",
        },
    )
    aws.hub()
    aws.spec()
    aws.data(wd.jsonl(wd.SFT_ROW))
    run(aws, allowConcurrentRuns=True)
    aws.done()


def test_group_missing(aws):
    aws.identity()
    aws.group(error="ValidationException")
    with pytest.raises(errors.ModelPackageGroupNotFound, match="'demo' does not exist"):
        run(aws)


def test_unsupported_technique(aws):
    aws.identity()
    aws.group()
    aws.hub(wd.hub_content(techniques=("SFT",)))
    with pytest.raises(errors.UnsupportedTechnique, match="no DPO recipe"):
        run(aws, config=wd.config("DPO"))


def test_recipe_spec_unreadable(aws):
    aws.identity()
    aws.group()
    aws.hub()
    aws.spec(error="AccessDenied")
    with pytest.raises(errors.RecipeSpecUnavailable, match="hyperparameter spec s3://"):
        run(aws)


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"learning_rate": 1.0}, errors.HyperparameterOutOfRange),
        ({"lerning_rate": 0.0001}, errors.UnknownHyperparameter),
        ({"max_epochs": "two"}, errors.InvalidHyperparameter),
    ],
)
def test_hyperparameter_errors_from_execution_input(aws, values, error):
    aws.identity()
    aws.group()
    aws.hub()
    aws.spec()
    with pytest.raises(error):
        run(aws, input={"hyperparameters": values})


def test_subscription_spec_keys_become_settable(aws):
    sub_uri = f"s3://{wd.RECIPE_BUCKET}/sub/{{customer_id}}.json"
    recipes = [
        wd.recipe(wd.LLAMA, "SFT"),
        wd.recipe(wd.LLAMA, "SFT", Name="sub", IsSubscriptionModel=True, SmtjOverrideParamsS3Uri=sub_uri),
    ]
    aws.identity()
    aws.group()
    aws.hub(wd.hub_content(recipes=recipes))
    aws.spec()
    sub_spec = b'{"extra_knob": {"default": 5, "type": "integer"}}'
    aws.s3s.add_response(
        "get_object", {"Body": _body(sub_spec)}, {"Bucket": wd.RECIPE_BUCKET, "Key": f"sub/{wd.ACCOUNT}.json"}
    )
    aws.data(wd.jsonl(wd.SFT_ROW))
    out = run(aws, input={"hyperparameters": {"extra_knob": 7}})
    aws.done()
    assert out["request"]["HyperParameters"]["extra_knob"] == "7"
    assert "extra_knob" not in run_defaults_only(recipes)


def run_defaults_only(recipes):
    aws = Aws()
    aws.identity()
    aws.group()
    aws.hub(wd.hub_content(recipes=recipes))
    aws.spec()
    aws.s3s.add_response("get_object", {"Body": _body(b'{"extra_knob": {"default": 5}}')})
    aws.data(wd.jsonl(wd.SFT_ROW))
    return run(aws)["request"]["HyperParameters"]


def test_rlvr_evaluator_must_be_available(aws):
    aws.identity()
    aws.group()
    aws.hub()
    aws.spec(technique="RLVR")
    aws.evaluator(status="Importing")
    with pytest.raises(errors.EvaluatorNotAvailable, match="is Importing, not Available"):
        run(aws, config=wd.config("RLVR"))


def test_rlvr_without_reward(aws):
    aws.identity()
    aws.group()
    aws.hub()
    aws.spec(technique="RLVR")
    with pytest.raises(errors.RewardMissing):
        run(aws, config=wd.config("RLVR", evaluatorArn=None))


def test_rlaif_custom_prompt_evaluator_checked(aws):
    aws.identity()
    aws.group()
    aws.hub()
    aws.spec(technique="RLAIF")
    aws.evaluator(arn=wd.PROMPT_EVALUATOR_ARN)
    aws.data(wd.jsonl(wd.VERL_ROW))
    cfg = wd.config("RLAIF", judgePrompt=None, judgePromptEvaluatorArn=wd.PROMPT_EVALUATOR_ARN)
    out = run(aws, config=cfg)
    assert out["request"]["ServerlessJobConfig"]["EvaluatorArn"] == wd.PROMPT_EVALUATOR_ARN


def test_rlaif_bad_judge(aws):
    aws.identity()
    aws.group()
    aws.hub()
    aws.spec(technique="RLAIF")
    with pytest.raises(errors.InvalidJudgeModel):
        run(aws, config=wd.config("RLAIF", judgeModelId="qwen.qwen3-coder-480b-a35b-v1:0"))


def _package(arn=PACKAGE_ARN, base=wd.LLAMA):
    container = {"Image": "x"}
    if base:
        container["BaseModel"] = {"HubContentName": base, "HubContentVersion": "0.9.0"}
    return {
        "ModelPackageName": "demo",
        "ModelPackageArn": arn,
        "CreationTime": "2026-01-01T00:00:00Z",
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": []},
        "InferenceSpecification": {"Containers": [container]},
    }


def test_continuous_customization_from_latest_approved(aws):
    aws.identity()
    aws.group()
    aws.sm.add_response(
        "list_model_packages",
        {
            "ModelPackageSummaryList": [
                {
                    "ModelPackageArn": PACKAGE_ARN,
                    "CreationTime": "2026-01-01T00:00:00Z",
                    "ModelPackageStatus": "Completed",
                }
            ]
        },
        {
            "ModelPackageGroupName": "demo",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 1,
            "ModelApprovalStatus": "Approved",
        },
    )
    aws.sm.add_response("describe_model_package", _package(), {"ModelPackageName": PACKAGE_ARN})
    aws.hub()  # latest version even though the package was trained on 0.9.0 and the config pins 1.0.0
    aws.spec()
    aws.data(wd.jsonl(wd.SFT_ROW))
    out = run(
        aws, input={"baseModel": "latest", "approvedOnly": True}, acceptEula=False, baseModelVersion="1.0.0"
    )
    aws.done()
    req = out["request"]
    assert req["ModelPackageConfig"]["SourceModelPackageArn"] == PACKAGE_ARN
    assert req["ServerlessJobConfig"]["AcceptEula"] is True


def test_continuous_customization_from_explicit_arn(aws):
    aws.identity()
    aws.group()
    aws.sm.add_response("describe_model_package", _package(base=wd.QWEN), {"ModelPackageName": PACKAGE_ARN})
    aws.hub(model=wd.QWEN)
    aws.spec(model=wd.QWEN)
    aws.data(wd.jsonl(wd.SFT_ROW))
    req = run(aws, input={"baseModel": PACKAGE_ARN})["request"]
    assert req["Tags"][0]["Value"] == wd.QWEN
    assert f"/Model/{wd.QWEN}/" in req["ServerlessJobConfig"]["BaseModelArn"]


def test_first_round_of_continuous_customization_trains_the_hub_base_model(aws):
    aws.identity()
    aws.group()
    aws.sm.add_response("list_model_packages", {"ModelPackageSummaryList": []})
    aws.hub()
    aws.spec()
    aws.data(wd.jsonl(wd.SFT_ROW))
    req = run(aws, input={"baseModel": "latest"})["request"]
    aws.done()
    assert "SourceModelPackageArn" not in req["ModelPackageConfig"]
    assert f"/Model/{wd.LLAMA}/" in req["ServerlessJobConfig"]["BaseModelArn"]


def test_continuous_customization_errors(aws):
    other = Aws()
    other.identity()
    other.group()
    other.sm.add_response("describe_model_package", _package(base=None))
    with pytest.raises(errors.ModelNotFound, match="only allowed on model packages"):
        run(other, input={"baseModel": PACKAGE_ARN})


def test_dataset_arn_is_checked_through_its_document(aws):
    aws.identity()
    aws.group()
    aws.hub()
    aws.spec()
    doc = {"DatasetS3Bucket": "reg-bucket", "DatasetS3Prefix": "ds/train.jsonl"}
    aws.sm.add_response(
        "describe_hub_content", _hub_content_response(wd.DATASET_ARN, "DataSet", "Available", doc)
    )
    aws.data(wd.jsonl(wd.SFT_ROW), bucket="reg-bucket", key="ds/train.jsonl")
    out = run(aws, trainUri=wd.DATASET_ARN)
    assert out["request"]["InputDataConfig"][0]["DataSource"] == {
        "DatasetSource": {"DatasetArn": wd.DATASET_ARN}
    }
    assert out["dataFormats"]["train"] == "open_weights_sft"


def test_access_denied_is_aws_error(aws):
    aws.identity()
    aws.group(error="AccessDeniedException")
    with pytest.raises(errors.AwsError, match="DescribeModelPackageGroup failed: AccessDeniedException"):
        run(aws)


@pytest.mark.parametrize(
    "event",
    [[1, 2], "text", {"input": {}}, {"executionName": "x", "input": {"bogus": 1}}, {"action": "dance"}],
)
def test_malformed_events_raise_invalid_input(aws, monkeypatch, event):
    monkeypatch.setenv("WORKFLOW_CONFIG", json.dumps(wd.config()))
    aws.identity()
    with pytest.raises(errors.InvalidInput):
        preflight.handler(event, None, aws.clients)


def test_handler_config_problems_and_bugs_are_named(aws, monkeypatch):
    monkeypatch.setenv("WORKFLOW_CONFIG", "{oops")
    with pytest.raises(errors.InvalidInput, match="WORKFLOW_CONFIG is not valid JSON"):
        preflight.handler({"executionName": "x"}, None, aws.clients)
    monkeypatch.setenv("WORKFLOW_CONFIG", json.dumps(wd.config()))
    monkeypatch.setattr(preflight, "plan", lambda *a, **k: {}["boom"])
    with pytest.raises(errors.PreflightError, match="internal error: KeyError") as info:
        preflight.handler({"executionName": "x"}, None, aws.clients)
    assert type(info.value).__name__ == "PreflightError"


def test_handler_success(aws, monkeypatch):
    monkeypatch.setenv("WORKFLOW_CONFIG", json.dumps(wd.config()))
    aws.happy()
    out = preflight.handler({"executionName": "abc", "input": None}, None, aws.clients)
    json.dumps(out)  # the Lambda answer must be JSON
    assert out["trainingJobName"] == "demo-abc"


def test_job_result_fills_nulls_and_reason(aws):
    base = {
        "TrainingJobName": "demo-abc",
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/demo-abc",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://x"},
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ResourceConfig": {"VolumeSizeInGB": 1},
        "StoppingCondition": {},
        "CreationTime": "2026-01-01T00:00:00Z",
        "SecondaryStatus": "Stopped",
    }
    aws.sm.add_response("describe_training_job", {**base, "TrainingJobStatus": "Stopped"})
    out = preflight.handler({"action": "result", "trainingJobName": "demo-abc"}, None, aws.clients)
    assert out["failureReason"] == "the training job is Stopped"
    assert out["outputModelPackageArn"] is None and out["mlflowRunId"] is None
    aws.sm.add_response(
        "describe_training_job",
        {
            **base,
            "TrainingJobStatus": "Completed",
            "OutputModelPackageArn": PACKAGE_ARN,
            "BillableTokenCount": 42,
            "MlflowDetails": {"MlflowRunId": "run-9"},
        },
    )
    out = preflight.handler({"action": "result", "trainingJobName": "demo-abc"}, None, aws.clients)
    assert (out["status"], out["outputModelPackageArn"], out["billableTokenCount"], out["mlflowRunId"]) == (
        "Completed",
        PACKAGE_ARN,
        42,
        "run-9",
    )
    assert out["failureReason"] == ""
