"""``HubEvaluatorProvider``: the stack-wide Provider framework (on-event + is-complete Lambdas, arm64) that
registers every ``HubEvaluator`` (``runtime/hub_evaluator.py``)."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from ..runtime.hub_evaluator import ai_registry_hub_name
from .arns import find_child
from .asset_staging import runtime_asset, runtime_handler
from .nag import acknowledge, nag_text
from .runtime_function import ARCHITECTURE, RUNTIME
from .runtime_provider import provider_log_group
from .shared import shared_stack

CONTENT_TYPE = "JsonDoc"
PROVIDER_ID = "HubEvaluatorProvider"


class HubEvaluatorProvider(Construct):
    """The stack-wide Provider framework (on-event + is-complete Lambdas) behind every ``HubEvaluator``."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        code_dir = runtime_asset(["hub_evaluator"])
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Registers SageMaker Hub evaluators (cdk-sagemaker-finetuning custom resource)",
        )
        handlers = {}
        for name, handler in (
            ("OnEvent", "hub_evaluator.on_event"),
            ("IsComplete", "hub_evaluator.is_complete"),
        ):
            log_group = logs.LogGroup(
                self,
                f"{name}Logs",
                retention=logs.RetentionDays.ONE_MONTH,
                removal_policy=RemovalPolicy.DESTROY,
            )
            log_group.grant_write(self.role)
            handlers[name] = lambda_.Function(
                self,
                name,
                runtime=RUNTIME,
                architecture=ARCHITECTURE,
                handler=runtime_handler(handler),
                code=lambda_.Code.from_asset(str(code_dir)),
                timeout=Duration.minutes(2),
                role=self.role,
                log_group=log_group,
                description=f"SageMaker Hub evaluator custom resource ({name})",
            )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=handlers["OnEvent"],
            is_complete_handler=handlers["IsComplete"],
            query_interval=Duration.seconds(15),
            total_timeout=Duration.minutes(30),
            log_group=provider_log_group(self),
        )
        self.service_token = self.provider.service_token
        self._evaluators = 0
        concrete = not Token.is_unresolved(stack.account) and not Token.is_unresolved(stack.region)
        self.ai_registry_hub_name = ai_registry_hub_name(stack.region, stack.account) if concrete else None
        """The AI Registry hub name when the stack's account and region are known at synth time, else None."""
        self._acknowledge(list(handlers.values()))

    @classmethod
    def of(cls, scope: Construct) -> HubEvaluatorProvider:
        """The stack's (or platform's) provider, created on first use."""
        stack = shared_stack(scope)
        existing = find_child(stack, PROVIDER_ID)
        return existing if isinstance(existing, HubEvaluatorProvider) else cls(stack, PROVIDER_ID)

    def allow(self, *, hub_name: str | None, evaluator_name: str, create_hub: bool) -> None:
        """Let the handlers register ``evaluator_name`` in ``hub_name`` (None: the AI Registry hub, any name)."""
        stack = Stack.of(self)
        hub = hub_name or "*"

        def arn(resource: str, name: str) -> str:
            return stack.format_arn(
                service="sagemaker",
                resource=resource,
                resource_name=name,
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            )

        hub_actions = ["sagemaker:DescribeHub", "sagemaker:ImportHubContent"] + (
            ["sagemaker:CreateHub"] if create_hub else []
        )
        content = [
            arn("hub-content", f"{hub}/{CONTENT_TYPE}/{evaluator_name}"),
            arn("hub-content", f"{hub}/{CONTENT_TYPE}/{evaluator_name}/*"),
        ]
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=hub_actions, resources=[arn("hub", hub)])
        )
        # Hub-content actions are authorized on both the hub and the hub content (Service Authorization
        # Reference), so the hub is granted with them.
        self._evaluators += 1
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                # one statement per evaluator (a Sid keeps CDK from merging them into one that could not
                # move to an overflow managed policy once the role's inline policy is full)
                sid=f"Evaluator{self._evaluators}",
                actions=[
                    "sagemaker:ImportHubContent",
                    "sagemaker:DescribeHubContent",
                    "sagemaker:DeleteHubContent",
                    "sagemaker:ListHubContentVersions",
                ],
                resources=[arn("hub", hub), *content],
            )
        )
        prefix = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
        reasons = {
            f"AwsSolutions-IAM5[Resource::{prefix}hub-content/{hub}/{CONTENT_TYPE}/{evaluator_name}/*]": "Every version of this one evaluator: versions are numbered at deploy time (latest major + 1).",
        }
        if hub == "*":
            reasons[f"AwsSolutions-IAM5[Resource::{prefix}hub/*]"] = (
                "The AI Registry hub name is a hash of the account and region, computed by the handler at deploy "
                "time because the stack is environment-agnostic; scoped to this account and region."
            )
            reasons[f"AwsSolutions-IAM5[Resource::{prefix}hub-content/*/{CONTENT_TYPE}/{evaluator_name}]"] = (
                "This one evaluator in the AI Registry hub, whose hashed name is only known at deploy time."
            )
        acknowledge(self.role, reasons)

    def _acknowledge(self, handlers: list[lambda_.IFunction]) -> None:
        functions = handlers + [
            self.provider.node.find_child(child) for child in ("framework-isComplete", "framework-onTimeout")
        ]
        acknowledge(
            self.provider,
            {
                f"AwsSolutions-IAM5[Resource::{nag_text(Stack.of(self).resolve(fn.function_arn))}:*]": "CDK's Provider framework invokes this one function and its versions (aws-cdk-lib's grant)."
                for fn in functions
            },
        )
        acknowledge(
            self.provider,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]": "CDK's Provider framework Lambdas use the basic execution role to log.",
                "AwsSolutions-L1": "The Provider framework Lambdas' runtime is chosen and updated by aws-cdk-lib.",
                "AwsSolutions-SF1": "The Provider framework's waiter state machine is managed by aws-cdk-lib; each "
                "step's Lambda logs to CloudWatch.",
                "AwsSolutions-SF2": "The Provider framework's waiter state machine is managed by aws-cdk-lib; X-Ray "
                "tracing is not configurable there.",
            },
        )
