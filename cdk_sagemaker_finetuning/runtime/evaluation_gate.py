"""The evaluation gate: record a package's scores, compare them with the reference, set its approval status.

Standard library + boto3 only; the ``gate`` action of ``evaluation_step.py``. Algorithm:

1. Read every completed job's results (``evaluation_results.read_job_scores``): the package's jobs give the
   candidate's scores, the base-model jobs (if the state has them) the base model's.
2. Record them on the package with ``UpdateModelPackage`` ``CustomerMetadataProperties``:
   ``eval:<evaluation>/<metric>`` = score, ``eval-results:<evaluation>`` = results file S3 URI, and the base
   model's as ``eval-base:<evaluation>/<metric>`` / ``eval-base-results:<evaluation>`` with ``eval-base:model`` =
   the pinned base model ARN (a hub model has no metadata of its own). The API allows 50 properties, keys of
   128 and values of 256 characters from ``[letters digits space _.:/=+-@]``: other characters in a key become
   ``_``; what does not fit is listed in ``notRecorded`` (the gate's own metric goes first).
3. The reference: ``compare_to: approved``: the newest Approved package of the group other than the candidate
   (``ListModelPackages``), its recorded ``eval:`` scores. With no Approved package (the first round), no
   recorded gate metric on it, or ``compare_to: base``: the base model's scores, from this state's base jobs,
   else recorded on the candidate or on the newest Approved package for the same pinned base model version.
   None of these: the answer is ``decision: NeedsReference`` (scores recorded, status unchanged), and the
   workflow starts the base-model jobs (``start`` with ``model: base``) and calls ``gate`` again; a state that
   has base-model jobs whose results lack the gate metric is ``EvaluationError.GateMetricMissing`` (the
   reference is evaluated once per execution, never in a loop).
4. ``candidate - reference >= min_delta`` -> ``Approved``, else ``on_fail``; without a gate the configured
   ``approvalStatus``. A candidate without the gate metric is ``EvaluationError.GateMetricMissing``.

Returns ``{decision, approvalStatus, gate, reference, scores: {metric: {candidate, reference, delta}},
resultsFiles, notRecorded}`` for the execution output and the notifications, plus ``notes`` when the start
left one (the evaluation dataset's format not checked: ``evaluation_step.check_dataset``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import errors, evaluation_results, preflight, retry
from . import evaluation_config as config_inputs

SCORE, RESULTS = "eval:", "eval-results:"
BASE_SCORE, BASE_RESULTS, BASE_MODEL = "eval-base:", "eval-base-results:", "eval-base:model"
MAX_PROPERTIES, MAX_KEY, MAX_VALUE = 50, 128, 256
_NOT_ALLOWED = re.compile(r"[^\w .:/=+\-@]")
NEEDS_REFERENCE = "NeedsReference"


def _aws(call: Any, doing: str, **params: Any) -> Any:
    try:
        return retry.call(call, **params)
    except (ClientError, BotoCoreError) as exc:
        raise errors.from_aws(exc, doing, errors.EvaluationAwsError) from None


def _scores(metadata: Mapping[str, str], prefix: str) -> dict[str, float]:
    """Recorded scores under ``prefix`` (``eval:`` or ``eval-base:``); unparsable values are skipped."""
    scores = {}
    for key, value in metadata.items():
        if key.startswith(prefix) and "/" in key:
            try:
                score = float(value)
            except (TypeError, ValueError):
                continue
            if math.isfinite(score):
                scores[key.removeprefix(prefix)] = score
    return scores


def read_scores(
    clients: preflight.Clients, jobs: list[dict[str, Any]], model: str
) -> tuple[dict[str, float], dict[str, str]]:
    """``(scores, {evaluation: results URI})`` of the state's completed jobs of ``model``."""
    scores: dict[str, float] = {}
    files: dict[str, str] = {}
    for job in jobs:
        if job["model"] != model or job["kind"] == "inference":
            continue
        answer = _aws(
            clients.sagemaker.describe_training_job,
            f"DescribeTrainingJob {job['name']}",
            TrainingJobName=job["name"],
        )
        try:
            job_scores, uri = evaluation_results.read_job_scores(clients.s3, answer)
        except (ClientError, BotoCoreError) as exc:
            raise errors.from_aws(
                exc, f"reading the results of {job['name']}", errors.EvaluationAwsError
            ) from None
        scores.update(job_scores)
        if uri:
            files[job["evaluation"]] = uri
    return scores, files


