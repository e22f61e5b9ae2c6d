"""Hub evaluator custom resource: exact SageMaker requests (botocore Stubber) for every lifecycle path, and the
ImportHubContent request byte-for-byte equal to the one the SageMaker SDK's ``Evaluator.create`` sends."""

from __future__ import annotations

import datetime
import json
from types import SimpleNamespace
from unittest import mock

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from cdk_sagemaker_finetuning.runtime import hub_evaluator as he

ACCOUNT = "123456789012"
REGION = "us-east-1"
CONTEXT = SimpleNamespace(invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:SageMaker-cr-onEvent")
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:SageMaker-reward-demo"
REGISTRY = he.ai_registry_hub_name(REGION, ACCOUNT)
NAME = "demo-reward"


def content_arn(version: str, hub: str = REGISTRY, name: str = NAME) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/{hub}/JsonDoc/{name}/{version}"


PROPS = {"ServiceToken": "arn:x", "EvaluatorName": NAME, "EvaluatorType": "RewardFunction", "Reference": FUNCTION_ARN,
         "RetainOnDelete": "true"}
DOCUMENT = ('{"SubType": "AWS/Evaluator", "JsonContent": "{\\"Reference\\": \\"' + FUNCTION_ARN
            + '\\", \\"EvaluatorType\\": \\"RewardFunction\\"}"}')
KEYWORDS = ["method:lambda", "@subtype:aws/evaluator", "@evaluatortype:rewardfunction", "@contenttype:byolambda"]


@pytest.fixture
def stub(monkeypatch):
    client = boto3.client("sagemaker", region_name=REGION)
    monkeypatch.setattr(he, "_client", client)
    monkeypatch.setenv("AWS_REGION", REGION)
    sleeps: list[float] = []
    monkeypatch.setattr(he, "sleep", sleeps.append)
    with Stubber(client) as stubber:
        stubber.sleeps = sleeps
        yield stubber
        stubber.assert_no_pending_responses()


def not_found(stubber: Stubber, operation: str, params: dict) -> None:
    stubber.add_client_error(operation, "ResourceNotFound", "not found", 400, expected_params=params)


def hub_in_service(stubber: Stubber, hub: str = REGISTRY) -> None:
    stubber.add_response("describe_hub", hub_description(hub, "InService"), {"HubName": hub})


def hub_description(hub: str, status: str) -> dict:
    now = datetime.datetime(2026, 1, 1)
    return {"HubName": hub, "HubArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub/{hub}", "HubStatus": status,
            "CreationTime": now, "LastModifiedTime": now}


def latest(stubber: Stubber, version: str | None, hub: str = REGISTRY) -> None:
    params = {"HubName": hub, "HubContentType": "JsonDoc", "HubContentName": NAME}
    if version is None:
        not_found(stubber, "describe_hub_content", params)
    else:
        stubber.add_response("describe_hub_content", content_description(version, "Available", hub), params)


def content_description(version: str, status: str, hub: str = REGISTRY, **extra) -> dict:
    now = datetime.datetime(2026, 1, 1)
    return {"HubContentName": NAME, "HubContentArn": content_arn(version, hub), "HubContentVersion": version,
            "HubContentType": "JsonDoc", "DocumentSchemaVersion": "2.0.0", "HubName": hub,
            "HubArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub/{hub}", "HubContentDocument": DOCUMENT,
            "HubContentStatus": status, "CreationTime": now, **extra}


def expect_import(stubber: Stubber, version: str, hub: str = REGISTRY, keywords: list[str] = KEYWORDS,
                  document: str = DOCUMENT) -> None:
    stubber.add_response(
        "import_hub_content",
        {"HubArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub/{hub}", "HubContentArn": content_arn(version, hub)},
        {"HubName": hub, "HubContentType": "JsonDoc", "HubContentName": NAME, "HubContentVersion": version,
         "DocumentSchemaVersion": "2.0.0", "HubContentDocument": document, "HubContentSearchKeywords": keywords},
    )


def test_ai_registry_hub_name_matches_the_documented_example():
    assert he.ai_registry_hub_name("us-west-2", ACCOUNT) == "9IVHFNP5DC9J8QGIQ193ESR91NUC4JAR4I5AJ4H7K80LM5BEHKM0"


def test_create_with_missing_hub_creates_it_waits_and_imports_1_0_0(stub):
    not_found(stub, "describe_hub", {"HubName": REGISTRY})
    stub.add_response("create_hub", {"HubArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub/{REGISTRY}"},
                      {"HubName": REGISTRY, "HubDescription": "AI Registry Hub",
                       "HubDisplayName": f"AiRegistry-{REGION}-{ACCOUNT}"})
    stub.add_response("describe_hub", hub_description(REGISTRY, "Creating"), {"HubName": REGISTRY})
    hub_in_service(stub)
    latest(stub, None)
    expect_import(stub, "1.0.0")
    result = he.on_event({"RequestType": "Create", "ResourceProperties": PROPS}, CONTEXT)
    assert result == {"PhysicalResourceId": content_arn("1.0.0"),
                      "Data": {"Arn": content_arn("1.0.0"), "Version": "1.0.0", "HubName": REGISTRY, "Name": NAME}}
    assert len(stub.sleeps) == 2


def test_create_with_existing_hub_and_versions_imports_next_major(stub):
    hub_in_service(stub)
    latest(stub, "3.2.1")
    expect_import(stub, "4.0.0")
    result = he.on_event({"RequestType": "Create", "ResourceProperties": PROPS}, CONTEXT)
    assert result["PhysicalResourceId"] == content_arn("4.0.0")


def test_given_hub_is_used_and_never_created(stub):
    hub_in_service(stub, "team-hub")
    latest(stub, None, hub="team-hub")
    expect_import(stub, "1.0.0", hub="team-hub")
    result = he.on_event({"RequestType": "Create", "ResourceProperties": {**PROPS, "HubName": "team-hub"}}, CONTEXT)
    assert result["Data"]["HubName"] == "team-hub"


def test_missing_given_hub_fails_with_a_clear_reason(stub):
    not_found(stub, "describe_hub", {"HubName": "team-hub"})
    with pytest.raises(RuntimeError, match="hub 'team-hub' does not exist"):
        he.on_event({"RequestType": "Create", "ResourceProperties": {**PROPS, "HubName": "team-hub"}}, CONTEXT)


def test_reward_prompt_with_domain_keywords(stub):
    uri = "s3://cdk-assets/abc.jinja"
    hub_in_service(stub)
    latest(stub, None)
    document = '{"SubType": "AWS/Evaluator", "JsonContent": "{\\"Reference\\": \\"' + uri + (
        '\\", \\"EvaluatorType\\": \\"RewardPrompt\\"}"}')
    expect_import(stub, "1.0.0", document=document, keywords=[
        "@subtype:aws/evaluator", "@evaluatortype:rewardprompt", "@contenttype:byocode", "@domain:d-abc"])
    props = {**PROPS, "EvaluatorType": "RewardPrompt", "Reference": uri, "DomainId": "d-abc"}
    he.on_event({"RequestType": "Create", "ResourceProperties": props}, CONTEXT)


def test_update_imports_a_new_version_with_a_new_physical_id(stub):
    hub_in_service(stub)
    latest(stub, "1.0.0")
    expect_import(stub, "2.0.0", keywords=[*KEYWORDS, "@domain:d-new"])
    event = {"RequestType": "Update", "ResourceProperties": {**PROPS, "DomainId": "d-new"},
             "OldResourceProperties": PROPS, "PhysicalResourceId": content_arn("1.0.0")}
    assert he.on_event(event, CONTEXT)["PhysicalResourceId"] == content_arn("2.0.0")


def test_update_of_retention_only_keeps_the_version(stub):
    event = {"RequestType": "Update", "ResourceProperties": {**PROPS, "RetainOnDelete": "false"},
             "OldResourceProperties": PROPS, "PhysicalResourceId": content_arn("2.0.0")}
    assert he.on_event(event, CONTEXT) == {
        "PhysicalResourceId": content_arn("2.0.0"),
        "Data": {"Arn": content_arn("2.0.0"), "Version": "2.0.0", "HubName": REGISTRY, "Name": NAME},
    }


def test_delete_retains_by_default(stub):
    event = {"RequestType": "Delete", "ResourceProperties": PROPS, "PhysicalResourceId": content_arn("2.0.0")}
    assert he.on_event(event, CONTEXT) == {"PhysicalResourceId": content_arn("2.0.0")}


def test_delete_removes_only_its_version_when_asked(stub):
    stub.add_response("delete_hub_content", {}, {"HubName": REGISTRY, "HubContentType": "JsonDoc",
                                                 "HubContentName": NAME, "HubContentVersion": "2.0.0"})
    event = {"RequestType": "Delete", "ResourceProperties": {**PROPS, "RetainOnDelete": "false"},
             "PhysicalResourceId": content_arn("2.0.0")}
    assert he.on_event(event, CONTEXT) == {"PhysicalResourceId": content_arn("2.0.0")}


def test_delete_of_a_missing_version_succeeds(stub):
    not_found(stub, "delete_hub_content", {"HubName": REGISTRY, "HubContentType": "JsonDoc",
                                           "HubContentName": NAME, "HubContentVersion": "2.0.0"})
    event = {"RequestType": "Delete", "ResourceProperties": {**PROPS, "RetainOnDelete": "false"},
             "PhysicalResourceId": content_arn("2.0.0")}
    he.on_event(event, CONTEXT)


def test_delete_after_a_failed_create_makes_no_call(stub):
    event = {"RequestType": "Delete", "ResourceProperties": {**PROPS, "RetainOnDelete": "false"},
             "PhysicalResourceId": "2026-01-01-failed-create-id"}
    he.on_event(event, CONTEXT)


def describe_version(stubber: Stubber, status: str, **extra) -> None:
    stubber.add_response("describe_hub_content", content_description("1.0.0", status, **extra),
                         {"HubName": REGISTRY, "HubContentType": "JsonDoc", "HubContentName": NAME,
                          "HubContentVersion": "1.0.0"})


@pytest.mark.parametrize(("status", "complete"), [("Importing", False), ("PendingImport", False),
                                                  ("Available", True)])
def test_is_complete_waits_for_available(stub, status, complete):
    describe_version(stub, status)
    event = {"RequestType": "Create", "PhysicalResourceId": content_arn("1.0.0"), "ResourceProperties": PROPS}
    assert he.is_complete(event, CONTEXT) == {"IsComplete": complete}


def test_import_failed_fails_with_the_service_reason(stub):
    describe_version(stub, "ImportFailed", FailureReason="Reference is not a valid Lambda ARN")
    event = {"RequestType": "Update", "PhysicalResourceId": content_arn("1.0.0"), "ResourceProperties": PROPS}
    with pytest.raises(RuntimeError, match="failed: Reference is not a valid Lambda ARN"):
        he.is_complete(event, CONTEXT)


def test_is_complete_for_delete_makes_no_call(stub):
    assert he.is_complete({"RequestType": "Delete", "PhysicalResourceId": "x"}, CONTEXT) == {"IsComplete": True}


def test_throttling_is_retried_with_backoff(stub):
    hub_in_service(stub)
    latest(stub, None)
    stub.add_client_error("import_hub_content", "ThrottlingException", "Rate exceeded", 400)
    stub.add_client_error("import_hub_content", "ThrottlingException", "Rate exceeded", 400)
    expect_import(stub, "1.0.0")
    he.on_event({"RequestType": "Create", "ResourceProperties": PROPS}, CONTEXT)
    assert stub.sleeps == [1, 2]


def test_persistent_throttling_surfaces(stub):
    for _ in range(he.ATTEMPTS):
        stub.add_client_error("describe_hub", "ThrottlingException", "Rate exceeded", 400)
    with pytest.raises(ClientError, match="ThrottlingException"):
        he.on_event({"RequestType": "Create", "ResourceProperties": PROPS}, CONTEXT)
    assert len(stub.sleeps) == he.ATTEMPTS - 1


def test_other_errors_are_not_retried(stub):
    stub.add_client_error("describe_hub", "AccessDeniedException", "no", 400)
    with pytest.raises(ClientError, match="AccessDenied"):
        he.on_event({"RequestType": "Create", "ResourceProperties": PROPS}, CONTEXT)
    assert stub.sleeps == []


@pytest.mark.parametrize(
    ("props", "message"),
    [({"EvaluatorName": "bad_name"}, "EvaluatorName 'bad_name'"), ({"EvaluatorType": "Judge"}, "EvaluatorType"),
     ({"Reference": ""}, "Reference")],
)
def test_invalid_properties_fail_before_any_call(stub, props, message):
    with pytest.raises(ValueError, match=message):
        he.on_event({"RequestType": "Create", "ResourceProperties": {**PROPS, **props}}, CONTEXT)


# -- byte-for-byte parity with the SageMaker SDK ----------------------------------------------------------


def sdk_import_request(name: str, evaluator_type: str, source: str, domain_id: str | None) -> dict:
    """Run the SDK's ``Evaluator.create`` offline and return the ImportHubContent parameters it sent."""
    captured: dict = {}

    def fake(self, operation, params):
        if operation == "GetCallerIdentity":
            return {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/dev", "UserId": "dev"}
        if operation == "DescribeHub":
            return hub_description(params["HubName"], "InService")
        if operation == "DescribeHubContent":
            if "request" not in captured:
                raise ClientError({"Error": {"Code": "ResourceNotFound", "Message": "nf"}}, operation)
            return {**content_description("1.0.0", "Importing"), "LastModifiedTime": datetime.datetime(2026, 1, 1)}
        if operation == "ImportHubContent":
            captured["request"] = params
            return {"HubArn": "arn", "HubContentArn": content_arn("1.0.0")}
        if operation == "GetRole":
            trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                                    "Action": "sts:AssumeRole"}]}
            return {"Role": {"RoleName": "dev", "Arn": f"arn:aws:iam::{ACCOUNT}:role/dev", "Path": "/",
                             "RoleId": "AROAEXAMPLEEXAMPLE", "CreateDate": datetime.datetime(2026, 1, 1),
                             "AssumeRolePolicyDocument": json.dumps(trust)}}
        return {}

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", fake):
        from sagemaker.ai_registry.evaluator import Evaluator

        Evaluator.create(name=name, type=evaluator_type, source=source, wait=False, domain_id=domain_id,
                         role=f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole")
    return captured["request"]


@pytest.mark.parametrize(
    ("evaluator_type", "source", "domain_id"),
    [("RewardFunction", FUNCTION_ARN, None), ("RewardFunction", FUNCTION_ARN, "d-abc123"),
     ("RewardPrompt", "s3://cdk-hnb659fds-assets-123456789012-us-east-1/4f1e.jinja", None)],
)
def test_import_request_is_byte_for_byte_the_sdks(stub, evaluator_type, source, domain_id):
    sdk = sdk_import_request(NAME, evaluator_type, source, domain_id)
    hub_in_service(stub)
    latest(stub, None)
    stub.add_response("import_hub_content", {"HubArn": "arn", "HubContentArn": content_arn("1.0.0")}, sdk)
    props = {**PROPS, "EvaluatorType": evaluator_type, "Reference": source, "DomainId": domain_id or ""}
    he.on_event({"RequestType": "Create", "ResourceProperties": props}, CONTEXT)
    assert sdk["HubName"] == REGISTRY
    assert he.hub_content_document(evaluator_type, source).encode() == sdk["HubContentDocument"].encode()
