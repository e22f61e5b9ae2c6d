"""``JudgePrompt``: a custom RLAIF judge prompt (``.jinja``) shipped as an S3 asset and registered as a
``RewardPrompt`` evaluator. Built-in prompts (``Builtin.*``) need no evaluator: pass their name as is."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from ..runtime.models import BUILTIN_JUDGE_PROMPTS
from ..user_code import check_judge_prompt
from .errors import ConstructValidationError
from .hub_evaluator import HubEvaluator


class JudgePrompt(Construct):
    """A judge prompt template the RLAIF job renders with ``{{ prompt }}``, ``{{ response }}`` and optionally
    ``{{ ground_truth }}``; the judge answers JSON with a ``score`` in 0.0-1.0 (`RFT <https://docs.aws.amazon.com/sagemaker/latest/dg/customizing-models-rft.html>`_).

    :param template_path: the ``.jinja`` file: UTF-8, valid Jinja, using ``{{ response }}`` and no variable
        the service does not supply (checked at synth by ``user_code.check_judge_prompt``).
    :param evaluator_name: hub content name (1-63 lower-case letters, digits and hyphens).
    :param hub_name: Default: the account's AI Registry hub (see ``HubEvaluator``).
    :param domain_id: Studio domain id keyword. Default: none.
    :param removal_policy: keep (``RETAIN``) or delete (``DESTROY``) registered versions.
        Default: ``RemovalPolicy.RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        template_path: str | Path,
        evaluator_name: str,
        hub_name: str | None = None,
        domain_id: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        path = Path(template_path)
        if path.suffix != ".jinja" or not path.is_file():
            raise ConstructValidationError(
                f"template_path {str(path)!r} must be an existing .jinja file", self
            )
        problems = check_judge_prompt(path)
        if problems:
            raise ConstructValidationError("; ".join(p.render(path) for p in problems), self)
        self.asset = s3_assets.Asset(self, "Template", path=str(path))
        self.s3_uri = self.asset.s3_object_url
        self.evaluator = HubEvaluator(
            self,
            "Evaluator",
            evaluator_name=evaluator_name,
            reference=self.s3_uri,
            evaluator_type="RewardPrompt",
            hub_name=hub_name,
            domain_id=domain_id,
            removal_policy=removal_policy,
        )
        self.evaluator_arn = self.evaluator.evaluator_arn

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow reading the template object, and nothing else in the asset bucket (the training role needs it)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject"],
            resource_arns=[self.asset.bucket.arn_for_objects(self.asset.s3_object_key)],
        )

    @staticmethod
    def is_builtin(prompt: str) -> bool:
        """True for the built-in judge prompts (``Builtin.Summarize`` ...), which need no evaluator."""
        return prompt in BUILTIN_JUDGE_PROMPTS
