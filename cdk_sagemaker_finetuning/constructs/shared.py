"""Where the pieces shared by several projects live: the stack holding the projects, or the platform's stack.

A :class:`~cdk_sagemaker_finetuning.constructs.platform.FineTuningPlatform` places each project in a nested
stack and registers it here, so the access-log bucket, the evaluator provider, the AI Registry hub, the
orphaned-job stopper and the workflow log group are created once in the platform's stack and referenced from
the nested stacks (CloudFormation parameters). Anywhere else the project's own stack holds them. The same
stack holds the registry of project and model package group names (``ProjectNames``).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

from aws_cdk import Stack
from constructs import Construct, IConstruct

from .arns import find_child, path_of, stack_of
from .errors import ConstructValidationError

NAMES_ID = "FineTuningProjectNames"

_OWNERS: weakref.WeakKeyDictionary[Stack, Stack] = weakref.WeakKeyDictionary()


def share_with(nested: Stack, owner: Stack) -> None:
    """Let ``nested`` use the shared pieces of ``owner`` (a FineTuningPlatform's stack)."""
    _OWNERS[nested] = owner


def shared_stack(scope: IConstruct) -> Stack:
    """The stack holding the shared pieces for constructs in ``scope``."""
    stack = stack_of(scope)
    return _OWNERS.get(stack, stack)


class ProjectNames(Construct):
    """The project and model package group names of one stack (or platform): a singleton in the construct tree
    (``ProjectNames.of(scope)``), so two projects cannot share a name wherever they are built."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self._claimed: dict[str, str] = {}

    @classmethod
    def of(cls, scope: IConstruct) -> ProjectNames:
        """The registry of the stack holding ``scope``'s shared pieces, created on first use."""
        stack = shared_stack(scope)
        existing = find_child(stack, NAMES_ID)
        return existing if isinstance(existing, ProjectNames) else cls(stack, NAMES_ID)

    def claim(self, project: IConstruct, names: Sequence[str]) -> None:
        """Reserve ``names`` for ``project``; a name claimed before fails with the path that claimed it."""
        for name in names:
            if name in self._claimed:
                raise ConstructValidationError(
                    f"{name} is already used by {self._claimed[name]} in this stack (or platform)", project
                )
            self._claimed[name] = path_of(project)
