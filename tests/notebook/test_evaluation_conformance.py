"""``cdk-finetune plan --evaluation`` prints the CreateTrainingJob requests the SDK 3.27 evaluators send.

Each case runs the real ``BenchMarkEvaluator``, ``LLMAsJudgeEvaluator`` or ``CustomScorerEvaluator`` for a model
package with every botocore call answered offline (:class:`EvaluationFakeAws`). The evaluators create a SageMaker
Pipeline; its ``Training`` steps (``EvaluateCustomModel*``, with ``evaluate_base_model`` also
``EvaluateBaseModel*``, printed with ``--base-model``) are the jobs. Their arguments, with the pipeline's
``Get``/``Std:Join`` references resolved, must equal the requests ``plan --evaluation`` prints for the same spec
offline, member by member, except for what differs by design (``runtime/evaluation_request.py``): the job names
(the SDK's pipeline names its jobs; the judge metrics job's ``name`` and ``inference_data_s3_path`` carry them),
``Tags`` and ``MlflowConfig`` (the SDK sets MLflow on the pipeline, checked here against ours).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.validate import validate_parameters

from cdk_sagemaker_finetuning import cli
from cdk_sagemaker_finetuning.runtime.request import job_name
from cdk_sagemaker_finetuning.spec import FineTuningSpec
from tests.notebook.cases import CASES, EVALUATOR_ARN, REWARD_LAMBDA_ARN, outputs_for
from tests.notebook.evaluation_fake import EvaluationFakeAws, eval_override_spec
from tests.notebook.fake_aws import ACCOUNT, REGION

PACKAGE = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/support-sft/3"
DATASET = "s3://demo-data/eval/prompts.jsonl"
DATASET_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/AIRegistry/DataSet/eval-prompts/1.0.0"
JUDGE = "anthropic.claude-3-5-haiku-20241022-v1:0"
EXPERIMENT = "support-evaluation"
BY_DESIGN = ("TrainingJobName", "Tags", "MlflowConfig")
SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")

#: name -> (evaluation block, SDK evaluator calls (kind, keyword arguments), base model evaluated too)
EVALUATIONS: dict[str, tuple[dict[str, Any], list[tuple[str, dict[str, Any]]], bool]] = {
    "benchmarks-with-and-without-subtasks": (
        {
            "benchmarks": ["mmlu", "gpqa", "bbh"],
            "subtasks": {"mmlu": ["anatomy", "astronomy"], "bbh": ["navigate"]},
        },
        [
            ("benchmark", {"benchmark": "mmlu", "subtasks": ["anatomy", "astronomy"]}),
            ("benchmark", {"benchmark": "gpqa"}),
            ("benchmark", {"benchmark": "bbh", "subtasks": ["navigate"]}),
        ],
        False,
    ),
    "llm-as-judge": (
        {"dataset": DATASET, "judge": {"model_id": JUDGE, "metrics": ["Builtin.Correctness", "Helpfulness"]}},
        [
            (
                "judge",
                {
                    "evaluator_model": JUDGE,
                    "dataset": DATASET,
                    "builtin_metrics": ["Builtin.Correctness", "Helpfulness"],
                },
            )
        ],
        False,
    ),
    "custom-scorer-preset": (
        {"dataset": DATASET_ARN, "custom_scorer": {"builtin": "prime_math"}},
        [("scorer", {"evaluator": "prime_math", "dataset": DATASET_ARN})],
        False,
    ),
    "custom-scorer-evaluator-arn": (
        {"dataset": DATASET, "custom_scorer": {"evaluator_arn": EVALUATOR_ARN}},
        [("scorer", {"evaluator": EVALUATOR_ARN, "dataset": DATASET})],
        False,
    ),
    "every-kind-with-the-base-model": (
        {
            "dataset": DATASET,
            "benchmarks": ["math"],
            "subtasks": {"math": ["algebra"]},
            "judge": {"model_id": JUDGE, "metrics": ["Faithfulness"]},
            "custom_scorer": {"builtin": "prime_code"},
        },
        [
            ("benchmark", {"benchmark": "math", "subtasks": ["algebra"], "evaluate_base_model": True}),
            (
                "judge",
                {
                    "evaluator_model": JUDGE,
                    "dataset": DATASET,
                    "builtin_metrics": ["Faithfulness"],
                    "evaluate_base_model": True,
                },
            ),
            ("scorer", {"evaluator": "prime_code", "dataset": DATASET, "evaluate_base_model": True}),
        ],
        True,
    ),
    "nova-benchmark-and-scorer": (
        {
            "dataset": DATASET,
            "benchmarks": ["mmlu"],
            "custom_scorer": {"builtin": "prime_code"},
            "_base_model": "nova-textgeneration-lite-v2",
        },
        [("benchmark", {"benchmark": "mmlu"}), ("scorer", {"evaluator": "prime_code", "dataset": DATASET})],
        False,
    ),
}
#: SDK training step -> (evaluates the base model, our job name suffix; None: the evaluator's own)
STEPS = {
    "EvaluateCustomModel": (False, None),
    "EvaluateBaseModel": (True, None),
    "EvaluateCustomInferenceModel": (False, "judge-inference"),
    "EvaluateCustomModelMetrics": (False, "judge"),
    "EvaluateBaseInferenceModel": (True, "judge-inference"),
    "EvaluateBaseModelMetrics": (True, "judge"),
}


def spec_data(evaluation: dict[str, Any]) -> dict[str, Any]:
    evaluation = dict(evaluation)
    model = evaluation.pop("_base_model", CASES["sft-meta"]["base_model"])
    return {
        **CASES["sft-meta"],
        "base_model": model,
        "hyperparameters": {} if "nova" in model else CASES["sft-meta"]["hyperparameters"],
        "mlflow": {**CASES["sft-meta"]["mlflow"], "experiment_name": EXPERIMENT},
        "output": {"kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f0e0d0c-1111-2222-3333-444455556666"},
        "evaluation": evaluation,
    }


def fake(model: str) -> EvaluationFakeAws:
    data = {DATASET: b'{"prompt": "2+2?", "completion": "4"}\n'}
    return EvaluationFakeAws(
        models=(model,),
        model_packages={PACKAGE: model},
        data=data,
        evaluators={EVALUATOR_ARN: REWARD_LAMBDA_ARN},
    )


def run_sdk(
    spec: dict[str, Any], calls: list[tuple[str, dict[str, Any]]], fake_aws: EvaluationFakeAws
) -> None:
    from sagemaker.train.evaluate import (
        BenchMarkEvaluator,
        CustomScorerEvaluator,
        LLMAsJudgeEvaluator,
        get_benchmarks,
        get_builtin_metrics,
    )

    outputs = outputs_for_spec(spec)
    common = {
        "model": PACKAGE,
        "s3_output_path": outputs["OutputUri"],
        "role": outputs["ExecutionRoleArn"],
        "mlflow_resource_arn": spec["mlflow"]["resource_arn"],
        "mlflow_experiment_name": EXPERIMENT,
        "kms_key_id": spec["output"]["kms_key_arn"],
        "region": REGION,
    }
    for kind, kwargs in calls:
        if kind == "benchmark":
            kwargs = {**kwargs, "benchmark": get_benchmarks()(kwargs["benchmark"])}
            BenchMarkEvaluator(**common, **kwargs).evaluate()
        elif kind == "judge":
            LLMAsJudgeEvaluator(**common, **kwargs).evaluate()
        else:
            evaluator = kwargs["evaluator"]
            if not evaluator.startswith("arn:"):
                evaluator = get_builtin_metrics()(evaluator)
            CustomScorerEvaluator(**common, **{**kwargs, "evaluator": evaluator}).evaluate()
    assert fake_aws.unanswered == []


def outputs_for_spec(spec: dict[str, Any]) -> dict[str, str]:
    return next(iter(outputs_for(FineTuningSpec.from_dict(spec)).values()))


def resolve(value: Any, steps: dict[str, dict[str, Any]], names: dict[str, str]) -> Any:
    """Resolve the pipeline's ``Get``/``Std:Join`` with our job names for the SDK's step job names."""
    if isinstance(value, list):
        return [resolve(v, steps, names) for v in value]
    if not isinstance(value, dict):
        return value
    if "Std:Join" in value:
        join = value["Std:Join"]
        return join["On"].join(str(resolve(v, steps, names)) for v in join["Values"])
    if "Get" in value:
        path = value["Get"]
        if path == "Execution.PipelineExecutionId":
            return "<execution-id>"
        _, step, *rest = path.split(".")
        if rest == ["TrainingJobName"]:
            return names[step]
        assert rest == ["OutputDataConfig", "S3OutputPath"], path
        return steps[step]["Arguments"]["OutputDataConfig"]["S3OutputPath"]
    return {k: resolve(v, steps, names) for k, v in value.items()}


def our_name(step: str, kind: str, kwargs: dict[str, Any]) -> str:
    """Our job name for an SDK training step of the evaluator call ``(kind, kwargs)``."""
    base, suffix = STEPS[step]
    suffix = suffix or {"benchmark": kwargs.get("benchmark"), "scorer": "scorer"}[kind]
    return job_name("support-sft", f"nightly-7-eval-{'base-' if base else ''}{suffix}")


def sdk_jobs(definition: dict[str, Any], kind: str, kwargs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The pipeline's training steps, resolved, by our job name for them."""
    steps = {s["Name"]: s for s in definition["Steps"]}
    names = {
        s["Name"]: our_name(s["Name"], kind, kwargs) for s in definition["Steps"] if s["Type"] == "Training"
    }
    jobs = {}
    for step, name in names.items():
        args = resolve(steps[step]["Arguments"], steps, names)
        args.pop("TrainingJobName", None)
        hyperparameters = args["HyperParameters"]
        if hyperparameters.get("name", "").endswith(
            "-llmaj-eval-<execution-id>"
        ):  # the SDK's metrics job name
            hyperparameters["name"] = name
        jobs[name] = args
    return jobs


