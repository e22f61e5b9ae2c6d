"""ARNs built in Python from the stack's partition, region and account (read once per stack, not per ARN).

Same result as ``Stack.format_arn`` (literal where the stack's environment is, pseudo-parameter tokens where
not) without a jsii round trip per ARN.
"""

from __future__ import annotations

import weakref

from aws_cdk import Arn, ArnComponents, ArnFormat, Duration, Stack
from constructs import IConstruct

from .errors import ConstructValidationError

#: How aws-cdk-lib encodes a string token (``${Token[AWS.AccountId.8]}``; lists ``#{Token[...]}``).
TOKEN = "${Token["
LIST_TOKEN = "#{Token["
#: Encoded number tokens are doubles near -1.9e289 (aws-cdk-lib's token encoding).
NUMBER_TOKENS_BELOW = -1e288

_ENVIRONMENTS: weakref.WeakKeyDictionary[IConstruct, tuple[str, str, str]] = weakref.WeakKeyDictionary()
_STACKS: weakref.WeakKeyDictionary[IConstruct, Stack] = weakref.WeakKeyDictionary()
_CHILDREN: weakref.WeakKeyDictionary[IConstruct, dict[str, IConstruct]] = weakref.WeakKeyDictionary()
_PATHS: weakref.WeakKeyDictionary[IConstruct, str] = weakref.WeakKeyDictionary()
_SECONDS: weakref.WeakKeyDictionary[Duration, int | float] = weakref.WeakKeyDictionary()


def stack_of(scope: IConstruct) -> Stack:
    """``Stack.of(scope)``, remembered per scope (a construct never moves to another stack)."""
    found = _STACKS.get(scope)
    if found is None:
        found = _STACKS[scope] = Stack.of(scope)
    return found


def path_of(scope: IConstruct) -> str:
    """``scope.node.path``, remembered per scope (a construct's path never changes)."""
    found = _PATHS.get(scope)
    if found is None:
        found = _PATHS[scope] = scope.node.path
    return found


def find_child(scope: IConstruct, id: str) -> IConstruct | None:
    """``scope.node.try_find_child(id)``, remembered once found (a construct never leaves the tree): the per-stack
    singletons are looked up by every project."""
    children = _CHILDREN.get(scope)
    found = children.get(id) if children else None
    if found is None:
        found = scope.node.try_find_child(id)
        if found is not None:
            _CHILDREN.setdefault(scope, {})[id] = found
    return found


def environment(scope: IConstruct) -> tuple[str, str, str]:
    """``(partition, region, account)`` of ``scope``'s stack (literals or tokens; remembered per scope)."""
    found = _ENVIRONMENTS.get(scope)
    if found is None:
        stack = stack_of(scope)
        found = _ENVIRONMENTS.get(stack) or (stack.partition, stack.region, stack.account)
        _ENVIRONMENTS[stack] = _ENVIRONMENTS[scope] = found
    return found


def format_arn(
    scope: IConstruct,
    *,
    service: str,
    resource: str,
    resource_name: str,
    account: str | None = None,
    separator: str = "/",
) -> str:
    """``arn:<partition>:<service>:<region>:<account>:<resource><separator><resource_name>`` in ``scope``'s
    stack; ``account`` defaults to the stack's (``"aws"`` for AWS-owned hub content, ``""`` for none)."""
    partition, region, own_account = environment(scope)
    owner = own_account if account is None else account
    return f"arn:{partition}:{service}:{region}:{owner}:{resource}{separator}{resource_name}"


def s3_arn(scope: IConstruct, path: str) -> str:
    """``arn:<partition>:s3:::<bucket>[/<key>]`` (S3 ARNs have no region or account)."""
    return f"arn:{environment(scope)[0]}:s3:::{path}"


def split_arn(scope: IConstruct, arn: str, *, what: str, expected: str) -> ArnComponents:
    """``Arn.split`` (slash resource names); a malformed ARN is a ``ConstructValidationError`` naming ``what``
    was expected and its ``expected`` form, not a jsii error."""
    try:
        return Arn.split(arn, ArnFormat.SLASH_RESOURCE_NAME)
    except RuntimeError:
        raise ConstructValidationError(f"{arn!r} is not {what}: expected {expected}", scope) from None


def unresolved(value: object) -> bool:
    """Whether ``value`` (a string or number) is or holds a CDK token, checked in Python: ``Token.is_unresolved``
    costs a jsii round trip per value."""
    if isinstance(value, str):
        return TOKEN in value or LIST_TOKEN in value
    return isinstance(value, float) and value < NUMBER_TOKENS_BELOW


def duration(amount: int | float) -> Duration:
    """``Duration.seconds(amount)``, whose :func:`seconds` is then known without a jsii round trip."""
    found = Duration.seconds(amount)
    _SECONDS[found] = amount
    return found


def seconds(value: Duration) -> int | float:
    """``value.to_seconds()``, remembered per ``Duration`` (a value: it never changes)."""
    found = _SECONDS.get(value)
    if found is None:
        found = _SECONDS[value] = value.to_seconds()
    return found


def execution_arn(state_machine_arn: str, names: str) -> str:
    """The ARN of the executions named ``names`` (a pattern such as ``*``) of the state machine
    ``state_machine_arn``, in that state machine's own partition, account and region (taken from its ARN, so an
    imported state machine works too)."""
    arn = Arn.split(state_machine_arn, ArnFormat.COLON_RESOURCE_NAME)
    return f"arn:{arn.partition}:states:{arn.region}:{arn.account}:execution:{arn.resource_name}:{names}"
