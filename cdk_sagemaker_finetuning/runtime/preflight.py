"""Preflight Lambda of the training workflow (standard library + boto3 only).

Two actions, chosen by the event's ``action`` key:

``preflight`` (default)
    Event ``{"executionName": str, "input": <execution input or null>}``. Looks up the model package group,
    the source model package (continuous customization), the base model's hub content and recipe spec, the
    evaluators and the data, then returns ``{"request": <CreateTrainingJob request>, "trainingJobName": str,
    "hasHyperParameters": bool, "dataFormats": {channel: format}, "dataChecks": {channel: summary}}``
    (``data_scan.check_location``: every object under each data prefix, a sample of them read). Anything
    that would make the job fail raises a named :class:`errors.PreflightError` (``errorType``
    ``PreflightError.<Kind>``), never a bare ``KeyError``/``TypeError``.
``result``
    Event ``{"action": "result", "trainingJobName": str}``. Returns the workflow's output for a finished job:
    ``{trainingJobName, trainingJobArn, status, secondaryStatus, outputModelPackageArn, billableTokenCount,
    mlflowRunId, failureReason}`` (absent fields are ``null``; ``failureReason`` is always a string).

The configuration comes from the ``WORKFLOW_CONFIG`` environment variable (``workflow_config.py``).
``cdk-finetune plan`` calls :func:`plan` with its own clients.

Over 400 lines for now: the lookups are one Lambda's, in the order it runs them, and ``evaluation_step.py``
and ``evaluation_inputs.py`` reuse its private helpers; moving the lookups out is its own change.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import (
    aws_clients,
    data_scan,
    dataset_registry,
    errors,
    evaluator_check,
    models,
    request,
    workflow_contract,
)
from .workflow_contract import JobResult, PreflightResult, WorkflowConfig

NOT_FOUND = ("ResourceNotFound", "ResourceNotFoundException", "NoSuchKey", "NoSuchBucket", "404", "NotFound")


class Clients:
    """The AWS clients a preflight needs: the given ones (tests pass Stubber-wrapped clients), else the process's
    shared clients in ``region`` (default: the environment's; ``aws_clients``), created when first needed."""

    def __init__(
        self,
        sagemaker: Any = None,
        s3: Any = None,
        sts: Any = None,
        region: str | None = None,
        lambda_: Any = None,
    ) -> None:
        self.sagemaker = sagemaker or aws_clients.client("sagemaker", region)
        self.s3 = s3 or aws_clients.client("s3", region)
        self._sts = sts
        self._lambda = lambda_
        self._region = region
        self.region = self.sagemaker.meta.region_name

    def lambda_client(self) -> Any:
        """The Lambda client (created on first use, in the SageMaker client's region)."""
        if self._lambda is None:
            self._lambda = aws_clients.client("lambda", self.region)
        return self._lambda

    def account(self) -> str:
        sts = self._sts or aws_clients.client("sts", self._region)
        return sts.get_caller_identity()["Account"]


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _not_found(exc: ClientError) -> bool:
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return (
        _code(exc) in NOT_FOUND
        or (_code(exc) == "ValidationException" and "not found" in message)
        or (_code(exc) == "ValidationException" and "does not exist" in message)
    )


_aws_error = errors.from_aws


def load_config(raw: str | None = None) -> WorkflowConfig:
    """Parse and check the baked configuration (``WORKFLOW_CONFIG``, a :class:`WorkflowConfig`)."""
    text = os.environ.get("WORKFLOW_CONFIG") if raw is None else raw
    try:
        config = json.loads(text or "")
    except json.JSONDecodeError as exc:
        raise errors.InvalidInput(f"WORKFLOW_CONFIG is not valid JSON: {exc}", field="config") from None
    if not isinstance(config, dict) or config.get("version") != workflow_contract.CONFIG_VERSION:
        raise errors.InvalidInput(
            "WORKFLOW_CONFIG must be a version 1 workflow configuration", field="config"
        )
    try:
        return workflow_contract.check_config(config, absent_is_null=True)
    except workflow_contract.ConfigProblem as exc:
        raise errors.InvalidInput(f"WORKFLOW_CONFIG {exc}", field=f"config.{exc.key}") from None


# -- lookups -----------------------------------------------------------------------------------------------


def check_model_package_group(clients: Clients, config: WorkflowConfig) -> None:
    name = config.get("modelPackageGroupName")
    try:
        clients.sagemaker.describe_model_package_group(ModelPackageGroupName=name)
    except ClientError as exc:
        if _not_found(exc):
            raise errors.ModelPackageGroupNotFound(
                f"model package group {name!r} does not exist; deploy the stack or set "
                "model_package_group.existing: false",
                field="model_package_group.name",
            ) from None
        raise _aws_error(exc, "DescribeModelPackageGroup") from None


def check_no_running_job(clients: Clients, config: WorkflowConfig, own_job: str) -> None:
    """One job per project at a time (unless ``allowConcurrentRuns``): triggers never start a second job."""
    if config.get("allowConcurrentRuns"):
        return
    prefix = f"{config['jobNamePrefix']}-"
    try:
        summaries = clients.sagemaker.list_training_jobs(
            NameContains=prefix, StatusEquals="InProgress", MaxResults=100
        ).get("TrainingJobSummaries", [])
    except ClientError as exc:
        raise _aws_error(exc, "ListTrainingJobs") from None
    running = sorted(
        s["TrainingJobName"]
        for s in summaries
        if s["TrainingJobName"].startswith(prefix) and s["TrainingJobName"] != own_job
    )
    if running:
        raise errors.JobAlreadyRunning(
            f"training job {running[0]} of this project is still running; start a new run when it has finished "
            "(or stop it first)",
            field="execution",
        )


def source_model_package(clients: Clients, config: WorkflowConfig, execution_input: Mapping[str, Any]):
    """``(source package ARN, base model hub content name)`` for continuous customization, else ``(None, None)``.

    ``"latest"`` with no (approved) package in the group yet is the first round: it trains the hub base model.
    """
    base = execution_input.get("baseModel")
    if not base:
        return None, None
    group = config.get("modelPackageGroupName")
    if base == "latest":
        approved = execution_input.get("approvedOnly", config.get("approvedOnly", False))
        args = {
            "ModelPackageGroupName": group,
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 1,
        }
        if approved:
            args["ModelApprovalStatus"] = "Approved"
        try:
            packages = clients.sagemaker.list_model_packages(**args).get("ModelPackageSummaryList", [])
        except ClientError as exc:
            raise _aws_error(exc, "ListModelPackages") from None
        if not packages:  # the first round: fall back to the hub base model
            return None, None
        base = packages[0]["ModelPackageArn"]
    try:
        package = clients.sagemaker.describe_model_package(ModelPackageName=base)
    except ClientError as exc:
        if _not_found(exc):
            raise errors.ModelPackageNotFound(
                f"model package {base} does not exist", field="input.baseModel"
            ) from None
        raise _aws_error(exc, "DescribeModelPackage") from None
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or [{}]
    name = ((containers[0] or {}).get("BaseModel") or {}).get("HubContentName")
    if not name:
        raise errors.ModelNotFound(
            f"{base} has no BaseModel.HubContentName: continued fine-tuning is only allowed on model packages "
            "fine-tuned from SageMaker Hub models",
            field="input.baseModel",
        )
    return package.get("ModelPackageArn", base), name


def describe_base_model(clients: Clients, hub: str, name: str, version: str | None) -> dict[str, Any]:
    args = {"HubName": hub, "HubContentType": "Model", "HubContentName": name}
    if version:
        args["HubContentVersion"] = version
    try:
        return clients.sagemaker.describe_hub_content(**args)
    except ClientError as exc:
        if _not_found(exc):
            pinned = f" version {version}" if version else ""
            raise errors.ModelNotFound(
                f"base model {name!r}{pinned} is not in hub {hub!r} in {clients.region}", field="base_model"
            ) from None
        raise _aws_error(exc, "DescribeHubContent") from None


def _get_json(clients: Clients, uri: str) -> dict[str, Any]:
    bucket, key = request.split_s3_uri(uri)
    body = clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    spec = json.loads(body)
    if not isinstance(spec, dict):
        raise ValueError("not a JSON object")
    return spec


def recipe_spec(clients: Clients, config: WorkflowConfig, document: Mapping[str, Any], account: str) -> dict:
    """The selected recipe's hyperparameter spec, with subscription keys merged as the SDK does."""
    recipe, subscription = request.select_recipe(
        document,
        config["technique"],
        config["trainingType"],
        config.get("sequenceLength"),
        model=config.get("baseModel", "the base model"),
    )
    uri = request.spec_uri(recipe, account)
    if not uri:
        return {}
    try:
        spec = _get_json(clients, uri)
    except (ClientError, BotoCoreError, ValueError) as exc:
        raise errors.RecipeSpecUnavailable(
            f"cannot read the recipe's hyperparameter spec {uri}: {exc}"
        ) from None
    sub_uri = request.spec_uri(subscription, account) if subscription else None
    if sub_uri:
        with contextlib.suppress(ClientError, BotoCoreError, ValueError):  # the SDK ignores it too
            spec = request.merge_subscription_spec(spec, _get_json(clients, sub_uri))
    return spec


def check_evaluator(clients: Clients, config: WorkflowConfig, arn: str | None, field: str) -> None:
    """The evaluator exists, is Available, has the technique's type and region, and its Lambda exists."""
    if arn:
        evaluator_check.check(
            clients.sagemaker,
            clients.lambda_client,
            arn,
            technique=config["technique"],
            region=clients.region,
            field=field,
            granted_lambda=config.get("rewardLambdaArn"),
        )


# -- data --------------------------------------------------------------------------------------------------


def _dataset_location(clients: Clients, arn: str, field: str) -> str | None:
    """Check an AI Registry dataset is Available; return its ``s3://`` source when the document names it."""
    hub, kind, name, version = arn.split(":", 5)[5].split("/")[1:5]
    try:
        content = clients.sagemaker.describe_hub_content(
            HubName=hub, HubContentType=kind, HubContentName=name, HubContentVersion=version
        )
    except ClientError as exc:
        if _not_found(exc):
            raise errors.DatasetNotFound(f"dataset {arn} does not exist", field=field) from None
        raise _aws_error(exc, "DescribeHubContent (dataset)") from None
    if content.get("HubContentStatus") != "Available":
        raise errors.DatasetNotFound(
            f"dataset {arn} is {content.get('HubContentStatus')}, not Available", field=field
        )
    try:
        doc = request.hub_document(content)
    except errors.PreflightError:
        return None
    bucket, key = doc.get("DatasetS3Bucket"), doc.get("DatasetS3Prefix")
    return f"s3://{bucket}/{key}" if bucket and key else None


def check_data(
    clients: Clients,
    channel: str,
    source: str,
    technique: str,
    nova: bool,
    budget: data_scan.Budget | None = None,
) -> tuple[str | None, dict[str, Any]]:
    """Check every object of a data channel (S3 URI or dataset ARN); return ``(format, summary)``."""
    field = f"data.{channel}"
    uri = source if source.startswith("s3://") else _dataset_location(clients, source, field)
    if uri is None:
        return None, {}
    return data_scan.check_location(clients.s3, uri, technique, nova, field=field, budget=budget)


# -- entry points ------------------------------------------------------------------------------------------


def plan(
    config: WorkflowConfig,
    event: Mapping[str, Any],
    clients: Clients,
    *,
    check: bool = True,
    register: bool = False,
) -> PreflightResult:
    """Run every lookup and build the request; ``check=False`` skips the evaluator and data checks.

    With lineage on (``registerDataset``), ``register=True`` (the Lambda) registers the checked training
    object as a dataset version and trains from its ARN; otherwise ``dataset`` holds the request it would send.
    """
    execution_input, name = _execution(event, clients, check)
    account = _account(clients)
    check_model_package_group(clients, config)
    if check:
        check_no_running_job(clients, config, request.job_name(config.get("jobNamePrefix"), name))
    source_arn, model, hub = _base_model(clients, config, execution_input)
    document = request.hub_document(hub)
    spec = recipe_spec(clients, {**config, "baseModel": model}, document, account)
    execution = {"name": name, "input": execution_input, "sourceModelPackageArn": source_arn}
    req = request.build_create_training_job_request(
        config, hub, spec, execution, account=account, region=clients.region
    )
    formats, summaries = _check_request(clients, config, req, model) if check else ({}, {})
    dataset = dataset_registry.train_from_dataset(
        clients.sagemaker,
        config,
        req,
        region=clients.region,
        account=account,
        field="input.trainUri" if execution_input.get("trainUri") else "data.train",
        dry_run=not register,
    )
    result: PreflightResult = {
        "request": req,
        "trainingJobName": req["TrainingJobName"],
        "hasHyperParameters": "HyperParameters" in req,
        "dataFormats": formats,
        "dataChecks": summaries,
    }
    if dataset:
        result["dataset"] = dataset
    return result


def _execution(event: Any, clients: Clients, check: bool) -> tuple[dict[str, Any], str]:
    """``(execution input, execution name)`` of a preflight event; with ``check``, input data URIs whose key
    exists only URL-decoded use the decoded key."""
    if not isinstance(event, Mapping):
        raise errors.InvalidInput(
            f"the event must be a JSON object, got {type(event).__name__}", field="event"
        )
    execution_input = request.parse_execution_input(event.get("input"))
    if check:
        execution_input = _decoded_keys(clients, execution_input)
    name = event.get("executionName")
    if not isinstance(name, str) or not name:
        raise errors.InvalidInput(
            "the event lacks executionName (use $$.Execution.Name)", field="executionName"
        )
    return execution_input, name


def _account(clients: Clients) -> str:
    try:
        return clients.account()
    except (ClientError, BotoCoreError) as exc:
        raise _aws_error(exc, "GetCallerIdentity") from None


def _base_model(
    clients: Clients, config: WorkflowConfig, execution_input: Mapping[str, Any]
) -> tuple[str | None, str, dict[str, Any]]:
    """``(source package ARN or None, hub content name, DescribeHubContent answer)`` of the model to train:
    the source package's base model (continuous customization, latest version) or the configured one."""
    source_arn, source_model = source_model_package(clients, config, execution_input)
    model = source_model or config.get("baseModel")
    version = None if source_model else config.get("baseModelVersion")
    hub = describe_base_model(clients, config.get("hubName") or models.PUBLIC_HUB, model, version)
    return source_arn, model, hub


def _check_request(
    clients: Clients, config: WorkflowConfig, req: Mapping[str, Any], model: str
) -> tuple[dict[str, str | None], dict[str, dict[str, Any]]]:
    """Check the request's evaluator, then (unless ``checkData`` is off) every data channel; return
    ``(format, summary)`` per channel name."""
    formats: dict[str, str | None] = {}
    summaries: dict[str, dict[str, Any]] = {}
    evaluator = req["ServerlessJobConfig"].get("EvaluatorArn")
    check_evaluator(
        clients,
        config,
        evaluator,
        "reward.evaluator_arn" if config["technique"] == "RLVR" else "rlaif.prompt",
    )
    if config.get("checkData", True):
        budget = data_scan.Budget()
        for channel in req["InputDataConfig"]:
            name = channel["ChannelName"]
            formats[name], summaries[name] = check_data(
                clients,
                name,
                _channel_source(channel),
                config["technique"],
                models.is_nova(model),
                budget,
            )
    return formats, summaries


def _decoded_keys(clients: Clients, execution_input: dict[str, Any]) -> dict[str, Any]:
    """Input data URIs whose key does not exist but whose URL-decoded key does use the decoded key."""
    for key in ("trainUri", "validationUri"):
        uri = execution_input.get(key)
        if isinstance(uri, str) and uri.startswith("s3://"):
            bucket, object_key = request.split_s3_uri(uri)
            try:
                resolved = data_scan.existing_key(clients.s3, bucket, object_key)
            except ClientError as exc:
                raise _aws_error(exc, f"ListObjectsV2 on {uri}") from None
            execution_input[key] = f"s3://{bucket}/{resolved}"
    return execution_input


def _channel_source(channel: Mapping[str, Any]) -> str:
    data = channel["DataSource"]
    return data["S3DataSource"]["S3Uri"] if "S3DataSource" in data else data["DatasetSource"]["DatasetArn"]


def job_result(clients: Clients, job_name: str | None, config: WorkflowConfig | None = None) -> JobResult:
    """The workflow output for a finished job; absent fields are null, ``failureReason`` always a string.

    With lineage on (``registerDataset``), a completed job's package first gets its ``lineage:`` metadata, so
    no package is approved without it (a failure fails the run before the approval status is set)."""
    if not isinstance(job_name, str) or not job_name:
        raise errors.InvalidInput("the event lacks trainingJobName", field="trainingJobName")
    try:
        job = clients.sagemaker.describe_training_job(TrainingJobName=job_name)
    except ClientError as exc:
        raise _aws_error(exc, "DescribeTrainingJob") from None
    status = job.get("TrainingJobStatus")
    if status == "Completed" and config is not None and config.get("registerDataset"):
        dataset_registry.record_lineage(clients.sagemaker, job)
    reason = job.get("FailureReason") or ("" if status == "Completed" else f"the training job is {status}")
    return {
        "trainingJobName": job.get("TrainingJobName", job_name),
        "trainingJobArn": job.get("TrainingJobArn"),
        "status": status,
        "secondaryStatus": job.get("SecondaryStatus"),
        "outputModelPackageArn": job.get("OutputModelPackageArn"),
        "billableTokenCount": job.get("BillableTokenCount"),
        "mlflowRunId": (job.get("MlflowDetails") or {}).get("MlflowRunId"),
        "failureReason": reason,
    }


def handler(event: Any, context: Any = None, clients: Clients | None = None) -> PreflightResult | JobResult:
    """Lambda entry point; every failure is a named ``PreflightError``."""
    try:
        clients = clients or Clients()
        if isinstance(event, Mapping) and event.get("action") == "result":
            config = load_config() if "WORKFLOW_CONFIG" in os.environ else None  # lineage only
            return job_result(clients, event.get("trainingJobName"), config)
        if isinstance(event, Mapping) and event.get("action", "preflight") != "preflight":
            raise errors.InvalidInput(
                f"unknown action {event.get('action')!r}; use preflight or result", field="action"
            )
        planned = plan(load_config(), event, clients, register=True)
        print(json.dumps({"level": "INFO", "message": "data checked", "dataChecks": planned["dataChecks"]}))
        return planned
    except errors.PreflightError as exc:
        print(json.dumps({"level": "ERROR", **exc.to_dict()}))
        raise
    except (ClientError, BotoCoreError) as exc:
        raise _aws_error(exc, "an AWS call") from None
    except Exception as exc:  # a bug must still surface as a named, catchable error
        raise errors.PreflightError(f"internal error: {type(exc).__name__}: {exc}") from None
