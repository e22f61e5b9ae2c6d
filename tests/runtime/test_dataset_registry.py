"""Lineage: the training object registered as an AI Registry DataSet version (botocore Stubber, the real SDK).

The ``ImportHubContent`` request is compared with what the SageMaker SDK v3's ``DataSet.create`` sends for the
same inputs (offline, every call answered by the notebook tests' fake AWS); registration, idempotency, the
bounded wait and AWS faults run on Stubber-wrapped clients (requests validated against the botocore model).
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from cdk_sagemaker_finetuning.runtime import dataset_registry as registry
from cdk_sagemaker_finetuning.runtime import errors, hub_evaluator, preflight, retry
from tests import workflow_data as wd
from tests.notebook.fake_aws import FakeAws
from tests.runtime.test_preflight import Aws

HUB = hub_evaluator.ai_registry_hub_name(wd.REGION, wd.ACCOUNT)
NAME = "demo-train"
TRAIN = "s3://demo-data/round-2/train.jsonl"
CONFIG = wd.config(trainUri=TRAIN, registerDataset={"name": NAME, "hubName": None})
DOCUMENT = registry.document("demo-data", "round-2/train.jsonl", wd.ROLE_ARN)
PACKAGE_ARN = f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:model-package/demo/7"


def arn(version: str) -> str:
    return f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:hub-content/{HUB}/DataSet/{NAME}/{version}"


def content(version: str, status: str = "Available", document: str = DOCUMENT, **extra) -> dict:
    return {
        "HubContentName": NAME,
        "HubContentArn": arn(version),
        "HubContentVersion": version,
        "HubContentType": "DataSet",
        "DocumentSchemaVersion": "2.0.0",
        "HubName": HUB,
        "HubArn": f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:hub/{HUB}",
        "HubContentDocument": document,
        "HubContentStatus": status,
        "CreationTime": "2026-11-01T00:00:00Z",
        **extra,
    }


class Registry:
    """A Stubber-wrapped SageMaker client with the registration's calls queued in order."""

    def __init__(self) -> None:
        self.client = boto3.client("sagemaker", region_name=wd.REGION)
        self.stub = Stubber(self.client)
        self.stub.activate()

    def hub(self, status: str = "InService") -> None:
        self.stub.add_response(
            "describe_hub",
            {
                "HubName": HUB,
                "HubArn": f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:hub/{HUB}",
                "HubDescription": "AI Registry Hub",
                "HubStatus": status,
                "CreationTime": "2026-11-01T00:00:00Z",
                "LastModifiedTime": "2026-11-01T00:00:00Z",
            },
            {"HubName": HUB},
        )

    def latest(self, answer: dict | None = None, error: str = "ResourceNotFound") -> None:
        params = {"HubName": HUB, "HubContentType": "DataSet", "HubContentName": NAME}
        if answer is None:
            self.stub.add_client_error(
                "describe_hub_content", error, "no such content", expected_params=params
            )
        else:
            self.stub.add_response("describe_hub_content", answer, params)

    def imports(self, version: str, error: str | None = None, technique: str = "SFT") -> dict:
        params = registry.import_request(
            hub=HUB, name=NAME, version=version, source=TRAIN, role_arn=wd.ROLE_ARN, technique=technique
        )
        if error:
            self.stub.add_client_error("import_hub_content", error, "scripted", expected_params=params)
        else:
            self.stub.add_response(
                "import_hub_content",
                {
                    "HubArn": f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:hub/{HUB}",
                    "HubContentArn": arn(version),
                },
                params,
            )
        return params

    def version(self, version: str, status: str, **extra) -> None:
        params = {
            "HubName": HUB,
            "HubContentType": "DataSet",
            "HubContentName": NAME,
            "HubContentVersion": version,
        }
        self.stub.add_response("describe_hub_content", content(version, status, **extra), params)

    def register(self, config: dict = CONFIG) -> dict:
        return registry.register(self.client, config, TRAIN, region=wd.REGION, account=wd.ACCOUNT)

    def done(self) -> None:
        self.stub.assert_no_pending_responses()


