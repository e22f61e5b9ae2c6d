"""CDK constructs of cdk-sagemaker-finetuning, one module per construct."""

from .model_package_group import IModelPackageGroup, ModelPackageGroup
from .training_execution_role import TrainingExecutionRole

__all__ = ["IModelPackageGroup", "ModelPackageGroup", "TrainingExecutionRole"]