def plan(
    tmp_path: Path,
    spec: dict[str, Any],
    fake_aws: EvaluationFakeAws,
    capsys: pytest.CaptureFixture,
    *,
    base_model: bool,
) -> list:
    """``plan --evaluation`` offline with the fake's answers as files."""
    model = spec["base_model"]
    files = {
        "spec.yaml": yaml.safe_dump(spec),
        "hub.json": json.dumps(
            fake_aws._sagemaker_DescribeHubContent(
                {"HubContentType": "Model", "HubContentName": model, "HubName": "SageMakerPublicHub"}
            ),
            default=str,
        ),
        "params.json": json.dumps(eval_override_spec(model, "DeterministicEvaluation")),
        "package.json": json.dumps(
            fake_aws._sagemaker_DescribeModelPackage({"ModelPackageName": PACKAGE}), default=str
        ),
        "outputs.json": json.dumps(outputs_for(FineTuningSpec.from_dict(spec))),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    code = cli.main(
        [
            "plan",
            str(tmp_path / "spec.yaml"),
            "--evaluation",
            "--model-package",
            PACKAGE,
            "--hub-content",
            str(tmp_path / "hub.json"),
            "--recipe-params",
            str(tmp_path / "params.json"),
            "--model-package-file",
            str(tmp_path / "package.json"),
            "--outputs-file",
            str(tmp_path / "outputs.json"),
            "--execution-name",
            "nightly-7",
            *(["--base-model"] if base_model else []),
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)["EvaluationJobs"]


@pytest.mark.parametrize("case", sorted(EVALUATIONS))
def test_plan_evaluation_prints_the_requests_the_sdk_sends(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    evaluation, calls, base_model = EVALUATIONS[case]
    spec = spec_data(evaluation)
    fake_aws = fake(spec["base_model"]).install(monkeypatch)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    ours = plan(tmp_path, spec, fake_aws, capsys, base_model=base_model)
    assert fake_aws.calls == []  # offline

    run_sdk(spec, calls, fake_aws)

    definitions = fake_aws.definitions()
    assert len(definitions) == len(calls)
    sdk = {}
    for definition, (kind, kwargs) in zip(definitions, calls, strict=True):
        sdk.update(sdk_jobs(definition, kind, kwargs))
    assert sorted(sdk) == sorted(job["TrainingJobName"] for job in ours)
    for mine in ours:
        theirs = sdk[mine["TrainingJobName"]]
        validate_parameters(mine, SAGEMAKER.operation_model("CreateTrainingJob").input_shape)
        assert set(theirs) == set(mine) - set(BY_DESIGN)
        for member in theirs:
            assert mine[member] == theirs[member], member
        assert ("ModelPackageConfig" in mine) == ("-eval-base-" not in mine["TrainingJobName"])
    for definition in definitions:
        assert {job["MlflowConfig"]["MlflowResourceArn"] for job in ours} == {
            definition["MlflowConfig"]["MlflowResourceArn"]
        }
        assert {job["MlflowConfig"]["MlflowExperimentName"] for job in ours} == {EXPERIMENT}
