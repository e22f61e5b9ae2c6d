"""The training workflow's configuration: a JSON-serializable dict made from a spec plus deploy-time values.

Its type is :class:`~cdk_sagemaker_finetuning.runtime.workflow_contract.WorkflowConfig` (shared with the Lambda
code); ``TrainingWorkflow`` checks it at synth (an unknown or missing key fails there, naming the key).

The stack bakes it into the preflight Lambda (environment variable ``WORKFLOW_CONFIG``); ``cdk-finetune plan``
and the notebook helper build the same dict and pass it to
``cdk_sagemaker_finetuning.runtime.request.build_create_training_job_request``. Values may be CDK tokens
(role and group ARNs, bucket URIs); the construct serializes them with ``Stack.to_json_string``.

Keys (camelCase, read by ``runtime/request.py`` and ``runtime/preflight.py``):

=========================== ================================================================================
``version``                 ``1``
``projectName``             spec ``name``
``jobNamePrefix``           training job name prefix (<= 26 characters), ``training-job/<prefix>*`` in IAM
``technique``               ``SFT`` | ``DPO`` | ``RLVR`` | ``RLAIF``
``trainingType``            ``LORA`` | ``FULL``
``hubName``                 hub holding the base model (``SageMakerPublicHub``)
``baseModel``               hub content name (Nova aliases translated)
``baseModelVersion``        pinned hub content version, or ``None`` for the latest at run time
``acceptEula``              spec ``accept_eula``
``roleArn``                 training execution role ARN
``modelPackageGroupName``   model package group name; ``modelPackageGroupArn`` its ARN
``trainUri``                S3 URI or dataset ARN of the training data; ``validationUri`` likewise or ``None``
``outputUri``               ``S3OutputPath``; ``kmsKeyId`` its KMS key or ``None``
``hyperparameters``         the spec's hyperparameter values (typed as in the spec)
``hyperparameterMode``      ``defaults`` (send every non-null recipe default, as the SDK does) or ``explicit``
``sequenceLength``          e.g. ``"8K"`` or ``None``
``maxRuntimeSeconds``       ``StoppingCondition.MaxRuntimeInSeconds``
``mlflow``                  ``{"resourceArn", "experimentName", "runName"}`` or ``None``
``tags``                    user tags ``{key: value}``
``evaluatorArn``            RLVR reward evaluator ARN or ``None``
``rewardLambdaArn``         RLVR: the reward Lambda the training role may invoke (checked by the preflight)
``judgeModelId``            RLAIF Bedrock judge id or ``None``
``judgePrompt``             RLAIF ``Builtin.*`` prompt name or ``None``
``judgePromptEvaluatorArn`` RLAIF custom prompt's evaluator ARN or ``None``
``checkData``               check that data exists and its first records match the technique's format
``approvedOnly``            continuous customization from ``"latest"`` uses only Approved packages
``allowConcurrentRuns``     allow a run while another job of the project is in progress (default false)
``approvalStatus``          approval status set on the registered model package (spec ``approval_status``)
``registerDataset``         lineage (spec ``data.register_dataset``; absent when off): ``{"name": <dataset name>,
                            "hubName": <hub, or None for the account's AI Registry hub>}``
=========================== ================================================================================
"""

from __future__ import annotations

from .runtime.workflow_contract import CONFIG_VERSION, MlflowSettings, WorkflowConfig
from .spec import FineTuningSpec, SpecError

MAX_PREFIX = 26


def job_name_prefix(spec: FineTuningSpec) -> str:
    """The training job name prefix: the project name cut to 26 characters (room for the execution name)."""
    return spec.name[:MAX_PREFIX].rstrip("-")


