"""The evaluation step's Lambda: start, poll and stop the evaluation jobs of one package, then gate it.

Standard library + boto3 only; the workflow configuration comes from ``WORKFLOW_CONFIG`` (its ``evaluation``
block). Actions, chosen by the event's ``action`` key; each returns the step's *state*, a small JSON object
(job names and statuses, plus the request of a job not started yet) that Step Functions passes back in:

``start``
    ``{"executionName", "modelPackageArn", "model": "package" | "base", "state": <state, optional>}``.
    Preflight (the package's pinned base model, the judge allow-list from the hub's metadata, the gate metric,
    the evaluation dataset's format), then ``CreateTrainingJob`` for every job whose ``after`` is empty.
    ``model: base`` adds the jobs that evaluate the base model (the gate's reference) to ``state``.
``poll``
    ``{"state"}``. ``DescribeTrainingJob`` for every running job; starts a job whose ``after`` job completed
    (the judge's metrics job); ``state.done`` once every job completed. A failed or stopped job raises
    ``EvaluationError.EvaluationJobFailed`` with its ``FailureReason`` (the package is left as it is).
``stop``
    ``{"executionName"}`` (an EventBridge execution status change event's ``detail.name`` works too). Stops
    every still-running evaluation job of the execution; names are derived, so no state is needed.
``gate``
    ``{"state"}``. See ``evaluation_gate.py``.

A job name that already exists (``ResourceInUse``) is this execution's job (names are deterministic), so a
retried start is idempotent. ``CreateTrainingJob`` errors are named ``SageMaker.<Code>Exception`` as in
``create_training_job.py``; every other failure is a named ``PreflightError.<Kind>`` / ``EvaluationError.<Kind>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from . import create_training_job, data_scan, errors, evaluation_gate, preflight, retry
from . import evaluation_catalog as catalog
from . import evaluation_config as config_inputs
from . import evaluation_inputs as lookups
from . import evaluation_request as builder
from .workflow_contract import WorkflowConfig

#: Formats an evaluation dataset may have (judge and custom scorer: ``{"query", "response"}`` lines).
EVALUATION_FORMATS = ("sagemaker_eval",)
PENDING, RUNNING, COMPLETED = "Pending", "InProgress", "Completed"
#: The workflow's state holding the evaluation step (``cdk-finetune status`` finds it in the history).
EVALUATE_STATE = "Evaluate"
FAILED = ("Failed", "Stopped", "Stopping")


# -- preflight ---------------------------------------------------------------------------------------------


def check_gate_metric(evaluation: Mapping[str, Any]) -> None:
    """The gate's metric is one the chosen evaluations produce (a custom scorer's names are open-ended)."""
    gate = evaluation.get("gate")
    metric = gate.get("metric") if isinstance(gate, Mapping) else None
    if not gate:
        return
    problem = (
        config_inputs.gate_metric_problem(evaluation, metric)
        if isinstance(metric, str)
        else f"{config_inputs._show(metric)} must be <evaluation>/<metric>, e.g. mmlu/accuracy"
    )
    if problem:
        raise errors.InvalidInput(problem, field="evaluation.gate.metric")


#: Where to grant the evaluation Lambda read on a dataset location (``DatasetAccessDenied``, skip notes).
EVALUATION_ACCESS_FIX = "grant the workflow's evaluation function read on it, e.g. bucket.grant_read(workflow.evaluation_function)"


def check_dataset(clients: preflight.Clients, evaluation: Mapping[str, Any], nova: bool) -> dict[str, Any]:
    """The evaluation dataset has the right format: an S3 URI (read granted at synth), or the S3 location a
    registry dataset names (``DescribeHubContent``, granted on that dataset's versions).

    A registry dataset's location is known only now, so the Lambda may not be granted read on it: then its
    format is not checked and the summary says so (``checked: false`` and a ``note`` with the fix; the
    evaluation jobs read the data as the training role). An S3 URI it may not read is
    ``PreflightError.DatasetAccessDenied``.
    """
    source = evaluation.get("dataset")
    if not source or not (evaluation.get("judge") or evaluation.get("customScorer")):
        return {}
    field = "evaluation.dataset"
    registry = not source.startswith("s3://")
    uri = preflight._dataset_location(clients, source, field) if registry else source
    if uri is None:
        return {
            "dataset": source,
            "checked": False,
            "note": f"{field} {source}: format not checked: its document names no S3 location "
            "(DatasetS3Bucket, DatasetS3Prefix)",
        }
    try:
        _, summary = data_scan.check_location(
            clients.s3,
            uri,
            "evaluation",
            nova,
            field=field,
            formats=EVALUATION_FORMATS,
            access_fix=EVALUATION_ACCESS_FIX,
        )
    except errors.DatasetAccessDenied as exc:
        if not registry:
            raise
        note = f"{field} {source}: format not checked. {exc.message}"
        print(json.dumps({"level": "WARNING", "field": field, "message": note}))
        return {"dataset": source, "location": uri, "checked": False, "note": note}
    return summary


# -- jobs --------------------------------------------------------------------------------------------------


def _entry(job: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": job["request"]["TrainingJobName"],
        "evaluation": job["evaluation"],
        "kind": job["kind"],
        "model": job["model"],
        "after": job["after"],
        "status": PENDING,
        "request": job["request"],
    }


def create(sagemaker: Any, job: dict[str, Any]) -> None:
    """Start one pending job (``ResourceInUse``: this execution's job exists already); mark it running."""
    try:
        retry.call(sagemaker.create_training_job, **job["request"])
    except ParamValidationError as exc:
        raise errors.InvalidInput(
            f"the CreateTrainingJob request is invalid: {exc}", field="request"
        ) from None
    except (ClientError, BotoCoreError) as exc:
        error = create_training_job.sagemaker_error(exc)
        if type(error).__name__ != "SageMaker.ResourceInUseException":
            print(
                json.dumps({"level": "ERROR", "trainingJobName": job["name"], "error": type(error).__name__})
            )
            raise error from None
    job.pop("request", None)
    job["status"] = RUNNING
    print(json.dumps({"trainingJobName": job["name"], "action": "started"}))


def _start_ready(sagemaker: Any, jobs: list[dict[str, Any]]) -> None:
    statuses = {job["name"]: job["status"] for job in jobs}
    for job in jobs:
        if job["status"] == PENDING and (not job["after"] or statuses.get(job["after"]) == COMPLETED):
            create(sagemaker, job)
            statuses[job["name"]] = job["status"]


def _summary(state: dict[str, Any]) -> dict[str, Any]:
    state["done"] = all(job["status"] == COMPLETED for job in state["jobs"])
    return state


def start(config: WorkflowConfig, event: Mapping[str, Any], clients: preflight.Clients) -> dict[str, Any]:
    """Preflight the evaluations of the package (or its base model) and start every independent job."""
    package_arn: Any  # checked by model_group_arn below
    name, package_arn = event.get("executionName"), event.get("modelPackageArn")
    if not isinstance(name, str) or not name:
        raise errors.InvalidInput(
            "the event lacks executionName (use $$.Execution.Name)", field="executionName"
        )
    model = event.get("model", "package")
    if model not in ("package", "base"):
        raise errors.InvalidInput(
            f"model {config_inputs._show(model)} must be package or base", field="model"
        )
    state = load_state(event["state"]) if event.get("state") is not None else None
    evaluation = config_inputs.evaluation_block(config)
    check_gate_metric(evaluation)
    config_inputs.model_group_arn(package_arn)  # a well-formed package ARN, else a named error
    package, specs, judge_models = lookups.lookup(clients, config, package_arn)
    model_name, _ = config_inputs.base_model(package, hub=config.get("hubName"))
    dataset = check_dataset(clients, evaluation, catalog.is_nova(model_name))
    planned = builder.build_evaluation_jobs(
        config, package, specs, name, judge_models=judge_models, base_model=model == "base"
    )
    if state and state["modelPackageArn"] != package["ModelPackageArn"]:
        raise errors.InvalidState(
            f"the state is of {state['modelPackageArn']}, not of {package['ModelPackageArn']}", field="state"
        )
    state = state or {"executionName": name, "modelPackageArn": package["ModelPackageArn"], "jobs": []}
    known = {job["name"] for job in state["jobs"]}
    state["jobs"].extend(_entry(job) for job in planned if job["request"]["TrainingJobName"] not in known)
    _start_ready(clients.sagemaker, state["jobs"])
    state["datasetCheck"] = dataset
    return _summary(state)


def poll(clients: preflight.Clients, state: dict[str, Any]) -> dict[str, Any]:
    """Refresh running jobs, start the ones now ready; a failed job is ``EvaluationError.EvaluationJobFailed``."""
    for job in state["jobs"]:
        if job["status"] != RUNNING:
            continue
        try:
            answer = retry.call(clients.sagemaker.describe_training_job, TrainingJobName=job["name"])
        except (ClientError, BotoCoreError) as exc:
            raise errors.from_aws(
                exc, f"DescribeTrainingJob {job['name']}", errors.EvaluationAwsError
            ) from None
        job["status"] = str(answer.get("TrainingJobStatus") or RUNNING)
        if job["status"] in FAILED:
            reason = answer.get("FailureReason") or f"the job is {job['status']}"
            raise errors.EvaluationJobFailed(
                f"evaluation job {job['name']} ({job['evaluation']}, {job['model']}) {job['status']}: {reason}",
                field=job["evaluation"],
            )
    _start_ready(clients.sagemaker, state["jobs"])
    return _summary(state)


def job_names(config: WorkflowConfig, execution_name: str) -> list[str]:
    """Every evaluation job name the execution can have (package and base model)."""
    suffixes = builder.job_suffixes(config_inputs.evaluation_block(config))
    return builder.job_names(config.get("jobNamePrefix"), execution_name, suffixes)


def stop(config: WorkflowConfig, sagemaker: Any, execution_name: Any) -> dict[str, Any]:
    """Stop every running evaluation job of the execution; finished or missing jobs are left alone."""
    if not isinstance(execution_name, str) or not execution_name:
        raise errors.InvalidInput("the event lacks executionName", field="executionName")
    names = set(job_names(config, execution_name))
    args: dict[str, Any] = {"NameContains": f"{config['jobNamePrefix']}-", "StatusEquals": RUNNING}
    running: list[str] = []
    try:
        while True:
            page = retry.call(sagemaker.list_training_jobs, **args)
            running += [s["TrainingJobName"] for s in page.get("TrainingJobSummaries", [])]
            token = page.get("NextToken")
            if not token or token == args.get("NextToken"):
                break
            args["NextToken"] = token
    except (ClientError, BotoCoreError) as exc:
        raise errors.from_aws(exc, "ListTrainingJobs", errors.EvaluationAwsError) from None
    running = sorted(name for name in set(running) if name in names)
    stopped, not_stoppable = [], []
    for name in running:
        try:
            retry.call(sagemaker.stop_training_job, TrainingJobName=name)
            stopped.append(name)
        except ClientError as exc:  # finished meanwhile (ValidationException) or gone
            if preflight._code(exc) not in ("ValidationException", "ResourceNotFound"):
                raise errors.from_aws(exc, f"StopTrainingJob {name}", errors.EvaluationAwsError) from None
            not_stoppable.append(name)
    return {"executionName": execution_name, "stopped": stopped, "notStoppable": not_stoppable}


# -- the state ---------------------------------------------------------------------------------------------

_JOB_KEYS = {"name": str, "evaluation": str, "kind": str, "model": str, "status": str}


def load_state(raw: Any) -> dict[str, Any]:
    """The state a previous action returned, its shape checked (``EvaluationError.InvalidState``)."""
    jobs: Any = raw.get("jobs") if isinstance(raw, Mapping) else None
    ok = isinstance(jobs, list) and bool(jobs) and isinstance(raw.get("modelPackageArn"), str)
    for job in jobs if ok else ():
        ok = ok and isinstance(job, Mapping) and all(isinstance(job.get(k), t) for k, t in _JOB_KEYS.items())
        ok = ok and (job.get("after") is None or isinstance(job.get("after"), str))
        ok = ok and (job.get("status") != PENDING or isinstance(job.get("request"), Mapping))
    if not ok:
        raise errors.InvalidState(
            "expected the state a previous start/poll returned: {modelPackageArn, jobs: [{name, evaluation, "
            "kind, model, after, status, request (while Pending)}]}",
            field="state",
        )
    return {**raw, "jobs": [dict(job) for job in jobs]}


def run(config: WorkflowConfig, event: Any, clients: preflight.Clients) -> dict[str, Any]:
    """Dispatch one event (``cdk-finetune`` and tests call this with their own clients)."""
    if not isinstance(event, Mapping):
        raise errors.InvalidInput(
            f"the event must be a JSON object, got {type(event).__name__}", field="event"
        )
    action = event.get("action")
    if action == "start":
        return start(config, event, clients)
    if action == "poll":
        return poll(clients, load_state(event.get("state")))
    if action == "gate":
        return evaluation_gate.gate(config, clients, load_state(event.get("state")))
    if action == "stop":
        detail: Mapping[str, Any] = event["detail"] if isinstance(event.get("detail"), Mapping) else {}
        return stop(config, clients.sagemaker, event.get("executionName") or detail.get("name"))
    raise errors.InvalidInput(
        f"unknown action {config_inputs._show(action)}; use start, poll, stop or gate", field="action"
    )


def handler(event: Any, context: Any = None, clients: preflight.Clients | None = None) -> dict[str, Any]:
    """Lambda entry point; every failure is a named error, logged as one JSON line."""
    try:
        clients = clients or preflight.Clients()
        result = run(preflight.load_config(), event, clients)
        print(json.dumps({"level": "INFO", "action": event.get("action"), "done": result.get("done")}))
        return result
    except (errors.PreflightError, create_training_job.SageMakerError) as exc:
        body = exc.to_dict() if isinstance(exc, errors.PreflightError) else {"error": type(exc).__name__}
        print(json.dumps({"level": "ERROR", **body}))
        raise
    except (ClientError, BotoCoreError) as exc:
        raise errors.from_aws(exc, "an AWS call", errors.EvaluationAwsError) from None
    except Exception as exc:  # a bug must still surface as a named, catchable error
        raise errors.EvaluationError(f"internal error: {type(exc).__name__}: {exc}") from None
