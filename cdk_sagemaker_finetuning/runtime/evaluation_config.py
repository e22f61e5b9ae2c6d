"""The evaluation step's inputs, parsed: the configuration's evaluation block, the package, the recipes.

Standard library only. ``config["evaluation"]`` is made by ``EvaluationSpec.runtime_config`` (keys: ``dataset``,
``benchmarks`` ``[{"name", "subtasks"}]``, ``judge`` ``{"modelId", "metrics"}``, ``customScorer``
``{"preset"}`` | ``{"evaluatorArn"}`` | ``{"reward": true}`` and ``gate``); a malformed block raises a named
``PreflightError``. The package is a ``DescribeModelPackage`` answer; recipe specs are the override specs of the
base model's hub ``Evaluation`` recipes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import errors, models, request
from . import evaluation_catalog as catalog

PACKAGE_ARN_RE = re.compile(r"^arn:(aws[a-z\-]*):sagemaker:([a-z0-9\-]+):(\d{12}):model-package/([^/]+)/\d+$")


_show = request._show  # the runtime's value formatting in messages


# -- the evaluated model ------------------------------------------------------------------------------------


def _package_parts(package_arn: Any) -> tuple[str, str, str, str]:
    match = PACKAGE_ARN_RE.match(package_arn) if isinstance(package_arn, str) else None
    if not match:
        raise errors.InvalidInput(
            f"{_show(package_arn)} is not a model package ARN "
            "(arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)",
            field="modelPackageArn",
        )
    return match.group(1), match.group(2), match.group(3), match.group(4)


def model_group_arn(package_arn: str | None) -> str:
    """The package's group ARN, inferred from the package ARN as the SDK does."""
    _, region, account, group = _package_parts(package_arn)
    return f"arn:aws:sagemaker:{region}:{account}:model-package-group/{group}"


def base_model(model_package: Mapping[str, Any], *, hub: str | None = None) -> tuple[str, str]:
    """``(hub content name, ARN pinned to the version the package was trained from)``.

    From ``InferenceSpecification.Containers[0].BaseModel`` (``HubContentArn``, else built from the name and
    ``HubContentVersion``, public-hub content being owned by ``aws``), as the SDK's model resolution does.
    """
    arn = model_package.get("ModelPackageArn")
    _, region, account, _ = _package_parts(arn)
    containers = (model_package.get("InferenceSpecification") or {}).get("Containers") or []
    base = containers[0].get("BaseModel") if containers and isinstance(containers[0], Mapping) else None
    name = base.get("HubContentName") if isinstance(base, Mapping) else None
    version = base.get("HubContentVersion") if isinstance(base, Mapping) else None
    pinned = base.get("HubContentArn") if isinstance(base, Mapping) else None
    if not name or not (pinned or version):
        raise errors.ModelNotFound(
            f"model package {arn} has no InferenceSpecification.Containers[0].BaseModel with HubContentName "
            "and HubContentVersion: only packages made by serverless customization can be evaluated",
            field="modelPackageArn",
        )
    if not pinned:
        hub = hub or models.PUBLIC_HUB
        owner = "aws" if hub == models.PUBLIC_HUB else account
        pinned = f"arn:aws:sagemaker:{region}:{owner}:hub-content/{hub}/Model/{name}/{version}"
    return name, pinned


# -- evaluation recipes ------------------------------------------------------------------------------------


#: Shape of the configuration's evaluation block: key -> (accepted types, what to write).
_SHAPE = {
    "dataset": (str, "an S3 URI or dataset ARN"),
    "benchmarks": (list, "a list of {name, subtasks}"),
    "judge": (Mapping, "an object {modelId, metrics}"),
    "customScorer": (Mapping, "an object {preset | evaluatorArn | reward}"),
    "gate": (Mapping, "an object {metric, compareTo, minDelta, onFail}"),
}


