"""Where the pieces shared by several projects live: the stack holding the projects, or the platform's stack.

A :class:`~cdk_sagemaker_finetuning.constructs.platform.FineTuningPlatform` places each project in a nested
stack and registers it here, so the access-log bucket, the evaluator provider, the AI Registry hub, the
orphaned-job stopper and the workflow log group are created once in the platform's stack and referenced from
the nested stacks (CloudFormation parameters). Anywhere else the project's own stack holds them.
"""

from __future__ import annotations

import weakref

from aws_cdk import Stack
from constructs import IConstruct

from .arns import stack_of

_OWNERS: weakref.WeakKeyDictionary[Stack, Stack] = weakref.WeakKeyDictionary()


def share_with(nested: Stack, owner: Stack) -> None:
    """Let ``nested`` use the shared pieces of ``owner`` (a FineTuningPlatform's stack)."""
    _OWNERS[nested] = owner


def shared_stack(scope: IConstruct) -> Stack:
    """The stack holding the shared pieces for constructs in ``scope``."""
    stack = stack_of(scope)
    return _OWNERS.get(stack, stack)