@pytest.fixture
def reg(monkeypatch):
    monkeypatch.setattr(registry, "sleep", lambda seconds: None)
    monkeypatch.setattr(hub_evaluator, "sleep", lambda seconds: None)
    monkeypatch.setattr(retry, "_sleep", lambda seconds: None)
    return Registry()


# -- the request, against the SDK --------------------------------------------------------------------------


@pytest.mark.parametrize("technique", ["SFT", "DPO", "RLVR", "RLAIF"])
def test_import_request_is_what_the_sdk_dataset_create_sends(technique, monkeypatch):
    from sagemaker.ai_registry.air_hub import AIRHub
    from sagemaker.ai_registry.dataset import DataSet
    from sagemaker.ai_registry.dataset_utils import CustomizationTechnique
    from sagemaker.core.helper.session_helper import Session

    fake = FakeAws(models=(), data={TRAIN: wd.jsonl(wd.ROWS[technique])}).install(monkeypatch)
    fake.datasets[NAME] = {"3.0.0": {"DocumentSchemaVersion": "2.0.0", "HubContentDocument": "{}"}}
    monkeypatch.delattr(AIRHub, "hubName", raising=False)  # the SDK names the hub from STS and the region
    sdk_technique = CustomizationTechnique(technique.lower()) if technique != "RLAIF" else None
    DataSet.create(
        name=NAME,
        source=TRAIN,
        customization_technique=sdk_technique,
        role=wd.ROLE_ARN,
        wait=False,
        sagemaker_session=Session(boto3.Session(region_name=wd.REGION)),
    )
    (sent,) = fake.requests("ImportHubContent")
    assert sent == registry.import_request(
        hub=HUB, name=NAME, version="4.0.0", source=TRAIN, role_arn=wd.ROLE_ARN, technique=technique
    )
    assert fake.requests("DescribeHub") == [{"HubName": HUB}]


def test_document_and_keywords_are_the_sdks_bytes():
    assert DOCUMENT == (
        '{"DatasetType": "CUSTOMER_PROVIDED", "DatasetRoleArn": "' + wd.ROLE_ARN + '", "DatasetS3Bucket": '
        '"demo-data", "DatasetS3Prefix": "round-2/train.jsonl", "DatasetContextS3Uri": "\\"\\"", '
        '"ConversationId": "default-conversation", "ConversationCheckpointId": "default-checkpoint", '
        '"Dependencies": []}'
    )
    assert registry.search_keywords("DPO") == ["method:generated", "customization_technique:dpo"]
    assert registry.search_keywords("RLAIF") == ["method:generated"]


@pytest.mark.parametrize(
    "source", ["s3://demo-data/round-2/", "s3://demo-data/train.csv", "s3://demo-data/.jsonl", wd.DATASET_ARN]
)
def test_only_one_jsonl_object_can_be_registered(source):
    with pytest.raises(errors.InvalidInput, match="one .jsonl object") as info:
        registry.check_source(source, "input.trainUri")
    assert info.value.field == "input.trainUri"


# -- registration ------------------------------------------------------------------------------------------


def test_new_name_imports_1_0_0_and_waits_until_available(reg):
    reg.hub()
    reg.latest(None)
    sent = reg.imports("1.0.0")
    reg.version("1.0.0", "Importing")
    reg.version("1.0.0", "Available")
    out = reg.register()
    reg.done()
    assert out == {
        "arn": arn("1.0.0"),
        "version": "1.0.0",
        "created": True,
        "request": sent,
        "hubName": HUB,
        "name": NAME,
    }


def test_next_major_version_after_the_latest(reg):
    reg.hub()
    reg.latest(content("3.2.1", document=registry.document("demo-data", "round-1/train.jsonl", wd.ROLE_ARN)))
    reg.imports("4.0.0")
    reg.version("4.0.0", "Available")
    assert reg.register()["arn"] == arn("4.0.0")
    reg.done()