def evaluation_block(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """The configuration's evaluation block, its shape checked (a malformed one is a named error)."""
    evaluation = config.get("evaluation")
    if not isinstance(evaluation, Mapping):
        raise errors.InvalidInput("the configuration has no evaluation block", field="evaluation")
    for key, (kind, words) in _SHAPE.items():
        if evaluation.get(key) is not None and not isinstance(evaluation[key], kind):
            raise errors.InvalidInput(f"{_show(evaluation[key])} must be {words}", field=f"evaluation.{key}")
    judge = evaluation.get("judge") or {}
    if not isinstance(judge.get("metrics") or [], list) or not all(
        isinstance(m, str) for m in judge.get("metrics") or []
    ):
        raise errors.InvalidInput(
            f"{_show(judge.get('metrics'))} must be a list of metric names", field="evaluation.judge.metrics"
        )
    return evaluation


def benchmarks(evaluation: Mapping[str, Any]) -> list[tuple[catalog.Benchmark, list[str]]]:
    result = []
    for i, item in enumerate(evaluation.get("benchmarks") or []):
        name = item.get("name") if isinstance(item, Mapping) else None
        bench = catalog.BENCHMARKS.get(name) if isinstance(name, str) else None
        if bench is None:
            raise errors.InvalidInput(
                f"benchmark {_show(name)} is not one of {', '.join(catalog.BENCHMARKS)}",
                field=f"evaluation.benchmarks.{i}",
            )
        subtasks = item.get("subtasks") or []
        if not isinstance(subtasks, list) or not all(isinstance(x, str) for x in subtasks):
            raise errors.InvalidInput(
                f"{_show(subtasks)} must be a list of subtask names", field=f"evaluation.subtasks.{name}"
            )
        if subtasks and not bench.takes_subtasks:
            raise errors.InvalidInput(
                f"benchmark {name} takes no subtasks", field=f"evaluation.subtasks.{name}"
            )
        unknown = [s for s in subtasks if bench.subtasks is not None and s not in bench.subtasks]
        if unknown:
            raise errors.InvalidInput(
                f"{_show(unknown[0])} is not a subtask of {name}", field=f"evaluation.subtasks.{name}"
            )
        result.append((bench, subtasks))
    return result


def recipe_types(config: Mapping[str, Any], model_name: str) -> list[str]:
    """The ``EvaluationType`` values of the hub evaluation recipes the evaluations read settings from."""
    evaluation = evaluation_block(config)
    types = [catalog.recipe_type("benchmark", model_name, b.name) for b, _ in benchmarks(evaluation)]
    if evaluation.get("customScorer"):
        types.append(catalog.recipe_type("custom_scorer", model_name))
    return list(dict.fromkeys(types))


def evaluation_recipe_uri(document: Mapping[str, Any], evaluation_type: str, account: str) -> str:
    """The override spec location of the hub content's first ``Evaluation`` recipe of that type."""
    recipes = [r for r in document.get("RecipeCollection") or [] if isinstance(r, Mapping)]
    recipe = next(
        (r for r in recipes if r.get("Type") == "Evaluation" and r.get("EvaluationType") == evaluation_type),
        None,
    )
    uri = request.spec_uri(recipe, account) if recipe else None
    if not uri:
        offered = sorted({str(r.get("EvaluationType")) for r in recipes if r.get("Type") == "Evaluation"})
        raise errors.UnsupportedTechnique(
            f"the base model has no Evaluation recipe of type {evaluation_type} with SmtjOverrideParamsS3Uri; "
            f"evaluation recipes: {', '.join(offered) or 'none'}",
            field="evaluation",
        )
    return uri


def recipe_settings(spec: Any) -> dict[str, str]:
    """The generation (and aggregation) defaults of an evaluation recipe's override spec, as strings."""
    if not isinstance(spec, Mapping):
        return {}
    settings = {}
    for key in catalog.RECIPE_SETTINGS:
        entry = spec.get(key)
        if isinstance(entry, Mapping) and entry.get("default") is not None:
            settings[key] = str(entry["default"])
    return settings


def produced_metrics(evaluation: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """``(result keys the evaluations produce, evaluations whose metric names only the results tell)``."""
    keys = {f"{b.name}/{b.metric}" for b, _ in benchmarks(evaluation)}
    judge = evaluation.get("judge") or {}
    keys |= {f"{catalog.JUDGE}/{m.removeprefix('Builtin.')}" for m in judge.get("metrics") or []}
    open_ended = {catalog.CUSTOM_SCORER} if evaluation.get("customScorer") else set()
    return keys, open_ended


def gate_metric_problem(evaluation: Mapping[str, Any], metric: str) -> str | None:
    """Why the gate cannot compare ``metric`` (the chosen evaluations do not produce it), or ``None``."""
    produced, open_ended = produced_metrics(evaluation)
    if metric in produced or metric.split("/", 1)[0] in open_ended:
        return None
    offered = sorted(produced) + [f"{e}/<metric>" for e in sorted(open_ended)]
    return (
        f"{_show(metric)} is not produced by the chosen evaluations; use one of "
        f"{', '.join(offered) or 'none (choose an evaluation first)'}"
    )
