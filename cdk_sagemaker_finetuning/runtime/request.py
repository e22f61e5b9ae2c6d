"""Build the exact serverless ``CreateTrainingJob`` request, as the SageMaker Python SDK v3 trainers do.

Pure functions (standard library only); the preflight Lambda, ``cdk-finetune plan`` and the notebook helper
all call :func:`build_create_training_job_request`.
Rules: `CreateTrainingJob <https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html>`_ (``ServerlessJobConfig``).

Inputs
------
``config``
    The workflow configuration baked into the preflight Lambda (:class:`workflow_contract.WorkflowConfig`),
    made by ``cdk_sagemaker_finetuning.workflow_config.runtime_config`` (its docstring lists every key).
``hub_content``
    A ``DescribeHubContent`` response for the base model (``HubContentArn``, ``HubContentName``,
    ``HubContentDocument`` as a JSON string or an already parsed dict).
``override_spec``
    The recipe's hyperparameter spec (the JSON at ``SmtjOverrideParamsS3Uri``), subscription keys merged in
    with :func:`merge_subscription_spec`; ``{}`` when the recipe has none.
``execution``
    ``{"name": <execution name>, "input": <execution input>, "sourceModelPackageArn": <ARN or None>}``;
    the source package is resolved by the preflight (continuous customization). Execution input keys are
    listed in :data:`INPUT_KEYS`.

Every rejection raises a :class:`~errors.PreflightError` subclass naming the field, the value and the rule.

Over 400 lines for now: hyperparameter resolution and recipe selection could be modules of their own, but the
preflight, the spec's checks and the evaluation code call them as ``request.*``; moving them is its own change.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from . import errors, models, workflow_contract
from .workflow_contract import WorkflowConfig

TECHNIQUES = ("SFT", "DPO", "RLVR", "RLAIF")
MAX_JOB_NAME = 63
MAX_HYPERPARAMETERS = 100
HYPERPARAMETER_VALUE_RE = re.compile(r"^[a-zA-Z0-9/_.:,\-\s'\"\[\]]*$")
DATASET_ARN_RE = re.compile(r"^arn:aws:sagemaker:[^:]+:\d+:hub-content/[^/]+/DataSet/[^/]+/[\d\.]+$")
EVALUATOR_ARN_RE = re.compile(r"^arn:aws:sagemaker:[^:]+:\d+:hub-content/[^/]+/JsonDoc/[^/]+/[\d\.]+$")
MODEL_PACKAGE_ARN_RE = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[^:]+:\d{12}:model-package/[^/]+/\d+$")
#: Keys may hold spaces and any printable character (the API's S3Uri is ``(https|s3)://([^/]+)/?(.*)``).
S3_URI_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[^\x00-\x1f]*)?$")
SDK_TAG_MODEL = "sagemaker-sdk:jumpstart-model-id"
SDK_TAG_HUB = "sagemaker-sdk:jumpstart-hub-name"

#: Execution input keys (all optional; ``workflow_contract.ExecutionInput``).
INPUT_KEYS = workflow_contract.INPUT_KEYS


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


# -- execution input and names ----------------------------------------------------------------------------


def parse_execution_input(raw: Any) -> dict[str, Any]:
    """Validate the execution input's shape; ``None`` means no input."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise errors.InvalidInput(f"execution input {_show(raw)} must be a JSON object", field="input")
    unknown = sorted(set(raw) - set(INPUT_KEYS))
    if unknown:
        raise errors.InvalidInput(
            f"execution input has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(INPUT_KEYS)}",
            field=f"input.{unknown[0]}",
        )
    for key in ("trainUri", "validationUri", "evaluatorArn", "mlflowRunName", "baseModel"):
        if key in raw and (not isinstance(raw[key], str) or not raw[key]):
            raise errors.InvalidInput(f"{_show(raw[key])} must be a non-empty string", field=f"input.{key}")
    if "hyperparameters" in raw and not isinstance(raw["hyperparameters"], Mapping):
        raise errors.InvalidInput(
            f"{_show(raw['hyperparameters'])} must be an object of name: value", field="input.hyperparameters"
        )
    if "approvedOnly" in raw and not isinstance(raw["approvedOnly"], bool):
        raise errors.InvalidInput(
            f"{_show(raw['approvedOnly'])} must be true or false", field="input.approvedOnly"
        )
    base = raw.get("baseModel")
    if base is not None and base != "latest" and not MODEL_PACKAGE_ARN_RE.match(base):
        raise errors.InvalidInput(
            f'{_show(base)} must be "latest" or a model package ARN '
            "(arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)",
            field="input.baseModel",
        )
    return dict(raw)


