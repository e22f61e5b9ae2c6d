"""``cdk-finetune plan SPEC``: print the exact CreateTrainingJob request the training workflow would send.

The request is built by the preflight Lambda's own code (``runtime/request.py``; online, ``runtime/preflight.py``
including its lookups and data checks). Offline, ``--hub-content`` (a ``DescribeHubContent`` answer, as
``aws sagemaker describe-hub-content`` prints it) and ``--recipe-params`` (the recipe's hyperparameter spec
JSON) replace the AWS lookups. Deploy-time values (role, group, data and output locations, evaluator) come from
``--outputs-file`` (``cdk deploy --outputs-file``), else from the deployed stack ``--stack`` (the project's
outputs, also in a platform's nested stacks) or ``FineTuning-<name>`` when online, else placeholders in angle brackets (``<ExecutionRoleArn>``, ``s3://<DataBucket>/train/...``,
``<EvaluatorArn>``), so every spec plans offline before anything is deployed. With ``data.register_dataset``
it prints ``{"ImportHubContent": ..., "CreateTrainingJob": ...}``: the dataset version a run would register
(hub, version and ARN as ``<placeholders>``) and the job training from it; nothing is registered.
Exit codes: 0 request printed, 1 AWS failure, 2 invalid spec/input or a preflight rejection.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Mapping
from typing import Any

from .. import files
from ..notebook import load_outputs, stack_outputs
from ..runtime import dataset_registry, errors, preflight, request
from ..runtime.workflow_contract import TrainingJobRequest, WorkflowConfig
from ..spec import FineTuningSpec
from ..workflow_config import runtime_config
from . import _aws, _spec, _term, plan_evaluation, project_outputs

PLACEHOLDER_ACCOUNT = "123456789012"
#: Deploy-time values a plan without outputs cannot know: stand-ins that pass the request builder's checks,
#: replaced by their ``<placeholder>`` in the printed request.
DATA_BUCKET_STAND_IN = "cdk-finetune-plan-data-bucket"
EVALUATOR_STAND_IN = (
    f"arn:aws:sagemaker:region:{PLACEHOLDER_ACCOUNT}:hub-content/cdk-finetune-plan/JsonDoc/evaluator/0.0.0"
)
PLACEHOLDERS = {
    f"s3://{DATA_BUCKET_STAND_IN}/": "s3://<DataBucket>/",
    EVALUATOR_STAND_IN: "<EvaluatorArn>",
    f'"DatasetS3Bucket": "{DATA_BUCKET_STAND_IN}"': '"DatasetS3Bucket": "<DataBucket>"',  # lineage document
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="print the CreateTrainingJob request the training workflow would send (dry run)",
        description="Build the exact CreateTrainingJob request with the training workflow's preflight code. "
        "Offline with --hub-content and --recipe-params; otherwise the hub content, recipe spec, model "
        "package group and data are looked up and checked in AWS.",
    )
    _spec.add_spec_arguments(parser)
    parser.add_argument(
        "--hub-content", metavar="FILE", help="DescribeHubContent answer of the base model (JSON)"
    )
    parser.add_argument("--recipe-params", metavar="FILE", help="the recipe's hyperparameter spec (JSON)")
    parser.add_argument("--execution-name", metavar="NAME", help="execution name (default: plan-<UTC time>)")
    parser.add_argument("--input", metavar="JSON", help='execution input, e.g. \'{"trainUri": "s3://..."}\'')
    parser.add_argument("--outputs-file", metavar="FILE", help="cdk deploy --outputs-file JSON for the stack")
    parser.add_argument(
        "--stack",
        metavar="STACK",
        help="deployed stack holding the project (a platform stack: its nested stacks are searched); "
        "default: FineTuning-<name>",
    )
    parser.add_argument(
        "--skip-data-check", action="store_true", help="online: skip data and evaluator checks"
    )
    plan_evaluation.add_arguments(parser)
    _aws.add_aws_options(parser, "the spec's region")
    parser.set_defaults(handler=run)


def hub_content_from_file(data: Any, spec: FineTuningSpec, region: str) -> dict[str, Any]:
    """Accept a DescribeHubContent answer, or a bare HubContentDocument when the spec pins a version."""
    if not isinstance(data, dict):
        raise _aws.CommandError("--hub-content must hold a JSON object", _aws.INVALID)
    if "HubContentDocument" in data:
        wrong = [
            k
            for k in ("HubContentName", "HubContentArn", "HubContentVersion")
            if not isinstance(data.get(k, ""), str)
        ]
        if wrong:
            raise _aws.CommandError(
                f"--hub-content: {', '.join(wrong)} must be text, as AWS returns it", _aws.INVALID
            )
        return data
    if "RecipeCollection" not in data:
        raise _aws.CommandError(
            "--hub-content must be a DescribeHubContent answer (with HubContentDocument) or a hub content "
            "document (with RecipeCollection)",
            _aws.INVALID,
        )
    if not spec.base_model_version:
        raise _aws.CommandError(
            "a bare hub content document has no ARN: set base_model_version in the spec or pass the whole "
            "DescribeHubContent answer",
            _aws.INVALID,
        )
    name = spec.hub_content_name
    owner = "aws" if spec.hub == "SageMakerPublicHub" else PLACEHOLDER_ACCOUNT
    return {
        "HubContentName": name,
        "HubContentArn": f"arn:aws:sagemaker:{region}:{owner}:hub-content/{spec.hub}/Model/{name}/"
        f"{spec.base_model_version}",
        "HubContentDocument": data,
    }


def config_for(spec: FineTuningSpec, outputs: dict[str, str], *, placeholders: bool = True) -> WorkflowConfig:
    """The workflow configuration from stack outputs; missing deploy-time values become stand-ins (see
    ``PLACEHOLDERS``), or an error naming what to pass when ``placeholders`` is false (an online data check)."""
    train_uri, validation_uri = outputs.get("TrainUri"), outputs.get("ValidationUri")
    if spec.data.create_bucket and not train_uri:
        if not placeholders:
            raise _aws.CommandError(
                "data.create_bucket is true, so the data location is only known after deployment: deploy "
                "the stack, pass --outputs-file, or plan offline / with --skip-data-check",
                _aws.INVALID,
            )
        train_uri = f"s3://{DATA_BUCKET_STAND_IN}/{spec.data.train}"
        if spec.data.validation:
            validation_uri = f"s3://{DATA_BUCKET_STAND_IN}/{spec.data.validation}"
    registered = spec.judge_prompt_path is not None or (
        spec.technique == "rlvr" and spec.reward is not None and not spec.reward.evaluator_arn
    )
    evaluator = outputs.get("EvaluatorArn")
    if registered and not evaluator:
        if not placeholders:
            raise _aws.CommandError(
                "the evaluator is registered at deploy time: pass --outputs-file with EvaluatorArn, or plan "
                "offline / with --skip-data-check",
                _aws.INVALID,
            )
        evaluator = EVALUATOR_STAND_IN
    return runtime_config(
        spec,
        role_arn=outputs.get("ExecutionRoleArn") or "<ExecutionRoleArn>",
        model_package_group_arn=outputs.get("ModelPackageGroupArn") or "<ModelPackageGroupArn>",
        output_uri=outputs.get("OutputUri") or spec.output.s3_uri or "<OutputUri>",
        train_uri=train_uri,
        validation_uri=validation_uri,
        evaluator_arn=evaluator if spec.technique == "rlvr" else None,
        judge_prompt_evaluator_arn=evaluator if spec.judge_prompt_path is not None else None,
    )


def with_placeholders(value: Any) -> Any:
    """``value`` with every stand-in replaced by its ``<placeholder>`` (strings inside dicts and lists too)."""
    if isinstance(value, dict):
        return {key: with_placeholders(item) for key, item in value.items()}
    if isinstance(value, list):
        return [with_placeholders(item) for item in value]
    if isinstance(value, str):
        for stand_in, placeholder in PLACEHOLDERS.items():
            value = value.replace(stand_in, placeholder)
    return value


def _deployed_outputs(args: argparse.Namespace, spec: FineTuningSpec) -> dict[str, str]:
    """``--stack`` (a platform stack: the spec's project in it), else ``FineTuning-<name>`` when deployed."""
    if args.stack:
        return project_outputs.find(args, args.stack, spec.name)
    try:
        return project_outputs.find(args, f"FineTuning-{spec.name}", None)
    except _aws.CommandError:  # not deployed: placeholders
        return {}


def build_plan(args: argparse.Namespace, spec: FineTuningSpec) -> Mapping[str, Any]:
    """The request (offline from files, else through the preflight's lookups)."""
    execution_input = request.parse_execution_input(json.loads(args.input)) if args.input else None
    name = args.execution_name or "plan-" + dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    offline = bool(args.hub_content and args.recipe_params)
    if bool(args.hub_content) != bool(args.recipe_params):
        raise _aws.CommandError(
            "pass both --hub-content and --recipe-params (offline) or neither", _aws.INVALID
        )
    outputs = stack_outputs(load_outputs(args.outputs_file), spec) if args.outputs_file else {}
    if offline:
        region = _aws.session(args).region_name or "us-east-1"  # the same precedence as online
        config = config_for(spec, outputs)
        hub = hub_content_from_file(files.read_json(args.hub_content, "--hub-content"), spec, region)
        params = files.read_json(args.recipe_params, "--recipe-params")
        execution = {"name": name, "input": execution_input, "sourceModelPackageArn": None}
        if execution_input and execution_input.get("baseModel"):
            raise _aws.CommandError(
                "baseModel (continuous customization) needs AWS: run plan online", _aws.INVALID
            )
        req = request.build_create_training_job_request(
            config, hub, params, execution, account=PLACEHOLDER_ACCOUNT, region=region
        )
        dataset = dataset_registry.train_from_dataset(
            None,
            config,
            req,
            region=region,
            account=None,  # the AI Registry hub's name depends on the real account
            field="input.trainUri" if (execution_input or {}).get("trainUri") else "data.train",
            dry_run=True,
        )
        return printable(req, dataset)
    outputs = outputs or _deployed_outputs(args, spec)
    config = config_for(spec, outputs, placeholders=args.skip_data_check)
    clients = preflight.Clients(
        sagemaker=_aws.client(args, "sagemaker"),
        s3=_aws.client(args, "s3"),
        sts=_aws.client(args, "sts"),
        lambda_=_aws.client(args, "lambda") if spec.technique == "rlvr" else None,  # the reward Lambda check
    )
    event = {"executionName": name, "input": execution_input}
    planned = preflight.plan(config, event, clients, check=not args.skip_data_check)
    return printable(planned["request"], planned.get("dataset"))


def printable(req: TrainingJobRequest, dataset: dict[str, Any] | None) -> Mapping[str, Any]:
    """The request; with lineage (``data.register_dataset``) ``{"ImportHubContent", "CreateTrainingJob"}``."""
    return {"ImportHubContent": dataset["request"], "CreateTrainingJob": req} if dataset else req


@_aws.friendly_errors
def run(args: argparse.Namespace) -> int:
    spec = _spec.load(args)
    try:
        req = plan_evaluation.build(args, spec) if args.evaluation else build_plan(args, spec)
    except json.JSONDecodeError as exc:
        raise _aws.CommandError(f"--input is not JSON: {exc}", _aws.INVALID) from None
    except errors.PreflightError as exc:
        where = f" ({exc.field})" if exc.field else ""
        print(
            _term.wrap(f"{exc.error_name}{where}: {with_placeholders(exc.message)}", "", "  "),
            file=sys.stderr,
        )
        return _aws.FAILED if isinstance(exc, errors.AwsError) else _aws.INVALID
    except ValueError as exc:  # stack outputs or configuration that cannot work
        raise _aws.CommandError(str(exc), _aws.INVALID) from None
    print(json.dumps(with_placeholders(req), indent=2))
    return 0
