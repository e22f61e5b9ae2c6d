"""``EvaluatorLookup``: resolve an existing evaluator (SageMaker Hub ``JsonDoc``) to its Lambda at deploy.

An evaluator registered elsewhere (``reward.evaluator_arn``) names its reward Lambda only inside its hub
content document, so the stack reads it with ``DescribeHubContent`` in a small custom resource
(``runtime/evaluator_check.py``) and grants the training role ``lambda:InvokeFunction`` on exactly that
function. With ``reward.lambda_arn`` (an evaluator this deployment cannot read) nothing is looked up.
"""

from __future__ import annotations

from aws_cdk import CustomResource
from aws_cdk import aws_iam as iam
from constructs import Construct

from .hub_evaluator import IEvaluator
from .nag import acknowledge_wildcard_resources
from .runtime_provider import RuntimeProvider

PROVIDER_ID = "EvaluatorLookupProvider"
DEFAULT_LAMBDA_ARN_FIELD = "reward.lambda_arn"


class EvaluatorLookup(Construct):
    """Reads an existing evaluator at deploy time; a missing or unreadable one fails the deployment.

    :param evaluator: the imported evaluator (``HubEvaluator.from_evaluator_arn``).
    :param evaluator_type: the type it must have: ``RewardFunction`` (RLVR) or ``RewardPrompt``.
        Default: ``RewardFunction``.
    :param lambda_arn_field: the spec field a failed lookup suggests instead (the evaluator's Lambda given
        directly). Default: ``reward.lambda_arn``.

    Attributes: ``lambda_arn`` (the unqualified function ARN; empty for a ``RewardPrompt``), ``reference``
    (the document's ``Reference`` as written).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        evaluator: IEvaluator,
        evaluator_type: str = "RewardFunction",
        lambda_arn_field: str = DEFAULT_LAMBDA_ARN_FIELD,
    ) -> None:
        super().__init__(scope, id)
        provider = RuntimeProvider.of(
            self,
            PROVIDER_ID,
            modules=("evaluator_check", "errors"),
            handler="evaluator_check.on_event",
            description="Resolves existing SageMaker Hub evaluators to their reward Lambda",
        )
        evaluator.grant_read(provider.role)
        acknowledge_wildcard_resources(
            provider.role,
            [evaluator.versions_arn],
            "Read-only DescribeHubContent on the versions of the one evaluator named in the spec.",
        )
        resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::SageMakerEvaluatorLookup",
            properties={
                "EvaluatorArn": evaluator.evaluator_arn,
                "EvaluatorType": evaluator_type,
                **(
                    {}
                    if lambda_arn_field == DEFAULT_LAMBDA_ARN_FIELD
                    else {"LambdaArnField": lambda_arn_field}
                ),
            },
        )
        self.lambda_arn = resource.get_att_string("LambdaArn")
        self.reference = resource.get_att_string("Reference")


def grant_function_check(grantee: iam.IGrantable, function_arn: str) -> iam.Grant:
    """Let the preflight confirm a reward Lambda exists (``lambda:GetFunction`` on it and its qualifiers)."""
    qualified = f"{function_arn}:*"
    if isinstance(grantee, Construct):
        acknowledge_wildcard_resources(
            grantee, [qualified], "GetFunction on the one reward Lambda the job invokes (and its aliases)."
        )
    return iam.Grant.add_to_principal(
        grantee=grantee, actions=["lambda:GetFunction"], resource_arns=[function_arn, qualified]
    )