def job_name(prefix: str, execution_name: str | None) -> str:
    """Deterministic, valid training job name for one execution: ``<prefix>-<execution name>``.

    The same execution always gets the same name, so a retried or redriven create cannot start a second job.
    Characters outside ``[a-zA-Z0-9-]`` become ``-``; a name that would exceed 63 characters keeps the prefix,
    cuts the execution part and appends 8 hex digits of its SHA-256 so it stays unique.
    """
    if not prefix or not models.RESOURCE_NAME_RE.match(prefix) or len(prefix) > 40:
        raise errors.InvalidInput(
            f"job name prefix {_show(prefix)} must be a valid name of at most 40 characters"
        )
    if not isinstance(execution_name, str) or not execution_name:
        raise errors.InvalidInput(f"execution name {_show(execution_name)} must be a non-empty string")
    part = re.sub(r"-+", "-", re.sub(r"[^a-zA-Z0-9]", "-", execution_name)).strip("-") or "run"
    room = MAX_JOB_NAME - len(prefix) - 1
    if len(part) > room:
        digest = hashlib.sha256(execution_name.encode()).hexdigest()[:8]
        part = part[: room - 9].rstrip("-") + "-" + digest
    return f"{prefix}-{part}"


# -- hub content and recipe selection ----------------------------------------------------------------------


def hub_document(hub_content: Mapping[str, Any]) -> dict[str, Any]:
    """The parsed ``HubContentDocument`` of a ``DescribeHubContent`` response."""
    doc = hub_content.get("HubContentDocument")
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except json.JSONDecodeError as exc:
            raise errors.ModelNotFound(f"HubContentDocument is not valid JSON: {exc}") from None
    if not isinstance(doc, Mapping):
        raise errors.ModelNotFound("the hub content has no HubContentDocument object")
    return dict(doc)


def parse_sequence_length(value: Any) -> int:
    """``"8K"`` -> 8192; empty -> 0 (as the SDK parses ``SequenceLength``)."""
    if not value:
        return 0
    text = str(value).strip().upper()
    if not text.endswith("K") or not text[:-1].isdigit():
        raise errors.InvalidInput(
            f"sequence length {_show(value)} must look like '8K'", field="sequence_length"
        )
    return int(text[:-1]) * 1024


