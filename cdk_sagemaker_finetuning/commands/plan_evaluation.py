"""``cdk-finetune plan SPEC --evaluation --model-package ARN``: the evaluation step's CreateTrainingJob requests.

Prints ``{"EvaluationJobs": [request, ...]}``, built by ``runtime/evaluation_request.py`` (the code the
workflow's evaluation Lambda runs). Offline with ``--hub-content`` (the base model's ``DescribeHubContent``
answer) and ``--recipe-params`` (its evaluation recipe's override spec, used for every recipe type needed) and
optionally ``--model-package-file`` (the package's ``DescribeModelPackage`` answer; without it the package is
assumed to be trained from the ``--hub-content`` version). Online, everything is looked up
(``runtime/evaluation_inputs.py``). Deploy-time values come from ``--outputs-file`` or the deployed stack.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from .. import files
from ..evaluation_spec import with_evaluation
from ..notebook import load_outputs, stack_outputs
from ..runtime import evaluation_inputs, evaluation_request, preflight
from ..runtime.workflow_contract import WorkflowConfig
from ..spec import FineTuningSpec
from ..workflow_config import runtime_config
from . import _aws, _term, plan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``plan`` options of the evaluation dry run."""
    group = parser.add_argument_group("evaluation dry run (--evaluation)")
    group.add_argument(
        "--evaluation",
        action="store_true",
        help="print the evaluation jobs for a model package instead of the training request",
    )
    group.add_argument("--model-package", metavar="ARN", help="the model package to evaluate")
    group.add_argument(
        "--model-package-file",
        metavar="FILE",
        help="offline: its DescribeModelPackage answer (JSON; default: trained from --hub-content's version)",
    )
    group.add_argument(
        "--base-model",
        action="store_true",
        help="also print the jobs evaluating the base model the package was trained from (the gate's "
        "reference on a first round or with compare_to: base)",
    )


def _config(spec: FineTuningSpec, outputs: dict[str, str]) -> WorkflowConfig:
    """The workflow configuration with the evaluation block; ``<Output>`` placeholders for missing values."""
    reward_arn = outputs.get("EvaluatorArn") or (spec.reward.evaluator_arn if spec.reward else None)
    scorer = spec.evaluation.custom_scorer if spec.evaluation else None
    if scorer is not None and scorer.reward and not reward_arn:
        raise _aws.CommandError(
            "evaluation.custom_scorer.reward: true scores with the project's reward evaluator, registered at "
            "deploy time: pass --outputs-file with EvaluatorArn",
            _aws.INVALID,
        )
    config = runtime_config(
        spec,
        role_arn=outputs.get("ExecutionRoleArn") or "<ExecutionRoleArn>",
        model_package_group_arn=outputs.get("ModelPackageGroupArn") or "<ModelPackageGroupArn>",
        output_uri=outputs.get("OutputUri") or spec.output.s3_uri or "<OutputUri>",
        train_uri=outputs.get("TrainUri") or ("<TrainUri>" if spec.data.create_bucket else None),
        evaluator_arn=reward_arn if spec.technique == "rlvr" else None,
        judge_prompt_evaluator_arn=(outputs.get("EvaluatorArn") or "<EvaluatorArn>")
        if spec.judge_prompt_path
        else None,
    )
    return with_evaluation(config, spec)


def _assumed_package(arn: str, hub_content: dict[str, Any]) -> dict[str, Any]:
    """A DescribeModelPackage answer for a package trained from the ``--hub-content`` version."""
    version = (
        hub_content.get("HubContentVersion") or str(hub_content.get("HubContentArn", "")).rsplit("/", 1)[-1]
    )
    print(
        _term.wrap(
            f"note: no --model-package-file; assuming the package was trained from "
            f"{hub_content.get('HubContentName')} version {version}"
        ),
        file=sys.stderr,
    )
    base = {"HubContentName": hub_content.get("HubContentName"), "HubContentVersion": version}
    return {"ModelPackageArn": arn, "InferenceSpecification": {"Containers": [{"BaseModel": base}]}}


def _offline(
    args: argparse.Namespace, spec: FineTuningSpec, config: WorkflowConfig
) -> tuple[dict[str, Any], dict[str, Any], None]:
    region = args.region or spec.region or "us-east-1"
    hub = plan.hub_content_from_file(files.read_json(args.hub_content, "--hub-content"), spec, region)
    params = files.read_json(args.recipe_params, "--recipe-params")  # a JSON object, or a one-line error
    if args.model_package_file:
        package = files.read_json(args.model_package_file, "--model-package-file")
        if package.get("ModelPackageArn") != args.model_package:
            raise _aws.CommandError(
                f"--model-package-file must be the DescribeModelPackage answer of {args.model_package} "
                "(its ModelPackageArn differs)",
                _aws.INVALID,
            )
    else:
        package = _assumed_package(args.model_package, hub)
    # the lookup the Lambda runs, with every recipe's override spec read from --recipe-params
    specs = evaluation_inputs.recipe_specs(
        None, config, hub, plan.PLACEHOLDER_ACCOUNT, read=lambda _uri: params
    )
    if (config.get("evaluation") or {}).get("judge"):
        print(
            "note: offline, the judge model is not checked against the service's allow-list", file=sys.stderr
        )
    return package, specs, None


def build(args: argparse.Namespace, spec: FineTuningSpec) -> dict[str, Any]:
    """``{"EvaluationJobs": [...]}`` for ``--model-package``, offline from files or through AWS lookups."""
    if spec.evaluation is None:
        raise _aws.CommandError("the spec has no evaluation block: add one to plan evaluations", _aws.INVALID)
    if not args.model_package:
        raise _aws.CommandError(
            "--evaluation needs --model-package ARN (the package to evaluate)", _aws.INVALID
        )
    if bool(args.hub_content) != bool(args.recipe_params):
        raise _aws.CommandError(
            "pass both --hub-content and --recipe-params (offline) or neither", _aws.INVALID
        )
    name = args.execution_name or "plan-" + dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    outputs = stack_outputs(load_outputs(args.outputs_file), spec) if args.outputs_file else {}
    if args.hub_content:
        config = _config(spec, outputs)
        package, specs, judges = _offline(args, spec, config)
    else:
        config = _config(spec, outputs or plan._deployed_outputs(args, spec))
        clients = preflight.Clients(
            sagemaker=_aws.client(args, "sagemaker"), s3=_aws.client(args, "s3"), sts=_aws.client(args, "sts")
        )
        package, specs, judges = evaluation_inputs.lookup(clients, config, args.model_package)
        if judges is None and (config.get("evaluation") or {}).get("judge"):
            print(
                _term.wrap(
                    "warning: cannot read the service's judge allow-list; the judge model is not checked"
                ),
                file=sys.stderr,
            )
    jobs = evaluation_request.build_evaluation_jobs(config, package, specs, name, judge_models=judges)
    if args.base_model:
        jobs += evaluation_request.build_evaluation_jobs(
            config, package, specs, name, judge_models=judges, base_model=True
        )
    return {"EvaluationJobs": [job["request"] for job in jobs]}
