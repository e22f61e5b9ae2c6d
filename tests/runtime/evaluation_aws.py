"""Stubbed AWS answers for the evaluation step's tests (exact requests, botocore-validated both ways)."""

from __future__ import annotations

import json
from typing import Any

from cdk_sagemaker_finetuning.runtime import evaluation_request as er
from tests import workflow_data as wd
from tests.runtime.test_preflight import Aws, _body

PACKAGE = f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:model-package/demo/4"
APPROVED = f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:model-package/demo/3"
BASE_ARN = f"{wd.PUBLIC_MODEL_ARN}/{wd.LLAMA}/1.0.4"
JUDGE_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
EVAL_SPEC_KEY = "recipes/eval/deterministic-override-params.json"
EVAL_SPEC = {"max_new_tokens": {"default": 8192, "type": "integer"}, "temperature": {"default": 0}}
EXECUTION = "nightly-3"
EVAL_ROWS = b'{"query": "2+2?", "response": "4"}\n' * 3


def config(gate: dict | None = None, judge: bool = False, **changes: Any) -> dict[str, Any]:
    block = {
        "dataset": "s3://demo-data/eval.jsonl" if judge else None,
        "benchmarks": [{"name": "mmlu", "subtasks": []}],
        "judge": {"modelId": JUDGE_ID, "metrics": ["Correctness"]} if judge else None,
        "customScorer": None,
        "gate": gate,
        **changes,
    }
    return {**wd.config(), "approvalStatus": "PendingManualApproval", "evaluation": block}


GATE = {"metric": "mmlu/accuracy", "compareTo": "approved", "minDelta": 0.0, "onFail": "Rejected"}


def package(arn: str = PACKAGE, status: str = "PendingManualApproval", metadata: dict | None = None) -> dict:
    answer = {
        "ModelPackageName": "demo",
        "ModelPackageArn": arn,
        "ModelPackageGroupName": "demo",
        "CreationTime": "2026-01-01T00:00:00Z",
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": []},
        "ModelApprovalStatus": status,
        "InferenceSpecification": {
            "Containers": [{"BaseModel": {"HubContentName": wd.LLAMA, "HubContentVersion": "1.0.4"}}],
            "SupportedContentTypes": [],
            "SupportedResponseMIMETypes": [],
        },
    }
    if metadata:
        answer["CustomerMetadataProperties"] = metadata
    return answer


def hub_content() -> dict[str, Any]:
    evaluation = {
        "Name": "eval",
        "Type": "Evaluation",
        "EvaluationType": "DeterministicEvaluation",
        "SmtjOverrideParamsS3Uri": f"s3://{wd.RECIPE_BUCKET}/{EVAL_SPEC_KEY}",
    }
    return wd.hub_content(wd.LLAMA, recipes=[wd.recipe(wd.LLAMA, "SFT"), evaluation])


def planned(cfg: dict, base: bool = False) -> list[dict[str, Any]]:
    """The jobs the step must start: the same builder as ``plan --evaluation``."""
    allowed = {JUDGE_ID} if cfg["evaluation"]["judge"] else None
    specs = {"DeterministicEvaluation": EVAL_SPEC}
    return er.build_evaluation_jobs(cfg, package(), specs, EXECUTION, judge_models=allowed, base_model=base)


class EvalAws(Aws):
    """``Aws`` plus the evaluation step's calls."""

    def describe_package(self, answer: dict | None = None, arn: str = PACKAGE) -> None:
        self.sm.add_response("describe_model_package", answer or package(arn), {"ModelPackageName": arn})

    def lookup(self, cfg: dict, judge_list: bytes | None = None) -> None:
        self.describe_package()
        self.hub(hub_content())
        self.identity()
        self.s3s.add_response(
            "get_object",
            {"Body": _body(json.dumps(EVAL_SPEC).encode())},
            {"Bucket": wd.RECIPE_BUCKET, "Key": EVAL_SPEC_KEY},
        )
        if cfg["evaluation"]["judge"]:
            doc = judge_list or json.dumps({"supported_judge_models": [{"model_id": JUDGE_ID}]}).encode()
            self.s3s.add_response(
                "get_object",
                {"Body": _body(doc)},
                {"Bucket": wd.RECIPE_BUCKET, "Key": "fmhMetadata/supported-llmaj-judge-models.json"},
            )

    def create(self, request: dict, error: str | None = None) -> None:
        if error:
            self.sm.add_client_error("create_training_job", error, "exists", expected_params=request)
            return
        arn = f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:training-job/{request['TrainingJobName']}"
        self.sm.add_response("create_training_job", {"TrainingJobArn": arn}, request)

    def job(self, entry: dict, status: str = "Completed", reason: str | None = None) -> None:
        """DescribeTrainingJob of a planned job (``planned()`` entry) in ``status``."""
        req = entry["request"]
        answer = {
            "TrainingJobName": req["TrainingJobName"],
            "TrainingJobArn": f"arn:aws:sagemaker:{wd.REGION}:{wd.ACCOUNT}:training-job/{req['TrainingJobName']}",
            "ModelArtifacts": {"S3ModelArtifacts": ""},
            "TrainingJobStatus": status,
            "SecondaryStatus": status,
            "StoppingCondition": req["StoppingCondition"],
            "CreationTime": "2026-01-01T00:00:00Z",
            "HyperParameters": req["HyperParameters"],
            "OutputDataConfig": req["OutputDataConfig"],
            "ServerlessJobConfig": req["ServerlessJobConfig"],
        }
        if reason:
            answer["FailureReason"] = reason
        self.sm.add_response("describe_training_job", answer, {"TrainingJobName": req["TrainingJobName"]})

    def results(self, entry: dict, document: dict) -> str:
        """The job's results listing and file; returns the file's S3 URI."""
        name = entry["request"]["TrainingJobName"]
        prefix = f"out/{name}/output/output/"
        file = "bedrock_llm_judge_results.json" if entry["kind"] == "metrics" else "results_2026.json"
        key = f"{prefix}x/{file}"
        self.s3s.add_response(
            "list_objects_v2",
            {"Contents": [{"Key": key, "Size": 10}]},
            {"Bucket": "demo-output", "Prefix": prefix},
        )
        self.s3s.add_response(
            "get_object",
            {"Body": _body(json.dumps(document).encode())},
            {"Bucket": "demo-output", "Key": key},
        )
        return f"s3://demo-output/{key}"

    def approved(self, arns: list[str]) -> None:
        summaries = [
            {"ModelPackageArn": a, "CreationTime": "2026-01-01T00:00:00Z", "ModelPackageStatus": "Completed"}
            for a in arns
        ]
        self.sm.add_response(
            "list_model_packages",
            {"ModelPackageSummaryList": summaries},
            {
                "ModelPackageGroupName": "demo",
                "ModelApprovalStatus": "Approved",
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
                "MaxResults": 2,
            },
        )

    def update(self, **params: Any) -> None:
        self.sm.add_response(
            "update_model_package", {"ModelPackageArn": PACKAGE}, {"ModelPackageArn": PACKAGE, **params}
        )

    def done(self) -> None:
        for stub in self.stubs:
            stub.assert_no_pending_responses()
