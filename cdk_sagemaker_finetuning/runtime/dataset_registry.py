"""Lineage: register a run's training object as a versioned AI Registry ``DataSet`` (standard library + boto3).

Mirrors the SageMaker Python SDK v3's ``DataSet.create`` for an ``s3://`` source: the same hub (the account's
AI Registry hub under the SDK's deterministic name, created with the SDK's description when missing), the same
``ImportHubContent`` request (``HubContentType`` ``DataSet``, ``DocumentSchemaVersion`` ``2.0.0``, the document
byte for byte, keywords ``method:generated`` then ``customization_technique:<sft|dpo|rlvr>``) and the same
versioning (``<latest major + 1>.0.0``, ``1.0.0`` for a new name). Facts:
`ImportHubContent <https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ImportHubContent.html>`_,
`DatasetSource <https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DatasetSource.html>`_.

**Idempotent.** A version's document holds only the object's location and the role, so a version whose
document equals this run's records nothing a second one would not: when the latest version has this run's
document (a retried preflight, or a later round on the same object) and did not fail, it is reused.
Otherwise the next version is imported; a version imported concurrently by another run (``ResourceInUse``)
makes it look again.

**Asynchronous import, bounded wait.** The import is polled here (``DescribeHubContent`` every
:data:`POLL_SECONDS` s) for at most :data:`WAIT_SECONDS` s, which fits the preflight Lambda's 60 s next to its
20 s data check, rather than adding wait states to every workflow. A version still importing then raises
``PreflightError.DatasetImporting``, which the workflow's Preflight state retries (the retry finds and waits
for the same version); ``ImportFailed`` raises ``PreflightError.DatasetImportFailed`` with the service's
reason. Nothing is started before the dataset is ``Available``.

**Package lineage.** :func:`lineage_properties` reads what the finished job itself records (its channels, the
pinned ``BaseModelArn``, the source package, its own ARN) into ``CustomerMetadataProperties`` of the package it
registered (``lineage:`` keys, next to the evaluation gate's ``eval:`` scores).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import errors, hub_evaluator, request, retry
from .workflow_contract import TrainingJobRequest

CONTENT_TYPE = "DataSet"
SCHEMA_VERSION = "2.0.0"
#: ``CustomizationTechnique`` values of the SDK (RLAIF datasets carry no technique keyword).
SDK_TECHNIQUES = ("sft", "dpo", "rlvr")
#: Formats ``DataSet.create`` accepts; the workflow's own data check accepts ``.jsonl`` only.
SUFFIX = ".jsonl"
WAIT_SECONDS = 15.0
POLL_SECONDS = 2.0
HUB_POLLS = 3
IMPORT_ATTEMPTS = 3
USABLE = ("Available", "Importing", "PendingImport")
LINEAGE_PREFIX = "lineage:"
#: ``CustomerMetadataProperties`` values: at most 256 of letters, digits, spaces and ``_.:/=+-@``.
MAX_VALUE = 256
_ALLOWED_VALUE = frozenset("_.:/=+-@ ")

sleep: Callable[[float], None] = time.sleep
clock: Callable[[], float] = time.monotonic


def document(bucket: str, key: str, role_arn: str) -> str:
    """The ``HubContentDocument``, byte for byte as ``DataSet.create`` writes it for an ``s3://`` source."""
    return json.dumps(
        {
            "DatasetType": "CUSTOMER_PROVIDED",
            "DatasetRoleArn": role_arn,
            "DatasetS3Bucket": bucket,
            "DatasetS3Prefix": key,
            "DatasetContextS3Uri": '""',
            "ConversationId": "default-conversation",
            "ConversationCheckpointId": "default-checkpoint",
            "Dependencies": [],
        }
    )


def search_keywords(technique: str) -> list[str]:
    """``HubContentSearchKeywords`` in the SDK's order: the method, then the technique when the SDK has it."""
    lower = technique.lower()
    return ["method:generated"] + ([f"customization_technique:{lower}"] if lower in SDK_TECHNIQUES else [])


def import_request(
    *, hub: str, name: str, version: str, source: str, role_arn: str, technique: str
) -> dict[str, Any]:
    """The ``ImportHubContent`` request for one version of the dataset ``name`` pointing at ``source``."""
    bucket, key = request.split_s3_uri(source)
    return {
        "HubName": hub,
        "HubContentType": CONTENT_TYPE,
        "HubContentName": name,
        "HubContentVersion": version,
        "DocumentSchemaVersion": SCHEMA_VERSION,
        "HubContentDocument": document(bucket, key, role_arn),
        "HubContentSearchKeywords": search_keywords(technique),
    }


