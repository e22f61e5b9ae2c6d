"""``HubEvaluator``: an evaluator (reward function or reward prompt) registered as SageMaker Hub content.

There is no CloudFormation resource for hub content, so a custom resource (Provider framework with an
``is_complete`` poll, ``runtime/hub_evaluator.py``) imports it. One provider per stack serves every evaluator.
"""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

from aws_cdk import (
    Arn,
    ArnFormat,
    CustomResource,
    RemovalPolicy,
    Resource,
    Stack,
    Token,
)
from aws_cdk import aws_iam as iam
from aws_cdk.interfaces import ResourceEnvironment
from constructs import Construct, Node

from ..runtime.hub_evaluator import EVALUATOR_TYPES
from ..runtime.models import RESOURCE_NAME_RE
from .errors import ConstructValidationError
from .hub_evaluator_provider import CONTENT_TYPE, HubEvaluatorProvider

EVALUATOR_ARN_RE = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:[^:]+:\d{12}:hub-content/([^/]+)/JsonDoc/([^/]+)/(\d{1,4}\.\d{1,4}\.\d{1,4})$"
)


@runtime_checkable
class IEvaluator(Protocol):
    """An evaluator in a SageMaker hub: registered by this stack (:class:`HubEvaluator`) or imported
    (``HubEvaluator.from_evaluator_arn``)."""

    @property
    def node(self) -> Node:
        """The construct's node."""
        ...

    @property
    def env(self) -> ResourceEnvironment:
        """Account and region of the evaluator (an imported evaluator's are those of its ARN)."""
        ...

    @property
    def evaluator_arn(self) -> str:
        """The versioned evaluator ARN a job's ``EvaluatorArn`` takes."""
        ...

    @property
    def evaluator_name(self) -> str:
        """The hub content name."""
        ...

    @property
    def hub_name(self) -> str:
        """The hub holding the evaluator."""
        ...

    @property
    def versions_arn(self) -> str:
        """ARN pattern matching every version of this evaluator."""
        ...

    @property
    def hub_arn(self) -> str:
        """ARN of the hub holding this evaluator."""
        ...

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow describing every version of this evaluator."""
        ...


class _EvaluatorBase(Resource):
    """What registered and imported evaluators share: derived ARNs and ``grant_read``."""

    evaluator_arn: str
    evaluator_name: str
    hub_name: str

    @property
    def versions_arn(self) -> str:
        """ARN pattern matching every version of this evaluator."""
        return Stack.of(self).format_arn(
            service="sagemaker",
            resource="hub-content",
            resource_name=f"{self.hub_name}/{CONTENT_TYPE}/{self.evaluator_name}/*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    @property
    def hub_arn(self) -> str:
        """ARN of the hub holding this evaluator."""
        return Stack.of(self).format_arn(
            service="sagemaker",
            resource="hub",
            resource_name=self.hub_name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow describing every version of this evaluator (what the training job does with its ARN).

        ``DescribeHubContent`` is authorized on both the hub and the hub content, so both are granted.
        """
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:DescribeHubContent"],
            resource_arns=[self.hub_arn, self.versions_arn],
        )


class _ImportedEvaluator(_EvaluatorBase):
    """An evaluator of any account and region: ``env`` and every derived ARN are taken from its ARN."""

    def __init__(self, scope: Construct, id: str, *, arn: str, hub_name: str, name: str) -> None:
        super().__init__(scope, id, environment_from_arn=arn)
        self.evaluator_arn = arn
        self.hub_name = hub_name
        self.evaluator_name = name

    @property
    def versions_arn(self) -> str:
        """Every version, in the evaluator's own account and region (it may live in another account)."""
        return evaluator_versions_arn(self.evaluator_arn)

    @property
    def hub_arn(self) -> str:
        """The evaluator's hub, in the evaluator's own account and region."""
        return evaluator_hub_arn(self.evaluator_arn)


def evaluator_versions_arn(evaluator_arn: str) -> str:
    """Every version of the evaluator a concrete versioned ARN names, in that ARN's account and region."""
    hub, name, _ = _hub_content(evaluator_arn)
    return _in_environment_of(evaluator_arn, "hub-content", f"{hub}/{CONTENT_TYPE}/{name}/*")


def evaluator_hub_arn(evaluator_arn: str) -> str:
    """The hub holding the evaluator a concrete ARN names, in that ARN's account and region."""
    return _in_environment_of(evaluator_arn, "hub", _hub_content(evaluator_arn)[0])


def _hub_content(evaluator_arn: str) -> tuple[str, str, str]:
    """``(hub, name, version)`` of a concrete versioned evaluator ARN (one ``EVALUATOR_ARN_RE`` accepts)."""
    hub, _, name, version = evaluator_arn.partition(":hub-content/")[2].split("/")[:4]
    return hub, name, version