def properties(
    candidate: Mapping[str, float],
    files: Mapping[str, str],
    base: Mapping[str, float],
    base_files: Mapping[str, str],
    base_arn: str,
    existing: Mapping[str, str],
    metric: str | None,
) -> tuple[dict[str, str], list[str]]:
    """``(CustomerMetadataProperties to write, keys not recorded)`` within the API's limits."""
    wanted = [(f"{SCORE}{k}", repr(v)) for k, v in candidate.items()]
    if base:
        wanted += [(f"{BASE_SCORE}{k}", repr(v)) for k, v in base.items()] + [(BASE_MODEL, base_arn)]
    wanted += [(f"{RESULTS}{k}", v) for k, v in files.items()]
    wanted += [(f"{BASE_RESULTS}{k}", v) for k, v in base_files.items()]
    first = {f"{SCORE}{metric}", f"{BASE_SCORE}{metric}", BASE_MODEL}
    wanted.sort(key=lambda kv: kv[0] not in first)  # stable: the gate's keys first
    room = MAX_PROPERTIES - len([k for k in existing if k not in dict(wanted)])
    written: dict[str, str] = {}
    dropped = []
    for key, value in wanted:
        key = _NOT_ALLOWED.sub("_", key)
        if len(key) > MAX_KEY or len(value) > MAX_VALUE or _NOT_ALLOWED.search(value) or len(written) >= room:
            dropped.append(key)
        else:
            written[key] = value
    return written, dropped


def _describe(clients: preflight.Clients, arn: str) -> dict[str, Any]:
    return _aws(clients.sagemaker.describe_model_package, f"DescribeModelPackage {arn}", ModelPackageName=arn)


def newest_approved(clients: preflight.Clients, group: str, candidate: str) -> dict[str, Any] | None:
    """The newest Approved package of the group other than the candidate, described, or ``None``."""
    answer = _aws(
        clients.sagemaker.list_model_packages,
        "ListModelPackages",
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=2,
    )
    arns = [s["ModelPackageArn"] for s in answer.get("ModelPackageSummaryList", [])]
    arn = next((a for a in arns if a != candidate), None)
    return _describe(clients, arn) if arn else None


def reference_scores(
    gate: Mapping[str, Any],
    approved: Mapping[str, Any] | None,
    base: Mapping[str, float],
    own: Mapping[str, str],
    base_arn: str,
) -> tuple[dict[str, Any] | None, dict[str, float]]:
    """``(reference description, its scores)``; ``(None, {})`` when the base model must be evaluated."""
    metric = gate["metric"]
    recorded = (approved or {}).get("CustomerMetadataProperties") or {}
    if approved is not None and gate.get("compareTo") != "base" and metric in _scores(recorded, SCORE):
        return {"model": "approved", "modelPackageArn": approved["ModelPackageArn"]}, _scores(recorded, SCORE)
    sources = [base, _scores(own, BASE_SCORE) if own.get(BASE_MODEL) == base_arn else {}]
    if recorded.get(BASE_MODEL) == base_arn:
        sources.append(_scores(recorded, BASE_SCORE))
    scores = next((s for s in sources if metric in s), None)
    if scores is None:
        return None, {}
    return {"model": "base", "baseModelArn": base_arn}, dict(scores)


def side_by_side(candidate: Mapping[str, float], reference: Mapping[str, float]) -> dict[str, dict[str, Any]]:
    rows = {}
    for metric in sorted(candidate):
        ref = reference.get(metric)
        delta = candidate[metric] - ref if ref is not None else None
        rows[metric] = {"candidate": candidate[metric], "reference": ref, "delta": delta}
    return rows