@pytest.mark.parametrize("status", ["Available", "Importing", "PendingImport"])
def test_a_retried_run_reuses_the_version_with_its_document(reg, status):
    reg.hub()
    reg.latest(content("4.0.0", status))
    reg.version("4.0.0", "Available")
    out = reg.register()
    reg.done()  # no ImportHubContent was queued, so none was sent
    assert (out["arn"], out["created"], out["request"]) == (arn("4.0.0"), False, None)


def test_a_failed_version_with_the_same_document_is_imported_again(reg):
    reg.hub()
    reg.latest(content("4.0.0", "ImportFailed"))
    reg.imports("5.0.0")
    reg.version("5.0.0", "Available")
    assert reg.register()["version"] == "5.0.0"
    reg.done()


def test_a_concurrent_import_of_the_same_version_is_looked_up_again(reg):
    reg.hub()
    reg.latest(None)
    reg.imports("1.0.0", error="ResourceInUse")
    reg.latest(content("1.0.0", "Importing"))  # the other run imported the same object
    reg.version("1.0.0", "Available")
    out = reg.register()
    reg.done()
    assert (out["version"], out["created"]) == ("1.0.0", False)


def test_missing_ai_registry_hub_is_created_as_the_sdk_does(reg):
    reg.stub.add_client_error("describe_hub", "ResourceNotFound", "no hub", expected_params={"HubName": HUB})
    reg.stub.add_response(
        "create_hub",
        {"HubArn": f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:hub/{HUB}"},
        {
            "HubName": HUB,
            "HubDescription": "AI Registry Hub",
            "HubDisplayName": f"AiRegistry-{wd.REGION}-{wd.ACCOUNT}",
        },
    )
    reg.hub("InService")
    reg.latest(None)
    reg.imports("1.0.0")
    reg.version("1.0.0", "Available")
    assert reg.register()["created"] is True
    reg.done()


def test_a_hub_still_creating_is_retried_later(reg):
    reg.hub("Creating")
    for _ in range(registry.HUB_POLLS):
        reg.hub("Creating")
    with pytest.raises(errors.DatasetImporting, match="still Creating"):
        reg.register()


def test_import_failed_is_a_structured_error_with_the_reason(reg):
    reg.hub()
    reg.latest(None)
    reg.imports("1.0.0")
    reg.version("1.0.0", "ImportFailed", FailureReason="DatasetRoleArn cannot read s3://demo-data")
    with pytest.raises(errors.DatasetImportFailed, match="DatasetRoleArn cannot read") as info:
        reg.register()
    assert info.value.field == "data.register_dataset"
    assert info.value.error_name == "PreflightError.DatasetImportFailed"


def test_still_importing_after_the_bounded_wait_asks_for_a_retry(reg, monkeypatch):
    now = iter(range(0, 1000, 7))
    monkeypatch.setattr(registry, "clock", lambda: float(next(now)))
    reg.hub()
    reg.latest(None)
    reg.imports("1.0.0")
    for _ in range(2):  # polled at 0 s and 7 s; at 14 s the next poll would end after the 15 s budget
        reg.version("1.0.0", "Importing")
    with pytest.raises(errors.DatasetImporting, match="still Importing after 15 s"):
        reg.register()
    reg.done()


def test_throttling_is_retried_and_access_denied_is_an_aws_error(reg):
    reg.hub()
    reg.latest(None, error="ThrottlingException")
    reg.latest(None)
    reg.imports("1.0.0", error="AccessDeniedException")
    with pytest.raises(errors.AwsError, match="registering dataset 'demo-train'.*AccessDeniedException"):
        reg.register()
    reg.done()


# -- in the preflight ----------------------------------------------------------------------------------------


def _preflight_aws(key: str = "round-2/train.jsonl") -> Aws:
    aws = Aws()
    aws.identity()
    aws.group()
    aws.hub()
    aws.spec()
    aws.data(wd.jsonl(wd.ROWS["SFT"]), key=key)
    return aws


def test_the_lambda_checks_the_object_then_trains_from_its_dataset_arn(monkeypatch):
    monkeypatch.setattr(registry, "sleep", lambda seconds: None)
    aws = _preflight_aws()
    stubbed = Registry.__new__(Registry)
    stubbed.client, stubbed.stub = aws.sagemaker, aws.sm
    stubbed.hub()
    stubbed.latest(None)
    stubbed.imports("1.0.0")
    stubbed.version("1.0.0", "Available")
    out = preflight.plan(CONFIG, {"executionName": "round-2", "input": None}, aws.clients, register=True)
    aws.done()
    assert out["request"]["InputDataConfig"] == [
        {"ChannelName": "train", "DataSource": {"DatasetSource": {"DatasetArn": arn("1.0.0")}}}
    ]
    assert out["dataFormats"] == {"train": "open_weights_sft"}  # the S3 object was checked first
    assert out["dataset"]["arn"] == arn("1.0.0")
    json.dumps(out)  # the Lambda answer


def test_a_dry_run_shows_the_import_without_calling_it():
    aws = _preflight_aws()
    out = preflight.plan(CONFIG, {"executionName": "plan-1", "input": None}, aws.clients)
    aws.done()  # no registry call was queued
    train = out["request"]["InputDataConfig"][0]["DataSource"]
    assert train == {"DatasetSource": {"DatasetArn": registry.PLACEHOLDER_ARN}}
    assert out["dataset"]["request"]["HubName"] == HUB
    assert out["dataset"]["request"]["HubContentVersion"] == "<latest major + 1>.0.0"


def _lookups_only() -> Aws:
    """The lookups of a preflight without checks (``check=False``: no job listing, no data reads)."""
    aws = Aws()
    aws.identity()
    aws.sm.add_response(
        "describe_model_package_group",
        {
            "ModelPackageGroupName": wd.GROUP_NAME,
            "ModelPackageGroupArn": wd.GROUP_ARN,
            "CreationTime": "2026-01-01T00:00:00Z",
            "CreatedBy": {},
            "ModelPackageGroupStatus": "Completed",
        },
    )
    aws.hub()
    aws.spec()
    return aws


def test_an_input_prefix_cannot_be_registered():
    aws = _lookups_only()
    with pytest.raises(errors.InvalidInput, match="one .jsonl object") as info:
        preflight.plan(
            CONFIG,
            {"executionName": "x", "input": {"trainUri": "s3://demo-data/round-3/"}},
            aws.clients,
            check=False,
        )
    assert info.value.field == "input.trainUri"


def test_a_dataset_arn_input_is_trained_from_as_is():
    aws = _lookups_only()
    out = preflight.plan(
        CONFIG, {"executionName": "x", "input": {"trainUri": wd.DATASET_ARN}}, aws.clients, check=False
    )
    assert out["request"]["InputDataConfig"][0]["DataSource"] == {
        "DatasetSource": {"DatasetArn": wd.DATASET_ARN}
    }
    assert "dataset" not in out


# -- lineage on the package ----------------------------------------------------------------------------------


def _finished_job(**extra) -> dict:
    return {
        "TrainingJobName": "demo-round-2",
        "TrainingJobArn": f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:training-job/demo-round-2",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://demo-output/out/model"},
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ResourceConfig": {"VolumeSizeInGB": 1},
        "StoppingCondition": {},
        "CreationTime": "2026-11-01T00:00:00Z",
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "OutputModelPackageArn": PACKAGE_ARN,
        "InputDataConfig": [
            {"ChannelName": "train", "DataSource": {"DatasetSource": {"DatasetArn": arn("1.0.0")}}},
            {
                "ChannelName": "validation",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://demo-data/val.jsonl"}
                },
            },
        ],
        "ServerlessJobConfig": {
            "JobType": "FineTuning",
            "BaseModelArn": f"{wd.PUBLIC_MODEL_ARN}/{wd.LLAMA}/1.2.3",
            "CustomizationTechnique": "SFT",
        },
        "ModelPackageConfig": {"ModelPackageGroupArn": wd.GROUP_ARN},
        **extra,
    }


