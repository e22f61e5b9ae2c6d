"""CDK constructs of cdk-sagemaker-finetuning, one module per construct."""

from .bucket_event_check import BucketEventCheck
from .create_job import CreateJobWith
from .evaluator_lookup import EvaluatorLookup
from .hub_evaluator import HubEvaluator, IEvaluator
from .judge_prompt import JudgePrompt
from .model_package_group import IModelPackageGroup, ModelPackageGroup
from .notifications import TrainingNotifications
from .orphaned_job_stopper import OrphanedJobStopper
from .platform import FineTuningPlatform
from .project import FineTuningProject
from .retraining import PipelineRepository, RetrainingPipeline, RetrainingTriggers
from .reward_function import RewardFunction
from .training_execution_role import TrainingExecutionRole
from .training_workflow import PreflightFunction, TrainingWorkflow, TrainingWorkflowFragment

__all__ = [
    "BucketEventCheck",
    "CreateJobWith",
    "EvaluatorLookup",
    "FineTuningPlatform",
    "FineTuningProject",
    "HubEvaluator",
    "IEvaluator",
    "IModelPackageGroup",
    "JudgePrompt",
    "ModelPackageGroup",
    "OrphanedJobStopper",
    "PipelineRepository",
    "PreflightFunction",
    "RetrainingPipeline",
    "RetrainingTriggers",
    "RewardFunction",
    "TrainingExecutionRole",
    "TrainingNotifications",
    "TrainingWorkflow",
    "TrainingWorkflowFragment",
]