def runtime_config(
    spec: FineTuningSpec,
    *,
    role_arn: str,
    model_package_group_arn: str,
    output_uri: str,
    train_uri: str | None = None,
    validation_uri: str | None = None,
    evaluator_arn: str | None = None,
    judge_prompt_evaluator_arn: str | None = None,
    reward_lambda_arn: str | None = None,
    hyperparameter_mode: str = "defaults",
    check_data: bool = True,
    approved_only: bool = False,
    allow_concurrent_runs: bool = False,
    dataset_hub_name: str | None = None,
) -> WorkflowConfig:
    """The configuration for one spec; resolved values (ARNs, URIs) come from the stack or the user.

    Defaults: ``train_uri``/``validation_uri`` the spec's data (required with ``data.create_bucket``: the spec
    holds keys), ``evaluator_arn``/``reward_lambda_arn`` the spec's ``reward``, ``dataset_hub_name`` (lineage)
    the account's AI Registry hub, named by the preflight at run time as the SDK names it. A missing deploy-time
    value raises :class:`~cdk_sagemaker_finetuning.spec.SpecError` naming the spec field it is for."""
    _check_deploy_values(spec, hyperparameter_mode, train_uri, judge_prompt_evaluator_arn)
    config: WorkflowConfig = {
        "version": CONFIG_VERSION,
        "projectName": spec.name,
        "jobNamePrefix": job_name_prefix(spec),
        "technique": spec.technique.upper(),
        "trainingType": spec.training_type.upper(),
        "hubName": spec.hub,
        "baseModel": spec.hub_content_name,
        "baseModelVersion": spec.base_model_version,
        "acceptEula": spec.accept_eula,
        "roleArn": role_arn,
        "modelPackageGroupName": spec.model_package_group_name,
        "modelPackageGroupArn": model_package_group_arn,
        "trainUri": train_uri if train_uri is not None else spec.data.train,
        "validationUri": validation_uri if validation_uri is not None else spec.data.validation,
        "outputUri": output_uri,
        "kmsKeyId": spec.output.kms_key_arn,
        "hyperparameters": dict(spec.hyperparameters),
        "hyperparameterMode": hyperparameter_mode,
        "sequenceLength": spec.sequence_length,
        "maxRuntimeSeconds": int(spec.max_runtime_hours * 3600),
        "mlflow": _mlflow_settings(spec),
        "tags": dict(spec.tags),
        "evaluatorArn": evaluator_arn or (spec.reward.evaluator_arn if spec.reward else None),
        "rewardLambdaArn": reward_lambda_arn or (spec.reward.lambda_arn if spec.reward else None),
        "judgeModelId": spec.rlaif.judge_model_id if spec.rlaif else None,
        "judgePrompt": _builtin_prompt(spec),
        "judgePromptEvaluatorArn": judge_prompt_evaluator_arn,
        "checkData": check_data,
        "approvedOnly": approved_only,
        "allowConcurrentRuns": allow_concurrent_runs,
        "approvalStatus": spec.approval_status,
    }
    if spec.dataset_name:  # the key only with lineage on: other specs' configurations (templates) unchanged
        config["registerDataset"] = {"name": spec.dataset_name, "hubName": dataset_hub_name}
    return config


def _check_deploy_values(
    spec: FineTuningSpec,
    hyperparameter_mode: str,
    train_uri: str | None,
    judge_prompt_evaluator_arn: str | None,
) -> None:
    """``hyperparameter_mode`` is known and the deploy-time values the spec needs are given."""
    if hyperparameter_mode not in ("defaults", "explicit"):
        raise SpecError(
            [("hyperparameter_mode", f"{hyperparameter_mode!r} must be 'defaults' or 'explicit'")]
        )
    if spec.data.create_bucket and train_uri is None:
        raise SpecError(
            [("data.train", "train_uri is required when data.create_bucket is true (the spec holds a key)")]
        )
    if spec.rlaif and not _builtin_prompt(spec) and not judge_prompt_evaluator_arn:
        raise SpecError(
            [
                (
                    "rlaif.prompt",
                    "judge_prompt_evaluator_arn is required for a custom RLAIF prompt (rlaif.prompt)",
                )
            ]
        )


def _builtin_prompt(spec: FineTuningSpec) -> str | None:
    """The RLAIF ``Builtin.*`` judge prompt, else None (no RLAIF, or a custom prompt)."""
    rlaif = spec.rlaif
    return rlaif.prompt if rlaif and rlaif.prompt.startswith("Builtin.") else None


def _mlflow_settings(spec: FineTuningSpec) -> MlflowSettings | None:
    """``mlflow``: where the job logs (the experiment defaults to the model package group), or None."""
    mlflow = spec.mlflow
    if not mlflow.resource_arn:
        return None
    return {
        "resourceArn": mlflow.resource_arn,
        "experimentName": mlflow.experiment_name or spec.model_package_group_name,
        "runName": mlflow.run_name,
    }