LINEAGE = {
    "lineage:train-data": arn("1.0.0"),
    "lineage:validation-data": "s3://demo-data/val.jsonl",
    "lineage:base-model": f"{wd.PUBLIC_MODEL_ARN}/{wd.LLAMA}/1.2.3",
    "lineage:training-job": f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:training-job/demo-round-2",
}


def test_the_result_records_what_the_job_trained_on_the_package(monkeypatch):
    monkeypatch.setenv("WORKFLOW_CONFIG", json.dumps(CONFIG))
    aws = Aws()
    aws.sm.add_response("describe_training_job", _finished_job(), {"TrainingJobName": "demo-round-2"})
    aws.sm.add_response(
        "update_model_package",
        {"ModelPackageArn": PACKAGE_ARN},
        {"ModelPackageArn": PACKAGE_ARN, "CustomerMetadataProperties": LINEAGE},
    )
    out = preflight.handler({"action": "result", "trainingJobName": "demo-round-2"}, None, aws.clients)
    aws.done()
    assert (out["status"], out["outputModelPackageArn"]) == ("Completed", PACKAGE_ARN)


def test_lineage_keeps_the_source_package_and_leaves_out_values_the_api_refuses():
    job = _finished_job(
        ModelPackageConfig={"ModelPackageGroupArn": wd.GROUP_ARN, "SourceModelPackageArn": PACKAGE_ARN}
    )
    job["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3Uri"] = "s3://demo-data/val (copy)#1.jsonl"
    props = registry.lineage_properties(job)
    assert props["lineage:source-model-package"] == PACKAGE_ARN
    assert "lineage:validation-data" not in props  # '(' and '#' are not allowed in metadata values