def check_source(source: str, field: str) -> None:
    """A dataset points at one object: ``source`` must be an ``s3://`` URI of a ``.jsonl`` object."""
    if not source.startswith("s3://") or not source.endswith(SUFFIX) or source.endswith("/" + SUFFIX):
        raise errors.InvalidInput(
            f"{source!r} must be the S3 URI of one .jsonl object when data.register_dataset is true "
            "(an AI Registry dataset points at a single object, not a prefix)",
            field=field,
        )


def hub_name(config: Mapping[str, Any], region: str, account: str | None) -> str:
    """The configured hub, else the account's AI Registry hub (the SDK's name for this region and account;
    ``<AiRegistryHub>`` without an account)."""
    configured = (config.get("registerDataset") or {}).get("hubName")
    if configured or not account:
        return configured or "<AiRegistryHub>"
    return hub_evaluator.ai_registry_hub_name(region, account)


#: The dataset ARN a dry run (``cdk-finetune plan``) shows in place of the version a run would register.
PLACEHOLDER_ARN = "<DatasetArn>"


def train_from_dataset(
    sagemaker: Any,
    config: Mapping[str, Any],
    req: TrainingJobRequest,
    *,
    region: str,
    account: str | None,
    field: str,
    dry_run: bool,
) -> dict[str, Any] | None:
    """With lineage on (``registerDataset``), register the ``train`` channel's S3 object and point the channel
    at the dataset version (``DatasetSource.DatasetArn``); returns the registration, else None (lineage off,
    or the channel is a dataset ARN already). ``dry_run``: no AWS call; the ``ImportHubContent`` request a run
    would send, with placeholders for the hub (when ``account`` is None), the version and the ARN."""
    if not config.get("registerDataset"):
        return None
    train = next(c for c in req["InputDataConfig"] if c["ChannelName"] == "train")
    source = (train["DataSource"].get("S3DataSource") or {}).get("S3Uri")
    if source is None:
        return None
    check_source(source, field)
    if dry_run:
        found = {
            "arn": PLACEHOLDER_ARN,
            "created": True,
            "request": import_request(
                hub=hub_name(config, region, account),
                name=config["registerDataset"]["name"],
                version="<latest major + 1>.0.0",
                source=source,
                role_arn=config["roleArn"],
                technique=config["technique"],
            ),
        }
    else:
        found = register(sagemaker, config, source, region=region, account=str(account))
    train["DataSource"] = {"DatasetSource": {"DatasetArn": found["arn"]}}
    return found


# -- registration ------------------------------------------------------------------------------------------


class _Registry:
    """The SageMaker calls of one registration, retried on throttling and transient errors."""

    def __init__(self, sagemaker: Any, hub: str, name: str) -> None:
        self.sagemaker, self.hub, self.name = sagemaker, hub, name

    def invoke(self, operation: str, **params: Any) -> dict[str, Any]:
        return retry.call(getattr(self.sagemaker, operation), **params)

    def describe(self, version: str | None = None) -> dict[str, Any] | None:
        params = {"HubName": self.hub, "HubContentType": CONTENT_TYPE, "HubContentName": self.name}
        if version:
            params["HubContentVersion"] = version
        try:
            return self.invoke("describe_hub_content", **params)
        except ClientError as exc:
            if _code(exc) in ("ResourceNotFound", "ResourceNotFoundException"):
                return None
            raise


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _same_document(content: Mapping[str, Any], wanted: str) -> bool:
    try:
        return json.loads(content.get("HubContentDocument") or "null") == json.loads(wanted)
    except (TypeError, ValueError):
        return False


def _next_version(latest: Mapping[str, Any] | None) -> str:
    if latest is None:
        return "1.0.0"
    return f"{int(str(latest['HubContentVersion']).split('.')[0]) + 1}.0.0"


def register(
    sagemaker: Any, config: Mapping[str, Any], source: str, *, region: str, account: str
) -> dict[str, Any]:
    """Register ``source`` (or reuse the latest version with the same document) and wait until it is
    ``Available``; returns ``{"arn", "version", "hubName", "name", "created", "request"}``.

    Raises ``DatasetImportFailed``, ``DatasetImporting`` (still importing: retry later) or ``AwsError``.
    """
    settings = config["registerDataset"]
    field = "data.register_dataset"
    hub = hub_name(config, region, account)
    registry = _Registry(sagemaker, hub, settings["name"])
    try:
        hub_evaluator.ensure_hub(
            hub,
            create=not settings.get("hubName"),
            display_name=f"AiRegistry-{region}-{account}",
            invoke=registry.invoke,
            polls=HUB_POLLS,
        )
        found = _import(registry, config, source)
        arn = _wait(registry, found["version"])
    except hub_evaluator.HubNotReady as exc:
        raise errors.DatasetImporting(f"{exc}; the run retries", field=field) from None
    except RuntimeError as exc:
        raise errors.DatasetImportFailed(str(exc), field=field) from None
    except (ClientError, BotoCoreError) as exc:
        raise errors.from_aws(exc, f"registering dataset {settings['name']!r} in hub {hub!r}") from None
    return {**found, "arn": arn, "hubName": hub, "name": settings["name"]}


