"""The offline AWS of :mod:`tests.notebook.fake_aws`, extended with what the SDK's evaluators call.

Adds the base model's hub evaluation recipes and their override specs, the judge allow-list, lineage
artifacts, Bedrock's ``GetFoundationModel`` and SageMaker Pipelines (``CreatePipeline`` records the definition
the evaluators render; executions start and are described at once).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from tests.notebook.fake_aws import ACCOUNT, RECIPE_BUCKET, REGION, FakeAws, _body, _error, hub_document

NOW = dt.datetime(2026, 11, 22, 1, 0, tzinfo=dt.UTC)
JUDGE_MODELS = (
    "anthropic.claude-3-5-haiku-20241022-v1:0",
    "amazon.nova-pro-v1:0",
    "meta.llama3-1-70b-instruct-v1:0",
)
EVAL_TYPES = ("DeterministicEvaluation", "DeterministicTextBenchmark", "DeterministicMultiModalBenchmark")


def eval_spec_key(model: str, evaluation_type: str) -> str:
    return f"{model}/eval-{evaluation_type}-override-params.json"


def eval_override_spec(model: str, evaluation_type: str) -> dict[str, Any]:
    """A fabricated evaluation recipe override spec (the settings the SDK copies plus one it ignores)."""
    spec: dict[str, Any] = {
        "max_new_tokens": {"default": 4096, "type": "integer", "min": 1, "max": 16384},
        "temperature": {"default": 0, "type": "float", "min": 0, "max": 2},
        "top_k": {"default": -1, "type": "integer"},
        "top_p": {"default": 1.0, "type": "float", "min": 0, "max": 1},
        "max_model_len": {"default": 12000, "type": "integer"},
        "seed": {"default": 7, "type": "integer"},
    }
    if evaluation_type == "DeterministicEvaluation":
        spec["aggregation"] = {"default": None, "type": "string"}
    return spec


def eval_hub_document(model: str) -> dict[str, Any]:
    """The fabricated hub document with an ``Evaluation`` recipe of every type besides the training recipes."""
    document = hub_document(model)
    for evaluation_type in EVAL_TYPES:
        document["RecipeCollection"].append(
            {
                "Name": f"{model}-eval-{evaluation_type}",
                "Type": "Evaluation",
                "EvaluationType": evaluation_type,
                "DisplayName": "General text benchmark",
                "SmtjRecipeTemplateS3Uri": f"s3://{RECIPE_BUCKET}/{model}/eval-{evaluation_type}.yaml",
                "SmtjOverrideParamsS3Uri": f"s3://{RECIPE_BUCKET}/{eval_spec_key(model, evaluation_type)}",
            }
        )
    return document


@dataclass
class EvaluationFakeAws(FakeAws):
    """``FakeAws`` plus evaluation recipes, pipelines, lineage artifacts and the judge allow-list."""

    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    judge_models: tuple[str, ...] = JUDGE_MODELS

    def definitions(self) -> list[dict[str, Any]]:
        """The pipeline definitions the SDK created, parsed."""
        return [json.loads(p["PipelineDefinition"]) for p in self.requests("CreatePipeline")]

    def _sagemaker_DescribeHubContent(self, params: dict) -> dict:
        answer = super()._sagemaker_DescribeHubContent(params)
        if params["HubContentType"] == "Model":
            answer["HubContentDocument"] = json.dumps(eval_hub_document(params["HubContentName"]))
        return answer

    def _s3_GetObject(self, params: dict) -> dict:
        bucket, key = params["Bucket"], params["Key"]
        if bucket == RECIPE_BUCKET and "/eval-" in key:
            model, _, name = key.partition("/")
            evaluation_type = name.split("-")[1]
            data = json.dumps(eval_override_spec(model, evaluation_type)).encode()
            return {"Body": _body(data), "ContentLength": len(data)}
        if (
            bucket == f"jumpstart-cache-prod-{REGION}"
            and key == "fmhMetadata/supported-llmaj-judge-models.json"
        ):
            data = json.dumps(
                {"supported_judge_models": [{"model_id": m} for m in self.judge_models]}
            ).encode()
            return {"Body": _body(data), "ContentLength": len(data)}
        return super()._s3_GetObject(params)

    def _bedrock_GetFoundationModel(self, params: dict) -> dict:
        model = params["modelIdentifier"]
        return {
            "modelDetails": {
                "modelArn": f"arn:aws:bedrock:{REGION}::foundation-model/{model}",
                "modelId": model,
                "modelLifecycle": {"status": "ACTIVE"},
            }
        }

    # Lineage: the SDK finds or creates an artifact for the evaluated package
    def _sagemaker_ListArtifacts(self, params: dict) -> dict:
        return {"ArtifactSummaries": []}

    def _sagemaker_CreateArtifact(self, params: dict) -> dict:
        return {"ArtifactArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:artifact/fake{len(self.calls)}"}

    def _sagemaker_DescribeArtifact(self, params: dict) -> dict:
        return {"ArtifactArn": params["ArtifactArn"], "ArtifactType": "Model", "CreationTime": NOW}

    # SageMaker Pipelines
    def _sagemaker_ListPipelines(self, params: dict) -> dict:
        return {"PipelineSummaries": []}

    def _sagemaker_CreatePipeline(self, params: dict) -> dict:
        name = params["PipelineName"]
        self.pipelines[name] = params
        return {"PipelineArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{name.lower()}"}

    def _sagemaker_DescribePipeline(self, params: dict) -> dict:
        name = params["PipelineName"].rsplit("/", 1)[-1]
        created = next((p for n, p in self.pipelines.items() if n.lower() == name.lower()), None)
        if created is None:
            raise _error("ResourceNotFound", f"Pipeline {name} does not exist", "DescribePipeline")
        return {
            "PipelineArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{created['PipelineName'].lower()}",
            "PipelineName": created["PipelineName"],
            "PipelineDefinition": created["PipelineDefinition"],
            "RoleArn": created["RoleArn"],
            "PipelineStatus": "Active",
            "CreationTime": NOW,
            "LastModifiedTime": NOW,
        }

    def _sagemaker_StartPipelineExecution(self, params: dict) -> dict:
        name = params["PipelineName"].lower()
        return {
            "PipelineExecutionArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{name}/execution/fake1"
        }

    def _sagemaker_DescribePipelineExecution(self, params: dict) -> dict:
        arn = params["PipelineExecutionArn"]
        return {
            "PipelineArn": arn.split("/execution/")[0],
            "PipelineExecutionArn": arn,
            "PipelineExecutionStatus": "Executing",
            "CreationTime": NOW,
            "LastModifiedTime": NOW,
        }