def select_recipe(
    document: Mapping[str, Any],
    technique: str,
    training_type: str,
    sequence_length: str | None = None,
    *,
    model: str = "the base model",
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Pick the serverless recipe as the SDK does; return ``(recipe, subscription recipe or None)``.

    Order: technique, has ``SmtjRecipeTemplateS3Uri``, exact ``SequenceLength`` if requested, then LoRA/full
    preferring non-subscription recipes.
    """
    wanted = "LoRA" if training_type == "LORA" else "full"
    collection = document.get("RecipeCollection")
    recipes = [r for r in collection if isinstance(r, Mapping)] if isinstance(collection, list) else []
    found = [r for r in recipes if r.get("CustomizationTechnique") == technique]
    offered = sorted(
        {str(r.get("CustomizationTechnique")) for r in recipes if r.get("SmtjRecipeTemplateS3Uri")}
    )
    if not found:
        raise errors.UnsupportedTechnique(
            f"{model} has no {technique} recipe; serverless techniques offered: "
            f"{', '.join(offered) or 'none'}",
            field="technique",
        )
    found = [r for r in found if r.get("SmtjRecipeTemplateS3Uri")]
    if not found:
        raise errors.UnsupportedTechnique(
            f"{model} has {technique} recipes but none runs serverless (no SmtjRecipeTemplateS3Uri)",
            field="technique",
        )
    if sequence_length:
        requested = parse_sequence_length(sequence_length)
        sized = [r for r in found if r.get("SequenceLength")]
        exact = [r for r in sized if parse_sequence_length(r["SequenceLength"]) == requested]
        if not exact:
            lengths = sorted({str(r["SequenceLength"]) for r in sized})
            raise errors.UnsupportedTechnique(
                f"{model} has no {technique} recipe with SequenceLength {sequence_length}; "
                f"available: {', '.join(lengths) or 'none (remove sequence_length)'}",
                field="sequence_length",
            )
        found = exact
    lora = training_type == "LORA"
    variant = [r for r in found if bool(r.get("Peft")) == lora]
    recipe = next((r for r in variant if not r.get("IsSubscriptionModel")), None) or next(iter(variant), None)
    if recipe is None:
        raise errors.UnsupportedTechnique(
            f"{model} has no {wanted} {technique} recipe for serverless training; try training_type "
            f"{'full' if lora else 'lora'}",
            field="training_type",
        )
    subscription = next((r for r in variant if r.get("IsSubscriptionModel")), None)
    return dict(recipe), (dict(subscription) if subscription and subscription is not recipe else None)


def spec_uri(recipe: Mapping[str, Any], account: str) -> str | None:
    """The recipe's ``SmtjOverrideParamsS3Uri`` with ``{customer_id}`` replaced by the account id."""
    uri = recipe.get("SmtjOverrideParamsS3Uri")
    return uri.replace("{customer_id}", account) if uri else None


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` (or ``s3://arn:...:accesspoint/name/key``) -> ``(bucket, key)``."""
    path = uri.removeprefix("s3://")
    if path.startswith("arn:"):
        parts = path.split("/", 2)
        return parts[0] + "/" + parts[1], parts[2] if len(parts) > 2 else ""
    bucket, _, key = path.partition("/")
    return bucket, key


def merge_subscription_spec(spec: Mapping[str, Any], subscription_spec: Mapping[str, Any]) -> dict[str, Any]:
    """Add a subscription recipe's keys as settable but unset (``default: None``), as the SDK does."""
    merged = dict(spec)
    for key, value in subscription_spec.items():
        if key not in merged:
            merged[key] = {**value, "default": None} if isinstance(value, Mapping) else value
    return merged


# -- hyperparameters ---------------------------------------------------------------------------------------


def check_value(name: str, value: Any, rule: Any, allowed_by: str = "the recipe allows") -> None:
    """Type, range and enum check of one user value against its spec entry (SDK rules, bools not numbers)."""
    if not isinstance(rule, Mapping):
        return
    kind = rule.get("type")
    field = f"hyperparameters.{name}"
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "float" and not is_number:
        hint = " (in YAML write 1.0e-4 or 0.0001; 1e-4 is read as a string)" if isinstance(value, str) else ""
        raise errors.InvalidHyperparameter(f"{name}={_show(value)} must be a number{hint}", field=field)
    if kind == "integer" and not (is_number and isinstance(value, int)):
        raise errors.InvalidHyperparameter(f"{name}={_show(value)} must be an integer", field=field)
    if kind == "string" and not isinstance(value, str):
        raise errors.InvalidHyperparameter(f"{name}={_show(value)} must be a string", field=field)
    if kind in ("boolean", "bool") and not isinstance(value, bool):
        raise errors.InvalidHyperparameter(f"{name}={_show(value)} must be true or false", field=field)
    low, high = (bound if _is_number(bound) else None for bound in (rule.get("min"), rule.get("max")))
    if is_number and ((low is not None and value < low) or (high is not None and value > high)):
        raise errors.HyperparameterOutOfRange(
            f"{name}={_show(value)} is out of range: {allowed_by} {low if low is not None else '-inf'} "
            f"to {high if high is not None else 'inf'}",
            field=field,
        )
    if rule.get("enum") and value not in rule["enum"]:
        raise errors.InvalidHyperparameter(
            f"{name}={_show(value)} is not allowed; choose one of {', '.join(map(str, rule['enum']))}",
            field=field,
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _dropped_keys(technique: str) -> set[str]:
    dropped = set(models.SERVICE_FILLED_HYPERPARAMETERS)
    if technique == "RLVR":
        dropped.add("reward_lambda_arn")
    return dropped


def _set(values: dict[str, Any], spec: Mapping[str, Any], name: str, value: Any, dropped: set[str]) -> None:
    if name in dropped:
        raise errors.InvalidHyperparameter(
            f"{name} is filled by the service; remove it", field=f"hyperparameters.{name}"
        )
    if name not in spec:
        known = ", ".join(sorted(k for k in spec if k not in dropped)) or "none (the recipe has no spec)"
        raise errors.UnknownHyperparameter(
            f"{name} is not a hyperparameter of this recipe; known: {known}", field=f"hyperparameters.{name}"
        )
    check_value(name, value, spec[name])
    values[name] = value


def _judge(
    values: dict[str, Any], spec: Mapping[str, Any], config: WorkflowConfig, region: str
) -> str | None:
    """Apply the RLAIF judge model and prompt; return the prompt evaluator ARN for a custom prompt."""
    judge = config.get("judgeModelId")
    if judge:
        allowed = models.JUDGE_MODEL_REGIONS.get(judge)
        if allowed is None:
            raise errors.InvalidJudgeModel(
                f"judge model {_show(judge)} is not allowed; choose one of "
                f"{', '.join(models.JUDGE_MODEL_REGIONS)}",
                field="rlaif.judge_model_id",
            )
        if region not in allowed:
            raise errors.InvalidJudgeModel(
                f"judge model {judge} is not available in {region}; regions: {', '.join(allowed)}",
                field="rlaif.judge_model_id",
            )
        if "judge_model_id" not in spec:
            raise errors.InvalidJudgeModel(
                "this recipe has no judge_model_id hyperparameter", field="rlaif.judge_model_id"
            )
        values["judge_model_id"] = f"bedrock/{judge}"
    prompt_arn = config.get("judgePromptEvaluatorArn")
    if prompt_arn:
        if not EVALUATOR_ARN_RE.match(prompt_arn):
            raise errors.InvalidInput(
                f"{_show(prompt_arn)} is not a versioned evaluator ARN", field="rlaif.prompt"
            )
        values.pop("judge_prompt_template", None)
        return prompt_arn
    prompt = config.get("judgePrompt")
    if prompt:
        rule = spec.get("judge_prompt_template")
        options = list(rule.get("enum") or []) if isinstance(rule, Mapping) else []
        if not options and values.get("judge_prompt_template"):
            options = [values["judge_prompt_template"]]
        wanted = models.normalize_judge_prompt(prompt)
        match = next((o for o in options if models.normalize_judge_prompt(str(o)) == wanted), None)
        if match is None:
            names = ", ".join(models.normalize_judge_prompt(str(o)) for o in options) or "none"
            raise errors.InvalidJudgeModel(
                f"judge prompt {_show(prompt)} is not a built-in prompt of this recipe; available: {names}",
                field="rlaif.prompt",
            )
        values["judge_prompt_template"] = match
    return None


def _check_lengths(values: Mapping[str, Any], ceiling: int) -> None:
    """RL prompt+response and SFT/DPO ``dataset_max_len`` must fit the recipe's sequence length."""
    if not ceiling:
        return
    prompt, response = values.get("max_prompt_length"), values.get("max_response_length")
    if isinstance(prompt, int) and isinstance(response, int) and prompt + response > ceiling:
        raise errors.HyperparameterOutOfRange(
            f"max_prompt_length ({prompt}) + max_response_length ({response}) = {prompt + response} "
            f"exceeds the recipe's sequence length {ceiling}",
            field="hyperparameters.max_response_length",
        )
    longest = values.get("dataset_max_len")
    if isinstance(longest, int) and longest > ceiling:
        raise errors.HyperparameterOutOfRange(
            f"dataset_max_len ({longest}) exceeds the recipe's sequence length {ceiling}",
            field="hyperparameters.dataset_max_len",
        )


def resolve_hyperparameters(
    config: WorkflowConfig,
    override_spec: Mapping[str, Any],
    user_values: Mapping[str, Any],
    *,
    region: str,
    sequence_ceiling: int = 0,
) -> tuple[dict[str, str], str | None]:
    """Merge hub defaults, the spec's and the input's values; return ``(HyperParameters, judge prompt ARN)``.

    Precedence: execution input > spec > hub default. With ``hyperparameterMode: "explicit"`` only values set
    by the user or the technique are sent (the SDK always sends every non-null default).
    """
    technique = config["technique"]
    dropped = _dropped_keys(technique)
    spec = {k: v for k, v in override_spec.items() if k not in dropped}
    values: dict[str, Any] = {k: (v.get("default") if isinstance(v, Mapping) else v) for k, v in spec.items()}
    explicit: set[str] = set()
    prompt_arn = None
    if technique == "RLAIF":
        prompt_arn = _judge(values, spec, config, region)
        if config.get("judgeModelId"):
            explicit.add("judge_model_id")
        if config.get("judgePrompt") and not prompt_arn:
            explicit.add("judge_prompt_template")
    for name, value in user_values.items():
        _set(values, spec, name, value, dropped)
        explicit.add(name)
    _check_lengths(values, sequence_ceiling)
    if config.get("hyperparameterMode", "defaults") == "explicit":
        values = {k: v for k, v in values.items() if k in explicit}
    if technique == "RLVR" and values.get("preset_reward_function") == "":
        values.pop("preset_reward_function")
    result = {k: str(v) for k, v in values.items() if v is not None}
    _check_strings(result)
    return result, prompt_arn


def _check_strings(hyperparameters: Mapping[str, str]) -> None:
    if len(hyperparameters) > MAX_HYPERPARAMETERS:
        raise errors.InvalidHyperparameter(
            f"{len(hyperparameters)} hyperparameters; the API allows at most {MAX_HYPERPARAMETERS} "
            "(use hyperparameterMode 'explicit')",
            field="hyperparameters",
        )
    for key, text in hyperparameters.items():
        if len(key) > 256 or len(text) > 2500 or not HYPERPARAMETER_VALUE_RE.match(text):
            raise errors.InvalidHyperparameter(
                f"{key}={_show(text)} must be at most 2500 characters of letters, digits, spaces "
                "and /_.:,-'\"[]",
                field=f"hyperparameters.{key}",
            )


# -- the request -------------------------------------------------------------------------------------------


def channel(name: str, source: str, s3_data_type: str) -> dict[str, Any]:
    """One input channel: an S3 URI (``S3Prefix`` or Nova ``Converse``) or a versioned dataset ARN."""
    if source.startswith("s3://"):
        if not S3_URI_RE.match(source):
            raise errors.InvalidInput(f"{_show(source)} is not a valid S3 URI", field=f"data.{name}")
        s3 = {"S3DataType": s3_data_type, "S3Uri": source, "S3DataDistributionType": "FullyReplicated"}
        return {"ChannelName": name, "DataSource": {"S3DataSource": s3}}
    if not DATASET_ARN_RE.match(source):
        raise errors.InvalidInput(
            f"{_show(source)} must be an S3 URI or a versioned dataset ARN "
            "(arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/DataSet/<name>/<x.y.z>)",
            field=f"data.{name}",
        )
    return {"ChannelName": name, "DataSource": {"DatasetSource": {"DatasetArn": source}}}


def data_sources(config: WorkflowConfig, execution_input: Mapping[str, Any]) -> dict[str, str]:
    """``{"train": ..., "validation": ...}`` after execution-input overrides."""
    sources = {"train": execution_input.get("trainUri") or config.get("trainUri")}
    if not sources["train"]:
        raise errors.InvalidInput(
            "no training data: set data.train or the input's trainUri", field="data.train"
        )
    validation = execution_input.get("validationUri") or config.get("validationUri")
    if validation:
        sources["validation"] = validation
    return sources


def _required(config: WorkflowConfig, *keys: str) -> None:
    missing = [k for k in keys if not config.get(k)]
    if missing:
        raise errors.InvalidInput(f"workflow configuration lacks {', '.join(missing)}", field="config")


def build_create_training_job_request(
    config: WorkflowConfig,
    hub_content: Mapping[str, Any],
    override_spec: Mapping[str, Any],
    execution: Mapping[str, Any],
    *,
    account: str,
    region: str,
) -> workflow_contract.TrainingJobRequest:
    """The complete ``CreateTrainingJob`` request (no ``AlgorithmSpecification``/``ResourceConfig``)."""
    technique, training_type = _job_type(config)
    execution_input = parse_execution_input(execution.get("input"))
    model_name, model_arn, document = _base_model(config, hub_content)
    recipe, _ = select_recipe(
        document, technique, training_type, config.get("sequenceLength"), model=model_name
    )
    user_values = {**(config.get("hyperparameters") or {}), **(execution_input.get("hyperparameters") or {})}
    hyperparameters, prompt_arn = resolve_hyperparameters(
        config,
        override_spec,
        user_values,
        region=region,
        sequence_ceiling=parse_sequence_length(recipe.get("SequenceLength")),
    )
    source_package = execution.get("sourceModelPackageArn")
    _check_eula(config, document, model_name, source_package)
    evaluator = _evaluator_arn(technique, config, execution_input, hyperparameters, prompt_arn)
    serverless = _serverless_job_config(config, model_arn, document, source_package, evaluator)
    nova = models.is_nova(model_name)
    s3_type = "Converse" if nova and technique in ("SFT", "DPO") else "S3Prefix"
    output = output_config(config)
    package_config = _model_package_config(config, source_package)
    tags = _tags(config, model_name)
    request: workflow_contract.TrainingJobRequest = {
        "TrainingJobName": job_name(config["jobNamePrefix"], execution.get("name")),
        "RoleArn": config["roleArn"],
        "InputDataConfig": [
            channel(name, source, s3_type) for name, source in data_sources(config, execution_input).items()
        ],
        "OutputDataConfig": output,
        "ServerlessJobConfig": serverless,
        "ModelPackageConfig": package_config,
        "Tags": tags,
    }
    if hyperparameters:
        request["HyperParameters"] = hyperparameters
    mlflow = mlflow_config(config, execution_input)
    if mlflow:
        request["MlflowConfig"] = mlflow
    if config.get("maxRuntimeSeconds"):
        request["StoppingCondition"] = {"MaxRuntimeInSeconds": int(config["maxRuntimeSeconds"])}
    return request


def _job_type(config: WorkflowConfig) -> tuple[str, str]:
    """``(technique, training type)`` of a configuration that has every key a request needs."""
    _required(
        config, "technique", "trainingType", "roleArn", "outputUri", "modelPackageGroupArn", "jobNamePrefix"
    )
    technique, training_type = config["technique"], config["trainingType"]
    if technique not in TECHNIQUES:
        raise errors.UnsupportedTechnique(
            f"technique {_show(technique)} is not one of {', '.join(TECHNIQUES)}", field="technique"
        )
    if training_type not in ("LORA", "FULL"):
        raise errors.InvalidInput(
            f"training type {_show(training_type)} must be LORA or FULL", field="training_type"
        )
    return technique, training_type


def _base_model(config: WorkflowConfig, hub_content: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """``(name, hub content ARN, parsed document)`` of the base model's ``DescribeHubContent`` answer."""
    model_name = hub_content.get("HubContentName") or config.get("baseModel")
    model_arn = hub_content.get("HubContentArn")
    if not model_arn or not model_name:
        raise errors.ModelNotFound("the DescribeHubContent answer has no HubContentArn/HubContentName")
    return model_name, model_arn, hub_document(hub_content)


def _check_eula(
    config: WorkflowConfig, document: Mapping[str, Any], model_name: str, source_package: str | None
) -> None:
    """A gated hub model needs ``acceptEula`` (a model-package base was accepted when it was trained)."""
    if document.get("GatedBucket") and not config.get("acceptEula") and not source_package:
        raise errors.EulaNotAccepted(
            f"{model_name} is a gated model: read its license and set accept_eula: true in the spec",
            field="accept_eula",
        )


def _serverless_job_config(
    config: WorkflowConfig,
    model_arn: str,
    document: Mapping[str, Any],
    source_package: str | None,
    evaluator: str | None,
) -> dict[str, Any]:
    """``ServerlessJobConfig``: the base model, technique, LoRA, EULA, evaluator and sequence length."""
    serverless: dict[str, Any] = {
        "JobType": "FineTuning",
        "BaseModelArn": model_arn,
        "CustomizationTechnique": config["technique"],
    }
    if config["trainingType"] == "LORA":
        serverless["Peft"] = "LORA"
    # Only where it matters (a gated model, or a model-package base as the SDK does), so the request equals
    # the generated notebook's, which passes accept_eula only for gated models.
    if source_package or (config.get("acceptEula") and document.get("GatedBucket")):
        serverless["AcceptEula"] = True
    if evaluator:
        serverless["EvaluatorArn"] = evaluator
    if config.get("sequenceLength"):
        serverless["SequenceLength"] = config["sequenceLength"]
    return serverless


def _model_package_config(config: WorkflowConfig, source_package: str | None) -> dict[str, str]:
    """``ModelPackageConfig``: the project's group, and the source package of continuous customization."""
    package_config = {"ModelPackageGroupArn": config["modelPackageGroupArn"]}
    if source_package:
        package_config["SourceModelPackageArn"] = source_package
    return package_config


def _tags(config: WorkflowConfig, model_name: str) -> list[dict[str, str]]:
    """The SDK's model and hub tags, then the spec's."""
    return [
        {"Key": SDK_TAG_MODEL, "Value": model_name},
        {"Key": SDK_TAG_HUB, "Value": config.get("hubName") or models.PUBLIC_HUB},
    ] + user_tags(config)


def _evaluator_arn(
    technique: str,
    config: WorkflowConfig,
    execution_input: Mapping[str, Any],
    hyperparameters: Mapping[str, str],
    prompt_arn: str | None,
) -> str | None:
    if technique == "RLAIF":
        return prompt_arn
    if technique != "RLVR":
        return None
    arn = execution_input.get("evaluatorArn") or config.get("evaluatorArn")
    if arn:
        if not EVALUATOR_ARN_RE.match(arn):
            raise errors.InvalidInput(
                f"{_show(arn)} is not a versioned evaluator ARN "
                "(arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/JsonDoc/<name>/<x.y.z>)",
                field="reward.evaluator_arn",
            )
        return arn
    if not hyperparameters.get("preset_reward_function"):
        raise errors.RewardMissing(
            "RLVR needs a reward: set reward.evaluator_arn (or a reward the stack registers), the input's "
            "evaluatorArn, or hyperparameters.preset_reward_function",
            field="reward",
        )
    return None


def output_config(config: WorkflowConfig) -> dict[str, Any]:
    """``OutputDataConfig``: the configured output location and its KMS key."""
    output: dict[str, Any] = {"S3OutputPath": config["outputUri"]}
    if config.get("kmsKeyId"):
        output["KmsKeyId"] = config["kmsKeyId"]
    return output


def user_tags(config: WorkflowConfig) -> list[dict[str, str]]:
    """The spec's tags as API ``Tags``."""
    return [{"Key": k, "Value": v} for k, v in (config.get("tags") or {}).items()]


def mlflow_config(config: WorkflowConfig, execution_input: Mapping[str, Any]) -> dict[str, str] | None:
    """``MlflowConfig`` from the configuration; the execution input's ``mlflowRunName`` wins."""
    mlflow: Mapping[str, Any] = config.get("mlflow") or {}
    if not mlflow.get("resourceArn"):
        return None
    result = {"MlflowResourceArn": mlflow["resourceArn"]}
    if mlflow.get("experimentName"):
        result["MlflowExperimentName"] = mlflow["experimentName"]
    run = execution_input.get("mlflowRunName") or mlflow.get("runName")
    if run:
        result["MlflowRunName"] = run
    return result