def _import(registry: _Registry, config: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Reuse the latest version with this document, or import the next one (``{"version", "created", ...}``)."""
    for _ in range(IMPORT_ATTEMPTS):
        latest = registry.describe()
        params = import_request(
            hub=registry.hub,
            name=registry.name,
            version=_next_version(latest),
            source=source,
            role_arn=config["roleArn"],
            technique=config["technique"],
        )
        if (
            latest is not None
            and latest.get("HubContentStatus") in USABLE
            and _same_document(latest, params["HubContentDocument"])
        ):
            return {"version": latest["HubContentVersion"], "created": False, "request": None}
        try:
            registry.invoke("import_hub_content", **params)
        except ClientError as exc:
            if _code(exc) == "ResourceInUse":  # another run imported this version meanwhile: look again
                continue
            raise
        return {"version": params["HubContentVersion"], "created": True, "request": params}
    raise errors.AwsError(
        f"ImportHubContent of dataset {registry.name!r} kept colliding with concurrent imports "
        f"({IMPORT_ATTEMPTS} attempts); start the run again",
        field="data.register_dataset",
    )


def _wait(registry: _Registry, version: str) -> str:
    """Poll the version until ``Available`` (its ARN), for at most :data:`WAIT_SECONDS`."""
    deadline = clock() + WAIT_SECONDS
    while True:
        content = registry.describe(version) or {}
        status = content.get("HubContentStatus")
        label = f"dataset {registry.name!r} version {version} in hub {registry.hub!r}"
        if status == "Available":
            arn = str(content.get("HubContentArn") or "")
            return arn if request.DATASET_ARN_RE.match(arn) else f"{arn.rstrip('/')}/{version}"
        if status == "ImportFailed":
            reason = content.get("FailureReason") or "no reason given"
            raise errors.DatasetImportFailed(
                f"importing {label} failed: {reason}", field="data.register_dataset"
            )
        if status not in ("Importing", "PendingImport"):
            raise errors.DatasetImportFailed(
                f"{label} is {status or 'missing'}, not importing", field="data.register_dataset"
            )
        if clock() + POLL_SECONDS > deadline:
            raise errors.DatasetImporting(
                f"{label} is still {status} after {WAIT_SECONDS:.0f} s; the run retries",
                field="data.register_dataset",
            )
        sleep(POLL_SECONDS)


# -- lineage on the model package --------------------------------------------------------------------------


def _fits(value: str) -> bool:
    return 0 < len(value) <= MAX_VALUE and all(c.isalnum() or c in _ALLOWED_VALUE for c in value)


def lineage_properties(job: Mapping[str, Any]) -> dict[str, str]:
    """``lineage:`` ``CustomerMetadataProperties`` from a ``DescribeTrainingJob`` answer: each channel's
    dataset ARN or S3 URI, the base model, the source package and the job (values that do not fit are left out)."""
    props: dict[str, str] = {}
    for channel in job.get("InputDataConfig") or []:
        source = channel.get("DataSource") or {}
        value = (source.get("DatasetSource") or {}).get("DatasetArn") or (
            source.get("S3DataSource") or {}
        ).get("S3Uri")
        if value:
            props[f"{LINEAGE_PREFIX}{channel.get('ChannelName')}-data"] = value
    serverless = job.get("ServerlessJobConfig") or {}
    package = job.get("ModelPackageConfig") or {}
    for key, value in (
        ("base-model", serverless.get("BaseModelArn")),
        ("source-model-package", package.get("SourceModelPackageArn")),
        ("training-job", job.get("TrainingJobArn")),
    ):
        if value:
            props[f"{LINEAGE_PREFIX}{key}"] = value
    return {k: v for k, v in props.items() if _fits(v)}


def record_lineage(sagemaker: Any, job: Mapping[str, Any]) -> dict[str, str]:
    """Write :func:`lineage_properties` on the job's output model package; returns what was written."""
    arn = job.get("OutputModelPackageArn")
    props = lineage_properties(job)
    if not arn or not props:
        return {}
    try:
        retry.call(sagemaker.update_model_package, ModelPackageArn=arn, CustomerMetadataProperties=props)
    except (ClientError, BotoCoreError) as exc:
        raise errors.from_aws(exc, f"UpdateModelPackage {arn} (lineage)") from None
    return props