def _in_environment_of(arn: str, resource: str, resource_name: str) -> str:
    """A SageMaker ARN in the partition, account and region of ``arn`` (``Arn.split``)."""
    parts = Arn.split(arn, ArnFormat.SLASH_RESOURCE_NAME)
    return f"arn:{parts.partition}:sagemaker:{parts.region}:{parts.account}:{resource}/{resource_name}"


class HubEvaluator(_EvaluatorBase):
    """Registers an evaluator (``ImportHubContent``, ``JsonDoc``) exactly as the SDK's ``Evaluator.create``.

    :param evaluator_name: hub content name: 1-63 lower-case letters, digits and hyphens.
    :param reference: the reward Lambda's ARN (``RewardFunction``) or the ``s3://`` URI of a judge prompt.
    :param evaluator_type: ``RewardFunction`` or ``RewardPrompt``. Default: ``RewardFunction``.
    :param hub_name: hub to register in; it must exist. Default: the account's AI Registry hub (the SDK's
        deterministic name, created on first use and never deleted), which makes the evaluator visible to
        ``Evaluator.get_all()`` and Studio.
    :param domain_id: Studio domain id added as the ``@domain:<id>`` keyword. Default: none.
    :param removal_policy: ``RETAIN`` keeps the registered version when the resource is deleted or replaced
        (running jobs may still use it); ``DESTROY`` deletes it. Default: ``RemovalPolicy.RETAIN``.

    A change of any prop imports a new major version (new ARN); the function's code can change without one.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        evaluator_name: str,
        reference: str,
        evaluator_type: str = "RewardFunction",
        hub_name: str | None = None,
        domain_id: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        _check_name(self, "evaluator_name", evaluator_name, lower=True)
        if hub_name is not None:
            _check_name(self, "hub_name", hub_name)
        if evaluator_type not in EVALUATOR_TYPES:
            raise ConstructValidationError(
                f"evaluator_type {evaluator_type!r} must be one of {', '.join(EVALUATOR_TYPES)}", self
            )
        if removal_policy not in (RemovalPolicy.RETAIN, RemovalPolicy.DESTROY):
            raise ConstructValidationError("removal_policy must be RemovalPolicy.RETAIN or DESTROY", self)
        provider = HubEvaluatorProvider.of(self)
        target_hub = hub_name or provider.ai_registry_hub_name
        provider.allow(hub_name=target_hub, evaluator_name=evaluator_name, create_hub=hub_name is None)
        properties = {
            "EvaluatorName": evaluator_name,
            "EvaluatorType": evaluator_type,
            "Reference": reference,
            "RetainOnDelete": "true" if removal_policy == RemovalPolicy.RETAIN else "false",
        }
        if hub_name:
            properties["HubName"] = hub_name
        if domain_id:
            properties["DomainId"] = domain_id
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::SageMakerHubEvaluator",
            properties=properties,
        )
        self.evaluator_arn = self.resource.ref
        self.evaluator_name = evaluator_name
        self.evaluator_type = evaluator_type
        self.hub_name = hub_name or self.resource.get_att_string("HubName")
        self.version = self.resource.get_att_string("Version")

    @classmethod
    def from_evaluator_arn(cls, scope: Construct, id: str, arn: str) -> IEvaluator:
        """Import a registered evaluator by its versioned ARN (``...:hub-content/<hub>/JsonDoc/<name>/<x.y.z>``)."""
        if Token.is_unresolved(arn):
            raise ConstructValidationError(
                "from_evaluator_arn needs the ARN as text to read its hub and name; got a value known only at "
                "deploy time (a token, e.g. a parameter or another resource's attribute)",
                scope,
            )
        match = EVALUATOR_ARN_RE.match(arn)
        if not match:
            raise ConstructValidationError(
                f"{arn!r} is not a versioned evaluator ARN "
                "(arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/JsonDoc/<name>/<x.y.z>)",
                scope,
            )
        return _ImportedEvaluator(scope, id, arn=arn, hub_name=match.group(1), name=match.group(2))


def _check_name(scope: Construct, prop: str, value: str, *, lower: bool = False) -> None:
    if Token.is_unresolved(value):
        return
    if not RESOURCE_NAME_RE.match(value) or (lower and value != value.lower()):
        case = "lower-case " if lower else ""
        raise ConstructValidationError(
            f"{prop} {value!r} is invalid: use 1-63 {case}letters, digits and hyphens, starting and ending with a "
            "letter or digit (no '_' or '.')",
            scope,
        )