def _gate(config: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The configuration's gate, its values checked (a malformed one is ``PreflightError.InvalidInput``)."""
    gate = config_inputs.evaluation_block(config).get("gate")
    if not gate:
        return None
    delta = gate.get("minDelta", 0)
    if (
        not isinstance(gate.get("metric"), str)
        or isinstance(delta, bool)
        or not isinstance(delta, int | float | None)
        or gate.get("compareTo", "approved") not in ("approved", "base")
        or gate.get("onFail", "PendingManualApproval") not in ("PendingManualApproval", "Rejected")
    ):
        raise errors.InvalidInput(
            f"{config_inputs._show(dict(gate))} must be {{metric: <evaluation>/<metric>, compareTo: approved | "
            "base, minDelta: <number>, onFail: PendingManualApproval | Rejected}",
            field="evaluation.gate",
        )
    return gate


def gate(config: Mapping[str, Any], clients: preflight.Clients, state: dict[str, Any]) -> dict[str, Any]:
    """Record every score on the package, compare with the reference and set the approval status."""
    gate_config = _gate(config)
    _require_completed(state)
    arn = state["modelPackageArn"]
    package = _describe(clients, arn)
    _, base_arn = config_inputs.base_model(package, hub=config.get("hubName"))
    candidate, files = read_scores(clients, state["jobs"], "package")
    base, base_files = read_scores(clients, state["jobs"], "base")
    own = package.get("CustomerMetadataProperties") or {}
    metric = gate_config["metric"] if gate_config else None
    props, dropped = properties(candidate, files, base, base_files, base_arn, own, metric)
    result: dict[str, Any] = {"modelPackageArn": arn, "gate": gate_config, "resultsFiles": files}
    note = (state.get("datasetCheck") or {}).get("note")
    if note:  # e.g. the dataset's format could not be checked
        result["notes"] = [note]
    reference: dict[str, Any] | None = None
    ref_scores: dict[str, float] = {}
    if gate_config is None:
        status = config.get("approvalStatus") or "PendingManualApproval"
    elif metric not in candidate:
        _record(clients, arn, props, None, "")
        raise errors.GateMetricMissing(
            f"the candidate's results have no {metric}; they have {', '.join(sorted(candidate)) or 'no scores'}",
            field="evaluation.gate.metric",
        )
    else:
        group = config.get("modelPackageGroupName") or config_inputs._package_parts(arn)[3]
        approved = newest_approved(clients, group, arn)  # its scores, or its record of the base model's
        reference, ref_scores = reference_scores(gate_config, approved, base, own, base_arn)
        if reference is None:
            _record(clients, arn, props, None, "")
            if any(job["model"] == "base" for job in state["jobs"]):  # evaluated already: no second round
                raise errors.GateMetricMissing(
                    f"the base model's results have no {metric}; they have "
                    f"{', '.join(sorted(base)) or 'no scores'}",
                    field="evaluation.gate.metric",
                )
            return {
                **result,
                "decision": NEEDS_REFERENCE,
                "approvalStatus": package.get("ModelApprovalStatus"),
                "reference": {"model": "base", "baseModelArn": base_arn},
                "scores": side_by_side(candidate, {}),
                "notRecorded": dropped,
            }
        delta = candidate[metric] - ref_scores[metric]
        passed = delta >= float(gate_config.get("minDelta") or 0)
        status = "Approved" if passed else gate_config.get("onFail") or "PendingManualApproval"
        result["gate"] = {**gate_config, "passed": passed}
    description = _description(metric, candidate, ref_scores, reference, status)
    _record(clients, arn, props, status, description)
    return {
        **result,
        "decision": status,
        "approvalStatus": status,
        "reference": reference,
        "scores": side_by_side(candidate, ref_scores),
        "notRecorded": dropped,
    }


def _require_completed(state: Mapping[str, Any]) -> None:
    """The gate reads finished evaluation jobs only."""
    unfinished = [job["name"] for job in state["jobs"] if job["status"] != "Completed"]
    if unfinished:
        raise errors.InvalidState(
            f"evaluation jobs not completed yet: {', '.join(unfinished)}", field="state"
        )


def _description(
    metric: str | None,
    candidate: Mapping[str, float],
    ref_scores: Mapping[str, float],
    reference: Mapping[str, Any] | None,
    status: str,
) -> str:
    """The ``ApprovalDescription``: both scores of the gate metric and the decision (at most 1024 characters)."""
    if not metric or reference is None:
        return f"evaluation recorded; approval status {status} from the configuration"
    against = reference.get("modelPackageArn") or reference.get("baseModelArn")
    delta = candidate[metric] - ref_scores[metric]
    return (
        f"evaluation gate {metric}: {candidate[metric]:.6g} vs {ref_scores[metric]:.6g} ({against}), "
        f"delta {delta:+.6g} -> {status}"
    )[:1024]


def _record(
    clients: preflight.Clients, arn: str, props: dict[str, str], status: str | None, why: str
) -> None:
    params: dict[str, Any] = {"ModelPackageArn": arn}
    if props:
        params["CustomerMetadataProperties"] = props
    if status:
        params["ModelApprovalStatus"] = status
        params["ApprovalDescription"] = why
    if len(params) > 1:
        _aws(clients.sagemaker.update_model_package, f"UpdateModelPackage {arn}", **params)
