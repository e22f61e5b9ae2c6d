"""An offline AWS for running generated SDK code: answers botocore calls from fabricated data and records them.

Install with :meth:`FakeAws.install` (monkeypatches ``botocore.client.BaseClient._make_api_call``, blocks
sockets and the SDK's telemetry). Every request is validated against the operation's input shape; an
operation the fake does not know fails the test with its name.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import socket
from dataclasses import dataclass, field
from typing import Any

import botocore.client
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.validate import validate_parameters

ACCOUNT = "123456789012"
REGION = "us-east-1"
HUB_VERSION = "1.2.3"
RECIPE_BUCKET = "jumpstart-recipes-fake"
MLFLOW_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/app-FAKE"
TECHNIQUES = ("SFT", "DPO", "RLVR", "RLAIF")
JUDGE_TEMPLATES = [
    f"/opt/ml/code/verl/prompts/{name}.jinja"
    for name in ("summarize", "faithfulness", "chainofthought", "evaluation")
]


def _open_weight_spec(technique: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "learning_rate": {"default": 0.0001, "type": "float", "min": 1e-06, "max": 0.001},
        "global_batch_size": {"default": 64, "type": "integer", "min": 1, "max": 512},
        "data_path": {"default": "/opt/ml/input/data/train", "type": "string"},
        "output_path": {"default": "/opt/ml/output", "type": "string"},
    }
    if technique in ("SFT", "DPO"):
        spec["max_epochs"] = {"default": 1, "type": "integer", "min": 1, "max": 10}
        spec["lr_warmup_steps_ratio"] = {"default": 0.1, "type": "float", "min": 0.0, "max": 1.0}
        spec["dataset_max_len"] = {"default": 4096, "type": "integer", "min": 128, "max": 8192}
    if technique == "DPO":
        spec["adam_beta"] = {"default": 0.1, "type": "float", "min": 0.001, "max": 1.0}
    if technique in ("RLVR", "RLAIF"):
        spec["max_prompt_length"] = {"default": 1024, "type": "integer", "min": 128, "max": 8192}
        spec["max_response_length"] = {"default": 2048, "type": "integer", "min": 128, "max": 8192}
        spec["kl_loss_coef"] = {"default": 0.001, "type": "float", "min": 0.0, "max": 1.0}
    if technique == "RLVR":
        spec["preset_reward_function"] = {
            "default": None,
            "type": "string",
            "enum": ["prime_code", "prime_math"],
        }
        spec["reward_lambda_arn"] = {"default": "", "type": "string"}
    if technique == "RLAIF":
        spec["judge_model_id"] = {"default": "bedrock/openai.gpt-oss-120b-1:0", "type": "string"}
        spec["judge_prompt_template"] = {
            "default": JUDGE_TEMPLATES[0],
            "type": "string",
            "enum": JUDGE_TEMPLATES,
        }
    return spec


def _nova_spec(technique: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "learning_rate": {"default": 1e-05, "type": "float", "min": 1e-07, "max": 0.001},
        "global_batch_size": {"default": 32, "type": "integer", "min": 1, "max": 256},
        "max_length": {"default": 8192, "type": "integer", "min": 1024, "max": 32768},
        "warmup_steps": {"default": 10, "type": "integer", "min": 0, "max": 1000},
        "reasoning_enabled": {"default": False, "type": "boolean"},
    }
    if technique == "RLVR":
        spec["reward_lambda_arn"] = {"default": "", "type": "string"}
    return spec


def override_spec(model: str, technique: str, peft: bool) -> dict[str, Any]:
    """The fabricated hyperparameter spec (``SmtjOverrideParamsS3Uri`` JSON) of one recipe."""
    spec = _nova_spec(technique) if "nova" in model else _open_weight_spec(technique)
    if not peft:
        spec["learning_rate"] = {**spec["learning_rate"], "default": spec["learning_rate"]["default"] / 10}
    return spec


def spec_key(model: str, technique: str, peft: bool) -> str:
    return f"{model}/{technique.lower()}-{'lora' if peft else 'full'}-override-params.json"


def hub_document(model: str) -> dict[str, Any]:
    """The fabricated ``HubContentDocument`` of a public-hub model: LoRA and full recipes for every technique."""
    recipes = []
    for technique in TECHNIQUES:
        for peft in (True, False):
            variant = "lora" if peft else "full"
            recipes.append(
                {
                    "Name": f"{model}-{technique.lower()}-{variant}",
                    "CustomizationTechnique": technique,
                    "Peft": "LORA" if peft else None,
                    "Type": "FineTuning",
                    "SequenceLength": "8K",
                    "SmtjRecipeTemplateS3Uri": f"s3://{RECIPE_BUCKET}/{model}/{technique.lower()}-{variant}.yaml",
                    "SmtjOverrideParamsS3Uri": f"s3://{RECIPE_BUCKET}/{spec_key(model, technique, peft)}",
                }
            )
    return {
        "GatedBucket": model.startswith("meta-"),
        "RecipeCollection": recipes,
        "TrainingArtifactUri": "s3://x/y",
    }


def hub_content_arn(model: str, hub: str = "SageMakerPublicHub") -> str:
    return f"arn:aws:sagemaker:{REGION}:aws:hub-content/{hub}/Model/{model}/{HUB_VERSION}"


def describe_hub_content_response(model: str, hub: str = "SageMakerPublicHub") -> dict[str, Any]:
    return {
        "HubContentName": model,
        "HubContentArn": hub_content_arn(model, hub),
        "HubContentVersion": HUB_VERSION,
        "HubContentType": "Model",
        "DocumentSchemaVersion": "2.0.0",
        "HubName": hub,
        "HubArn": f"arn:aws:sagemaker:{REGION}:aws:hub/{hub}",
        "HubContentDocument": json.dumps(hub_document(model)),
        "HubContentSearchKeywords": [f"@recipe:finetuning_{t.lower()}_lora" for t in TECHNIQUES],
        "HubContentStatus": "Available",
        "CreationTime": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    }


def _snapshot(params: dict[str, Any]) -> dict[str, Any]:
    """A copy of the request; streamed bodies (uploads) are read into bytes."""
    result = {}
    for key, value in params.items():
        if hasattr(value, "read"):
            data = value.read()
            if hasattr(value, "seek"):
                value.seek(0)
            result[key] = data
        else:
            result[key] = copy.deepcopy(value)
    return result


def _body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def _error(code: str, message: str, operation: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


@dataclass
class FakeAws:
    """Fabricated AWS state; ``calls`` records ``(service, operation, params)`` in order."""

    models: tuple[str, ...]
    data: dict[str, bytes] = field(default_factory=dict)
    """S3 objects by URI (training data)."""
    evaluators: dict[str, str] = field(default_factory=dict)
    """Evaluator ARN -> reward Lambda ARN."""
    model_packages: dict[str, str] = field(default_factory=dict)
    """Model package ARN -> base model hub content name (continuous customization)."""
    mlflow_apps: tuple[str, ...] = (MLFLOW_ARN,)
    groups: set[str] = field(default_factory=set)
    approvals: dict[str, str] = field(default_factory=dict)
    """Model package ARN -> approval status set with UpdateModelPackage."""
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    """Operations the fake does not know (the SDK swallows some errors, so tests assert this is empty)."""
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Dataset name -> ``{version: ImportHubContent request}`` of the datasets imported (``DataSet.create``)."""

    def install(self, monkeypatch: Any) -> FakeAws:
        fake = self

        def make_api_call(client: botocore.client.BaseClient, operation: str, params: dict[str, Any]) -> dict:
            model = client.meta.service_model
            validate_parameters(params, model.operation_model(operation).input_shape)
            fake.calls.append((model.service_name, operation, _snapshot(params)))
            return fake.answer(model.service_name, operation, params)

        def no_network(*args: Any, **kwargs: Any) -> None:
            raise OSError("network access is blocked in this test")

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
        monkeypatch.setattr(socket.socket, "connect", no_network)
        monkeypatch.setattr(socket, "create_connection", no_network)
        monkeypatch.setattr(socket, "getaddrinfo", no_network)
        monkeypatch.setattr(
            "sagemaker.core.telemetry.telemetry_logging._send_telemetry_request", lambda *a, **k: None
        )
        return self

    def requests(self, operation: str) -> list[dict[str, Any]]:
        return [params for _, op, params in self.calls if op == operation]

    # -- answers ------------------------------------------------------------------------------------------

    def answer(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, f"_{service.replace('-', '_')}_{operation}", None)
        if handler is None:
            self.unanswered.append(f"{service}:{operation}")
            raise AssertionError(f"the fake AWS does not answer {service}:{operation} {params}")
        return handler(params)

    def _sts_GetCallerIdentity(self, params: dict) -> dict:
        return {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/tester", "UserId": "AIDAFAKE"}

    def _iam_GetRole(self, params: dict) -> dict:
        name = params["RoleName"]
        trust = {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sagemaker.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ]
        }
        return {
            "Role": {
                "RoleName": name,
                "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
                "Path": "/",
                "RoleId": "AROAFAKE",
                "CreateDate": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                "AssumeRolePolicyDocument": json.dumps(trust),
            }
        }

    def _iam_SimulatePrincipalPolicy(self, params: dict) -> dict:
        results = [
            {"EvalActionName": action, "EvalResourceName": "*", "EvalDecision": "allowed"}
            for action in params["ActionNames"]
        ]
        return {"EvaluationResults": results, "IsTruncated": False}

    # S3: recipe specs, training data, output bucket checks
    def _s3_GetObject(self, params: dict) -> dict:
        bucket, key = params["Bucket"], params["Key"]
        if bucket == RECIPE_BUCKET:
            model, _, name = key.partition("/")
            technique, variant = name.split("-")[:2]
            data = json.dumps(override_spec(model, technique.upper(), variant == "lora")).encode()
            return {"Body": _body(data), "ContentLength": len(data)}
        uri = f"s3://{bucket}/{key}"
        if uri in self.data:
            return {"Body": _body(self.data[uri]), "ContentLength": len(self.data[uri])}
        raise _error("NoSuchKey", f"{uri} does not exist", "GetObject", 404)

    def _s3_HeadObject(self, params: dict) -> dict:
        uri = f"s3://{params['Bucket']}/{params['Key']}"
        if uri not in self.data:
            raise _error("404", "Not Found", "HeadObject", 404)
        return {"ContentLength": len(self.data[uri])}

    def _s3_HeadBucket(self, params: dict) -> dict:
        return {}

    def _s3_ListObjectsV2(self, params: dict) -> dict:
        return {"KeyCount": 1, "Contents": [{"Key": params.get("Prefix", "") or "x", "Size": 1}]}

    def _s3_PutObject(self, params: dict) -> dict:
        return {"ETag": '"fake"'}

    # SageMaker Hub
    def _sagemaker_DescribeHubContent(self, params: dict) -> dict:
        kind, name, hub = params["HubContentType"], params["HubContentName"], params["HubName"]
        if kind == "Model" and name in self.models:
            return describe_hub_content_response(name, hub)
        if kind == "JsonDoc":
            for arn, lambda_arn in self.evaluators.items():
                if f"/JsonDoc/{name}/" in arn:
                    document = {
                        "JsonContent": json.dumps({"Reference": lambda_arn}),
                        "SubType": "AWS/Evaluator",
                    }
                    return {
                        "HubContentName": name,
                        "HubContentArn": arn,
                        "HubContentVersion": arn.rsplit("/", 1)[1],
                        "HubContentType": "JsonDoc",
                        "DocumentSchemaVersion": "2.0.0",
                        "HubName": hub,
                        "HubArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub/{hub}",
                        "HubContentDocument": json.dumps(document),
                        "HubContentStatus": "Available",
                        "CreationTime": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                        "LastModifiedTime": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                    }
        if kind == "DataSet" and name in self.datasets:
            versions = self.datasets[name]
            version = params.get("HubContentVersion") or max(versions, key=lambda v: int(v.split(".")[0]))
            imported = versions[version]
            return {
                "HubContentName": name,
                "HubContentArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/{hub}/DataSet/{name}/{version}",
                "HubContentVersion": version,
                "HubContentType": "DataSet",
                "DocumentSchemaVersion": imported["DocumentSchemaVersion"],
                "HubName": hub,
                "HubArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub/{hub}",
                "HubContentDocument": imported["HubContentDocument"],
                "HubContentSearchKeywords": imported.get("HubContentSearchKeywords", []),
                "HubContentStatus": "Available",
                "CreationTime": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                "LastModifiedTime": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            }
        if kind == "DataSet":
            return {
                "HubContentName": name,
                "HubContentArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/{hub}/DataSet/{name}/1.0.0",
                "HubContentVersion": "1.0.0",
                "HubContentType": "DataSet",
                "DocumentSchemaVersion": "2.0.0",
                "HubName": hub,
                "HubArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub/{hub}",
                "HubContentDocument": "{}",
                "HubContentStatus": "Available",
                "CreationTime": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            }
        raise _error(
            "ResourceNotFound", f"Hub content {kind}/{name} does not exist in {hub}", "DescribeHubContent"
        )

    # AI Registry registration (Evaluator.create without stack outputs)
    def _sagemaker_DescribeHub(self, params: dict) -> dict:
        name = params["HubName"]
        return {
            "HubName": name,
            "HubArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub/{name}",
            "HubDescription": "AI Registry",
            "HubStatus": "InService",
            "CreationTime": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            "LastModifiedTime": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        }

    def _sagemaker_ListHubContentVersions(self, params: dict) -> dict:
        return {"HubContentSummaries": []}

    def _sagemaker_ImportHubContent(self, params: dict) -> dict:
        hub, kind, name = params["HubName"], params["HubContentType"], params["HubContentName"]
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/{hub}/{kind}/{name}/{params['HubContentVersion']}"
        if kind == "DataSet":
            self.datasets.setdefault(name, {})[params["HubContentVersion"]] = copy.deepcopy(params)
            return {"HubArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub/{hub}", "HubContentArn": arn}
        document = json.loads(params["HubContentDocument"])
        self.evaluators[arn] = json.loads(document["JsonContent"])["Reference"]
        return {"HubArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub/{hub}", "HubContentArn": arn}

    # Model package groups and packages
    def _group_arn(self, name: str) -> str:
        return (
            name
            if name.startswith("arn:")
            else f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{name}"
        )

    def _sagemaker_CreateModelPackageGroup(self, params: dict) -> dict:
        name = params["ModelPackageGroupName"]
        if name in self.groups:
            raise _error(
                "ResourceInUse", f"Model Package Group already exists: {name}", "CreateModelPackageGroup"
            )
        self.groups.add(name)
        return {"ModelPackageGroupArn": self._group_arn(name)}

    def _sagemaker_DescribeModelPackageGroup(self, params: dict) -> dict:
        name = params["ModelPackageGroupName"].rsplit("/", 1)[-1]
        if name not in self.groups:
            raise _error(
                "ValidationException",
                f"ModelPackageGroup {name} does not exist.",
                "DescribeModelPackageGroup",
            )
        return {
            "ModelPackageGroupName": name,
            "ModelPackageGroupArn": self._group_arn(name),
            "CreationTime": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            "CreatedBy": {},
            "ModelPackageGroupStatus": "Completed",
        }

    def _sagemaker_DescribeModelPackage(self, params: dict) -> dict:
        arn = params["ModelPackageName"]
        base_model = self.model_packages[arn]
        group = arn.split("/")[-2]
        return {
            "ModelPackageName": group,
            "ModelPackageGroupName": group,
            "ModelPackageArn": arn,
            "ModelPackageVersion": int(arn.rsplit("/", 1)[1]),
            "CreationTime": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            "ModelPackageStatus": "Completed",
            "ModelApprovalStatus": self.approvals.get(arn, "PendingManualApproval"),
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": "fake",
                        "BaseModel": {"HubContentName": base_model, "HubContentVersion": "0.0.1"},
                    }
                ],
            },
        }

    def _sagemaker_UpdateModelPackage(self, params: dict) -> dict:
        self.approvals[params["ModelPackageArn"]] = params["ModelApprovalStatus"]
        return {"ModelPackageArn": params["ModelPackageArn"]}

    # MLflow default experience
    def _sagemaker_ListMlflowApps(self, params: dict) -> dict:
        return {
            "Summaries": [
                {
                    "Arn": arn,
                    "Name": arn.rsplit("/", 1)[1],
                    "Status": "Created",
                    "AccountDefaultStatus": "ENABLED",
                }
                for arn in self.mlflow_apps
            ]
        }

    def _sagemaker_CreatePresignedMlflowAppUrl(self, params: dict) -> dict:
        return {"AuthorizedUrl": "https://mlflow.example/fake"}

    # Training jobs: created jobs complete at once
    def _sagemaker_CreateTrainingJob(self, params: dict) -> dict:
        name = params["TrainingJobName"]
        if name in self.jobs:
            raise _error("ResourceInUse", f"Training job {name} already exists", "CreateTrainingJob")
        self.jobs[name] = copy.deepcopy(params)
        group = params["ModelPackageConfig"]["ModelPackageGroupArn"].rsplit("/", 1)[1]
        package_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/{len(self.jobs)}"
        self.jobs[name]["_package"] = package_arn
        self.model_packages[package_arn] = params["ServerlessJobConfig"]["BaseModelArn"].split("/")[3]
        return {"TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name}"}

    def _sagemaker_DescribeTrainingJob(self, params: dict) -> dict:
        name = params["TrainingJobName"]
        request = self.jobs[name]
        package_arn = request["_package"]
        now = dt.datetime(2026, 11, 22, 1, 0, tzinfo=dt.UTC)
        response = {
            "TrainingJobName": name,
            "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name}",
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "RoleArn": request["RoleArn"],
            "CreationTime": now,
            "TrainingStartTime": now,
            "TrainingEndTime": now,
            "LastModifiedTime": now,
            "OutputModelPackageArn": package_arn,
            "BillableTokenCount": 123456,
            "ServerlessJobConfig": request["ServerlessJobConfig"],
            "ModelPackageConfig": request["ModelPackageConfig"],
            "OutputDataConfig": request["OutputDataConfig"],
            "StoppingCondition": request.get("StoppingCondition", {"MaxRuntimeInSeconds": 86400}),
        }
        if "MlflowConfig" in request:
            response["MlflowConfig"] = request["MlflowConfig"]
            response["MlflowDetails"] = {"MlflowExperimentId": "1", "MlflowRunId": "run-fake"}
        return response

    # RLVR reward preflight (caller credentials)
    def _lambda_Invoke(self, params: dict) -> dict:
        samples = json.loads(params["Payload"])
        scores = [{"id": str(i), "aggregate_reward_score": 0.5} for i, _ in enumerate(samples)]
        nova = any("nova" in model for model in self.models)
        payload = scores if nova else {"statusCode": 200, "body": json.dumps(scores)}
        data = json.dumps(payload).encode()
        return {"StatusCode": 200, "Payload": _body(data)}
