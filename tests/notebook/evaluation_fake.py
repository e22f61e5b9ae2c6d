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
#: The scores of the fabricated results of a finished pipeline (the base model's are half).
EVALUATION_SCORES = {
    "accuracy": 0.6,
    "exact_match": 0.4,
    "Correctness": 0.8,
    "Helpfulness": 0.7,
    "score": 0.9,
}
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
    pipeline_status: str = "Executing"
    """What ``DescribePipelineExecution`` answers; ``Succeeded`` also writes every step's results."""
    scores: dict[str, float] = field(default_factory=dict)
    """Score of every metric in the results of the custom model's steps (the base model's: half of it)."""
    executions: dict[str, str] = field(default_factory=dict)
    """Pipeline execution ARN -> pipeline name."""

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

    def _sagemaker_ListModelPackages(self, params: dict) -> dict:
        """The group's packages, newest first (``SortBy: CreationTime``, descending, is all the code asks)."""
        group = params["ModelPackageGroupName"].rsplit("/", 1)[-1]
        status = params.get("ModelApprovalStatus")
        arns = [
            arn
            for arn in reversed(self.model_packages)
            if arn.split("/")[-2] == group
            and status in (None, self.approvals.get(arn, "PendingManualApproval"))
        ]
        return {
            "ModelPackageSummaryList": [
                {
                    "ModelPackageArn": arn,
                    "ModelPackageGroupName": group,
                    "CreationTime": NOW,
                    "ModelPackageStatus": "Completed",
                    "ModelApprovalStatus": self.approvals.get(arn, "PendingManualApproval"),
                }
                for arn in arns
            ]
        }

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
        name = params["PipelineName"]
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{name.lower()}/execution/fake{len(self.executions) + 1}"
        self.executions[arn] = name
        return {"PipelineExecutionArn": arn}

    def _sagemaker_DescribePipelineExecution(self, params: dict) -> dict:
        arn = params["PipelineExecutionArn"]
        if self.pipeline_status == "Succeeded":
            self._write_results(arn)
        return {
            "PipelineArn": arn.split("/execution/")[0],
            "PipelineExecutionArn": arn,
            "PipelineExecutionStatus": self.pipeline_status,
            "CreationTime": NOW,
            "LastModifiedTime": NOW,
        }

    # A finished pipeline: each training step ran a job that wrote its results where the SDK reads them
    def _training_steps(self, execution_arn: str) -> list[tuple[str, str, dict[str, Any]]]:
        """``(step name, job name, arguments)`` of the execution's training steps."""
        pipeline = self.pipelines[self.executions[execution_arn]]
        number = execution_arn.rsplit("fake", 1)[1]
        steps = json.loads(pipeline["PipelineDefinition"])["Steps"]
        return [
            (step["Name"], f"pipelines-{number}-{step['Name'].lower()}", step["Arguments"])
            for step in steps
            if step["Type"] == "Training"
        ]

    def _write_results(self, execution_arn: str) -> None:
        for step, job, arguments in self._training_steps(execution_arn):
            root = arguments["OutputDataConfig"]["S3OutputPath"]
            factor = 0.5 if "Base" in step else 1.0
            folder = f"{root.rstrip('/')}/{job}/output/output"
            if step.endswith("Metrics"):
                results = {f"Builtin.{m}": {"score": v * factor} for m, v in self.scores.items()}
                self.data[f"{folder}/bedrock-job/bedrock_llm_judge_results.json"] = json.dumps(
                    {"results": results}
                ).encode()
            elif "Inference" not in step:  # a custom scorer's metrics sit under its task key
                scorer = arguments["ServerlessJobConfig"].get("EvaluationType") == "CustomScorerEvaluation"
                key = "custom|gen_qa_gen_qa|0" if scorer else "all"
                results = {"all": {}, key: {m: v * factor for m, v in self.scores.items()}}
                self.data[f"{folder}/eval_results/results_2026.json"] = json.dumps(
                    {"results": results}
                ).encode()

    def _sagemaker_ListPipelineExecutionSteps(self, params: dict) -> dict:
        arn = params["PipelineExecutionArn"]
        status = "Succeeded" if self.pipeline_status == "Succeeded" else "Executing"
        return {
            "PipelineExecutionSteps": [
                {
                    "StepName": step,
                    "StepStatus": status,
                    "StartTime": NOW,
                    "Metadata": {
                        "TrainingJob": {"Arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{job}"}
                    },
                }
                for step, job, _ in reversed(self._training_steps(arn))
            ]
        }

    def _s3_ListObjectsV2(self, params: dict) -> dict:
        prefix = f"s3://{params['Bucket']}/{params.get('Prefix', '')}"
        if "/output/output/" not in prefix:
            return super()._s3_ListObjectsV2(params)
        keys = [uri.split("/", 3)[3] for uri in self.data if uri.startswith(prefix)]
        return {"KeyCount": len(keys), "Contents": [{"Key": key, "Size": 1} for key in keys]}
