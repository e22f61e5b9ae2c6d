"""``RuntimeProvider``: a stack-wide Provider framework custom resource whose handler is a runtime module.

Deploy-time lookups and checks (``EvaluatorLookup``, ``BucketEventCheck``) are small read-only custom
resources: one ``onEvent`` Lambda (Python, stdlib + boto3, code from ``runtime/``) behind CDK's Provider
framework, created once per stack and shared by every resource of that kind. Each user adds the IAM
statements its resources need with :meth:`RuntimeProvider.allow`.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from .arns import find_child
from .asset_staging import runtime_asset, runtime_handler
from .nag import acknowledge, nag_text
from .runtime_function import ARCHITECTURE, RUNTIME
from .shared import shared_stack


def provider_log_group(scope: Construct) -> logs.LogGroup:
    """The log group of a Provider framework's own Lambda (a month of logs, deleted with the stack)."""
    return logs.LogGroup(
        scope, "ProviderLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
    )


class RuntimeProvider(Construct):
    """One ``onEvent`` Lambda behind a Provider framework; see :meth:`of`.

    :param modules: the runtime modules the handler needs (staged as the package ``runtime``).
    :param handler: ``<module>.<function>`` of the runtime package, e.g. ``evaluator_check.on_event``.
    :param description: the function's description.
    """

    def __init__(
        self, scope: Construct, id: str, *, modules: Sequence[str], handler: str, description: str
    ) -> None:
        super().__init__(scope, id)
        code = runtime_asset(modules)
        log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description} (cdk-sagemaker-finetuning custom resource)"[:1000],
        )
        log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "OnEvent",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=runtime_handler(handler),
            code=lambda_.Code.from_asset(str(code)),
            timeout=Duration.minutes(1),
            role=self.role,
            log_group=log_group,
            description=description,
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.function,
            log_group=provider_log_group(self),
        )
        self.service_token = self.provider.service_token
        stack = Stack.of(self)
        acknowledge(
            self.role,
            {
                f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(log_group.node.default_child)}.Arn>:*]": "CloudWatch Logs names streams at run time; the grant covers this function's own log group only.",
            },
        )
        acknowledge(
            self.provider,
            {
                f"AwsSolutions-IAM5[Resource::{nag_text(stack.resolve(self.function.function_arn))}:*]": "CDK's Provider framework invokes this one function and its versions (aws-cdk-lib's grant).",
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]": "CDK's Provider framework Lambda uses the basic execution role to log.",
                "AwsSolutions-L1": "The Provider framework Lambda's runtime is chosen and updated by aws-cdk-lib.",
            },
        )

    @classmethod
    def of(
        cls, scope: Construct, id: str, *, modules: Sequence[str], handler: str, description: str
    ) -> RuntimeProvider:
        """The stack's (or platform's) provider called ``id``, created on first use."""
        stack = shared_stack(scope)
        existing = find_child(stack, id)
        if isinstance(existing, RuntimeProvider):
            return existing
        return cls(stack, id, modules=modules, handler=handler, description=description)

    def allow(self, actions: Sequence[str], resources: Sequence[str]) -> iam.Grant:
        """Let the handler call ``actions`` on ``resources``."""
        return iam.Grant.add_to_principal(
            grantee=self.role, actions=list(actions), resource_arns=list(resources)
        )
