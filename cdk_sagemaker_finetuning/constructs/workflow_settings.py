"""The workflow configuration checked at synth, with what the constructs derive from it.

The configuration's type is :class:`~cdk_sagemaker_finetuning.runtime.workflow_contract.WorkflowConfig`, the
one the Lambda reads; an unknown or missing key, a value of the wrong type or a bad job name prefix fails here
with a :class:`ConstructValidationError` naming the key, not in the Lambda after a deployment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from constructs import IConstruct

from ..runtime import models
from ..runtime.workflow_contract import ConfigProblem, WorkflowConfig, check_config
from .arns import unresolved
from .errors import ConstructValidationError

#: Lambda environment variables share a 4 KB limit.
MAX_CONFIG_CHARS = 3500
MAX_PREFIX = 26
DEFAULT_MAX_RUNTIME_SECONDS = 86400


@dataclass(frozen=True)
class WorkflowSettings:
    """A checked :class:`WorkflowConfig` (build it with :meth:`of`)."""

    config: WorkflowConfig

    @classmethod
    def of(cls, scope: IConstruct, config: Mapping[str, Any] | WorkflowSettings) -> WorkflowSettings:
        """Check ``config`` (values that are tokens are not type-checked); errors name ``scope`` and the key."""
        if isinstance(config, WorkflowSettings):
            return config
        try:
            checked = check_config(config, unresolved=unresolved)
        except ConfigProblem as exc:
            raise ConstructValidationError(f"config {exc}", scope) from None
        prefix = checked["jobNamePrefix"]
        if unresolved(prefix) or not models.RESOURCE_NAME_RE.match(prefix) or len(prefix) > MAX_PREFIX:
            raise ConstructValidationError(
                f"config jobNamePrefix {prefix!r} must be a literal name of at most {MAX_PREFIX} letters, "
                "digits and hyphens",
                scope,
            )
        text = json.dumps(checked, default=str)
        if not unresolved(text) and len(text) > MAX_CONFIG_CHARS:
            raise ConstructValidationError(
                f"the workflow config is {len(text)} characters; Lambda environments hold 4 KB (fewer tags or "
                "hyperparameters)",
                scope,
            )
        return cls(dict(checked))  # type: ignore[arg-type]  # a copy: later changes by the caller do not leak

    @property
    def job_name_prefix(self) -> str:
        return self.config["jobNamePrefix"]

    @property
    def hub(self) -> str:
        """The hub holding the base model."""
        return self.config["hubName"] or models.PUBLIC_HUB

    @property
    def hub_owner(self) -> str | None:
        """``"aws"`` for the public hub's content, else ``None`` (this account)."""
        return "aws" if self.hub == models.PUBLIC_HUB else None

    @property
    def max_runtime_seconds(self) -> int:
        return int(self.config["maxRuntimeSeconds"] or DEFAULT_MAX_RUNTIME_SECONDS)
