"""``ModelPackageGroup``: the SageMaker model package group fine-tuned models are registered in."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from aws_cdk import Arn, ArnComponents, ArnFormat, RemovalPolicy, Resource, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.interfaces import ResourceEnvironment
from constructs import Construct, Node

from ..runtime.models import RESOURCE_NAME_RE
from .arns import format_arn, split_arn, unresolved
from .errors import ConstructValidationError

READ_ACTIONS = (
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
)
REGISTER_ACTIONS = (
    *READ_ACTIONS,
    "sagemaker:CreateModelPackage",
    "sagemaker:UpdateModelPackage",
    "sagemaker:AddTags",
)


@runtime_checkable
class IModelPackageGroup(Protocol):
    """A model package group: created by this stack (:class:`ModelPackageGroup`) or imported
    (``ModelPackageGroup.from_model_package_group_name`` / ``from_model_package_group_arn``)."""

    @property
    def node(self) -> Node:
        """The construct's node."""
        ...

    @property
    def env(self) -> ResourceEnvironment:
        """Account and region of the group (an imported group's are those of its ARN)."""
        ...

    @property
    def model_package_group_name(self) -> str:
        """The group's name."""
        ...

    @property
    def model_package_group_arn(self) -> str:
        """The group's ARN."""
        ...

    @property
    def model_package_arn_pattern(self) -> str:
        """ARN pattern matching every model package (version) in the group, in the group's environment."""
        ...

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow describing the group and listing and describing its model packages."""
        ...

    def grant_register(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow registering, tagging and updating model packages in the group."""
        ...


class _ModelPackageGroupBase(Resource):
    """What created and imported groups share: the package ARN pattern and the grants."""

    model_package_group_name: str
    model_package_group_arn: str
    _package_arns: str | None = None

    @property
    def model_package_arn_pattern(self) -> str:
        """ARN pattern matching every model package (version) in the group (built once)."""
        if self._package_arns is None:
            self._package_arns = self._package_arn_pattern()
        return self._package_arns

    def _package_arn_pattern(self) -> str:
        return format_arn(
            self,
            service="sagemaker",
            resource="model-package",
            resource_name=f"{_lower(self.model_package_group_name)}/*",
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow describing the group and listing and describing its model packages."""
        return self._grant(grantee, READ_ACTIONS)

    def grant_register(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow registering, tagging and updating model packages in the group (what a training job does)."""
        return self._grant(grantee, REGISTER_ACTIONS)

    def _grant(self, grantee: iam.IGrantable, actions: tuple[str, ...]) -> iam.Grant:
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(actions),
            resource_arns=[self.model_package_group_arn, self.model_package_arn_pattern],
        )


def _lower(name: str) -> str:
    """SageMaker writes model package ARNs in lower case; tokens are left alone."""
    return name if unresolved(name) else name.lower()


def _check_name(scope: Construct, name: str) -> None:
    if not unresolved(name) and not RESOURCE_NAME_RE.match(name):
        raise ConstructValidationError(
            f"model_package_group_name {name!r} is invalid: use 1-63 letters, digits and single hyphens, "
            "starting and ending with a letter or digit",
            scope,
        )


class _ImportedModelPackageGroup(_ModelPackageGroupBase):
    """A group of this stack's environment, imported by name (every derived ARN is the stack's)."""

    def __init__(self, scope: Construct, id: str, *, name: str, arn: str) -> None:
        super().__init__(scope, id)
        self.model_package_group_name = name
        self.model_package_group_arn = arn


class _ImportedModelPackageGroupArn(_ModelPackageGroupBase):
    """A group of any account and region: ``env`` (and so every derived ARN) is taken from its ARN."""

    def __init__(self, scope: Construct, id: str, *, name: str, arn: str) -> None:
        super().__init__(scope, id, environment_from_arn=arn)
        self.model_package_group_name = name
        self.model_package_group_arn = arn

    def _package_arn_pattern(self) -> str:
        """Every model package of the group, in the partition, account and region of the group's ARN."""
        group = Arn.split(self.model_package_group_arn, ArnFormat.SLASH_RESOURCE_NAME)
        return Arn.format(
            ArnComponents(
                partition=group.partition,
                service="sagemaker",
                region=group.region,
                account=group.account,
                resource="model-package",
                resource_name=f"{_lower(self.model_package_group_name)}/*",
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            )
        )


class ModelPackageGroup(_ModelPackageGroupBase):
    """A SageMaker model package group, retained on stack deletion unless ``removal_policy`` says otherwise.

    :param model_package_group_name: group name (API rule ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``).
    :param description: group description. Default: none.
    :param removal_policy: what happens to the group (and so the registry entries of every trained model) when
        it leaves the stack. Default: ``RemovalPolicy.RETAIN``: trained models are never deleted with a stack.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        model_package_group_name: str,
        description: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id, physical_name=model_package_group_name)
        _check_name(self, model_package_group_name)
        if description is not None and not unresolved(description) and len(description) > 1024:
            raise ConstructValidationError(
                f"description is {len(description)} characters; at most 1024 are allowed", self
            )
        self.resource = sagemaker.CfnModelPackageGroup(
            self,
            "Resource",
            model_package_group_name=model_package_group_name,
            model_package_group_description=description,
        )
        self.resource.apply_removal_policy(removal_policy)
        self.model_package_group_name = model_package_group_name
        self.model_package_group_arn = self.resource.attr_model_package_group_arn

    @classmethod
    def from_model_package_group_name(cls, scope: Construct, id: str, name: str) -> IModelPackageGroup:
        """Import an existing group of this stack's account and region by name."""
        _check_name(scope, name)
        arn = format_arn(scope, service="sagemaker", resource="model-package-group", resource_name=name)
        return _ImportedModelPackageGroup(scope, id, name=name, arn=arn)

    @classmethod
    def from_model_package_group_arn(cls, scope: Construct, id: str, arn: str) -> IModelPackageGroup:
        """Import an existing group by ARN (``arn:aws:sagemaker:<region>:<account>:model-package-group/<name>``).

        The group may live in another account or region (a central model registry): grants then name that
        account's and region's ARNs.
        """
        what, expected = "a model package group ARN", "arn:aws:sagemaker:<region>:<account>:model-package-group/<name>"
        components = split_arn(scope, arn, what=what, expected=expected)
        name = components.resource_name
        kind = (components.service, components.resource)
        if name is None or (not Token.is_unresolved(arn) and kind != ("sagemaker", "model-package-group")):
            raise ConstructValidationError(f"{arn!r} is not {what}: expected {expected}", scope)
        return _ImportedModelPackageGroupArn(scope, id, name=name, arn=arn)
