"""``SpecRewards``: the reward side of a spec (RLVR reward Lambda + evaluator, RLAIF judge + prompt evaluator)."""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..spec import FineTuningSpec, RewardSpec
from .evaluator_lookup import EvaluatorLookup
from .hub_evaluator import HubEvaluator, IEvaluator
from .judge_prompt import JudgePrompt
from .nag import acknowledge_wildcard_resources
from .reward_function import RewardFunction
from .training_execution_role import TrainingExecutionRole


class SpecRewards(Construct):
    """Creates what ``spec.reward`` / ``spec.rlaif`` ask for and grants the training role exactly that.

    * RLVR with ``reward.builtin`` or ``reward.code``: a ``RewardFunction`` (invoke granted to the training role)
      registered as a ``HubEvaluator`` named ``<project>-reward``.
    * RLVR with ``reward.evaluator_arn``: the imported evaluator; its Lambda (``reward.lambda_arn``, else read
      from the evaluator at deploy time by an ``EvaluatorLookup``) gets the training role's invoke grant.
    * RLAIF: ``bedrock:InvokeModel`` on the judge model; a custom ``.jinja`` prompt becomes a ``JudgePrompt``
      named ``<project>-judge`` (read granted on its object). ``Builtin.*`` prompts need no evaluator.
    * ``evaluation.custom_scorer.evaluator_arn`` (the evaluation job runs as the training role and calls it):
      like ``reward.evaluator_arn``, read on the imported evaluator and invoke on its Lambda
      (``custom_scorer.lambda_arn``, else looked up at deploy time); nothing more when it is the reward's.

    :param spec: the project's spec (its ``technique``, ``reward`` and ``rlaif``).
    :param training_role: the role of the training job; it gets the invoke and read grants above.

    Attributes ``reward_function``, ``judge_prompt``, ``evaluator``, ``evaluator_arn``, ``evaluator_lookup``
    and ``reward_lambda_arn`` (the Lambda the training role may invoke) are None when unused; so are
    ``scorer_evaluator``, ``scorer_lookup`` and ``scorer_lambda_arn`` (the custom scorer's).
    """

    def __init__(
        self, scope: Construct, id: str, *, spec: FineTuningSpec, training_role: TrainingExecutionRole
    ):
        super().__init__(scope, id)
        self.reward_function: RewardFunction | None = None
        self.judge_prompt: JudgePrompt | None = None
        self.evaluator: IEvaluator | None = None
        self.evaluator_lookup: EvaluatorLookup | None = None
        self.reward_lambda_arn: str | None = None
        self.scorer_evaluator: IEvaluator | None = None
        self.scorer_lookup: EvaluatorLookup | None = None
        self.scorer_lambda_arn: str | None = None
        reward = spec.reward if spec.technique == "rlvr" else None
        if reward is not None:
            self._reward(spec, reward, training_role)
        scorer = spec.evaluation.custom_scorer if spec.evaluation else None
        if scorer is not None and scorer.evaluator_arn:
            self._scorer(scorer.evaluator_arn, scorer.lambda_arn, reward, training_role)
        if spec.technique == "rlaif" and spec.rlaif is not None:
            training_role.grant_judge_model(spec.rlaif.judge_model_id)
            if spec.judge_prompt_path is not None:
                self.judge_prompt = JudgePrompt(
                    self,
                    "JudgePrompt",
                    template_path=spec.judge_prompt_path,
                    evaluator_name=f"{spec.name}-judge",
                )
                self.judge_prompt.grant_read(training_role.role)
                self.evaluator = self.judge_prompt.evaluator
        if isinstance(self.evaluator, HubEvaluator):
            training_role.grant_hub_content_read(
                self.evaluator.hub_name, "JsonDoc", self.evaluator.evaluator_name
            )
        elif self.evaluator is not None:  # imported: keep its own account and region
            self.evaluator.grant_read(training_role.role)
        if self.evaluator is not None:
            acknowledge_wildcard_resources(
                training_role.role,
                [self.evaluator.versions_arn],
                "Every version of the one evaluator the job uses; a redeploy registers a new version number.",
            )
        self.evaluator_arn = self.evaluator.evaluator_arn if self.evaluator is not None else None

    def _scorer(
        self,
        arn: str,
        lambda_arn: str | None,
        reward: RewardSpec | None,
        training_role: TrainingExecutionRole,
    ) -> None:
        """An existing evaluator as custom scorer: the grants of ``reward.evaluator_arn``, unless it is that one."""
        if reward is not None and reward.evaluator_arn == arn:
            self.scorer_evaluator, self.scorer_lambda_arn = self.evaluator, self.reward_lambda_arn
            return
        self.scorer_evaluator = HubEvaluator.from_evaluator_arn(self, "ScorerEvaluator", arn)
        if lambda_arn is None:
            self.scorer_lookup = EvaluatorLookup(
                self,
                "ScorerEvaluatorLookup",
                evaluator=self.scorer_evaluator,
                lambda_arn_field="evaluation.custom_scorer.lambda_arn",
            )
            lambda_arn = self.scorer_lookup.lambda_arn
        self.scorer_lambda_arn = lambda_arn
        training_role.grant_reward_function(
            lambda_.Function.from_function_arn(self, "ScorerFunction", self.scorer_lambda_arn)
        )
        self.scorer_evaluator.grant_read(training_role.role)
        acknowledge_wildcard_resources(
            training_role.role,
            [self.scorer_evaluator.versions_arn],
            "Every version of the one existing evaluator the custom scorer evaluation calls.",
        )

    def _reward(self, spec: FineTuningSpec, reward: RewardSpec, training_role: TrainingExecutionRole) -> None:
        """RLVR: the imported evaluator and its Lambda, or a ``RewardFunction`` registered as an evaluator."""
        if reward.evaluator_arn:
            self.evaluator = HubEvaluator.from_evaluator_arn(self, "Evaluator", reward.evaluator_arn)
            lambda_arn = reward.lambda_arn
            if lambda_arn is None:
                self.evaluator_lookup = EvaluatorLookup(self, "EvaluatorLookup", evaluator=self.evaluator)
                lambda_arn = self.evaluator_lookup.lambda_arn
            self.reward_lambda_arn = lambda_arn
            training_role.grant_reward_function(
                lambda_.Function.from_function_arn(self, "EvaluatorFunction", self.reward_lambda_arn)
            )
        else:
            self.reward_function = RewardFunction(
                self,
                "SageMakerReward",
                builtin=reward.builtin,
                code=spec.reward_code_path,
                requirements=spec.reward_requirements_path,
                options=reward.options,
                score_range=reward.score_range,
                nova=spec.is_nova,
            )
            training_role.grant_reward_function(self.reward_function.function)
            self.reward_lambda_arn = self.reward_function.function_arn
            self.evaluator = HubEvaluator(
                self,
                "Evaluator",
                evaluator_name=f"{spec.name}-reward",
                reference=self.reward_function.function_arn,
            )