def test_lineage_that_cannot_be_written_fails_the_result_with_a_named_error(monkeypatch):
    monkeypatch.setenv("WORKFLOW_CONFIG", json.dumps(CONFIG))
    monkeypatch.setattr(retry, "_sleep", lambda seconds: None)
    aws = Aws()
    aws.sm.add_response("describe_training_job", _finished_job())
    aws.sm.add_client_error("update_model_package", "AccessDeniedException", "not allowed")
    with pytest.raises(errors.AwsError, match=r"UpdateModelPackage .*model-package/demo/7 \(lineage\)"):
        preflight.handler({"action": "result", "trainingJobName": "demo-round-2"}, None, aws.clients)


def test_without_lineage_the_result_writes_nothing(monkeypatch):
    monkeypatch.setenv("WORKFLOW_CONFIG", json.dumps(wd.config()))
    aws = Aws()
    aws.sm.add_response("describe_training_job", _finished_job())
    preflight.handler({"action": "result", "trainingJobName": "demo-round-2"}, None, aws.clients)
    aws.done()  # no UpdateModelPackage queued: a call would have failed the Stubber


def test_a_given_hub_must_exist_and_is_never_created(reg):
    config = {**CONFIG, "registerDataset": {"name": NAME, "hubName": "team-hub"}}
    reg.stub.add_client_error(
        "describe_hub", "ResourceNotFound", "no hub", expected_params={"HubName": "team-hub"}
    )
    with pytest.raises(errors.DatasetImportFailed, match="hub 'team-hub' does not exist"):
        reg.register(config)
    reg.done()  # no CreateHub was queued, so none was sent


def test_a_lost_connection_is_retried_then_an_aws_error(monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    monkeypatch.setattr(retry, "_sleep", lambda seconds: None)
    calls = []

    class Unreachable:
        def describe_hub(self, **params):
            calls.append(params)
            raise EndpointConnectionError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com")

    with pytest.raises(errors.AwsError, match="Could not connect to the endpoint URL"):
        registry.register(Unreachable(), CONFIG, TRAIN, region=wd.REGION, account=wd.ACCOUNT)
    assert len(calls) == retry.ATTEMPTS
