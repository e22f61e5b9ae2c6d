"""A scripted SageMaker for the training workflow with an evaluation step (``sfn_harness.FakeSageMaker`` plus
model packages, hub content and evaluation jobs that write their results to moto's S3)."""

from __future__ import annotations

import json

import boto3

from tests.constructs import sfn_harness as h
from tests.runtime import evaluation_aws as ea

PACKAGE, APPROVED = ea.PACKAGE, ea.APPROVED
EVAL_JOB, BASE_JOB = "demo-run-1-eval-mmlu", "demo-run-1-eval-base-mmlu"
GATE = {**ea.GATE, "onFail": "Rejected"}


class EvalSageMaker(h.FakeSageMaker):
    """The scripted SageMaker plus model packages, hub content and evaluation jobs that write their results
    (benchmark layout) to moto's S3 when they complete."""

    def __init__(
        self,
        *,
        scores: float,
        base: float | None = None,
        eval_statuses=("InProgress", "Completed"),
        approved: dict | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(["InProgress", "Completed"])
        self.scores = {"package": scores, "base": base}
        self.eval_statuses = list(eval_statuses)
        self.scripts: dict[str, list[str]] = {}
        self.reason = reason
        self.s3 = boto3.client("s3", region_name=h.REGION)  # created in the test's thread
        self.packages = {PACKAGE: ea.package(PACKAGE)}
        if approved is not None:
            self.packages[APPROVED] = ea.package(APPROVED, "Approved", approved)

    def _evaluation(self, name: str) -> dict | None:
        job = self.jobs.get(name) or {}
        return job if job.get("ServerlessJobConfig", {}).get("JobType") == "Evaluation" else None

    def DescribeTrainingJob(self, params: dict) -> dict:
        name = params["TrainingJobName"]
        job = self._evaluation(name)
        if job is None:
            answer = super().DescribeTrainingJob(params)
            if "OutputModelPackageArn" in answer:
                answer["OutputModelPackageArn"] = PACKAGE
            return answer
        script = self.scripts.setdefault(name, list(self.eval_statuses))
        status = script.pop(0) if len(script) > 1 else script[0]
        model = "package" if "ModelPackageConfig" in job else "base"
        if status == "Completed":
            bucket, _, prefix = job["OutputDataConfig"]["S3OutputPath"].removeprefix("s3://").partition("/")
            metrics = (
                {"stderr": 0.01}
                if self.scores[model] is None
                else {"accuracy": self.scores[model], "stderr": 0.01}
            )
            document = {"results": {"all": metrics}}
            key = f"{prefix.rstrip('/')}/{name}/output/output/mmlu/results_2026.json"
            self.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document).encode())
        answer = {
            "TrainingJobName": name,
            "TrainingJobArn": self.arn(name),
            "TrainingJobStatus": status,
            "ServerlessJobConfig": job["ServerlessJobConfig"],
            "HyperParameters": job["HyperParameters"],
            "OutputDataConfig": job["OutputDataConfig"],
        }
        if status == "Failed":
            answer["FailureReason"] = self.reason
        return answer

    def StopTrainingJob(self, params: dict) -> dict:
        if self._evaluation(params["TrainingJobName"]) is None:
            return super().StopTrainingJob(params)
        self.scripts[params["TrainingJobName"]] = ["Stopped"]
        return {}

    def ListTrainingJobs(self, params: dict) -> dict:
        running = [
            n
            for n in self.jobs
            if params.get("NameContains", "") in n
            and (self.scripts.get(n) or ["InProgress"])[0] == "InProgress"
        ]
        return {
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": n,
                    "TrainingJobArn": self.arn(n),
                    "CreationTime": "2026-01-01T00:00:00Z",
                    "TrainingJobStatus": "InProgress",
                }
                for n in running
            ]
        }

    def DescribeModelPackage(self, params: dict) -> dict:
        return json.loads(json.dumps(self.packages[params["ModelPackageName"]]))

    def ListModelPackages(self, params: dict) -> dict:
        found = [
            a
            for a, p in sorted(self.packages.items(), reverse=True)
            if p["ModelApprovalStatus"] == params["ModelApprovalStatus"]
        ]
        return {
            "ModelPackageSummaryList": [
                {
                    "ModelPackageArn": a,
                    "CreationTime": "2026-01-01T00:00:00Z",
                    "ModelPackageStatus": "Completed",
                }
                for a in found[: params["MaxResults"]]
            ]
        }

    def UpdateModelPackage(self, params: dict) -> dict:
        package = self.packages[params["ModelPackageArn"]]
        package["CustomerMetadataProperties"] = {
            **package.get("CustomerMetadataProperties", {}),
            **params.get("CustomerMetadataProperties", {}),
        }
        if "ModelApprovalStatus" in params:
            package["ModelApprovalStatus"] = params["ModelApprovalStatus"]
        return {"ModelPackageArn": params["ModelPackageArn"]}

    def DescribeHubContent(self, params: dict) -> dict:
        return {k: v for k, v in ea.hub_content().items() if k != "HubContentSearchKeywords"}

    def statuses_set(self) -> list[str]:
        return [
            p["ModelApprovalStatus"]
            for op, p in self.calls
            if op == "UpdateModelPackage" and "ModelApprovalStatus" in p
        ]


def evaluation_config(gate: dict | None = GATE, **changes) -> dict:
    return {**ea.config(gate), **changes}
