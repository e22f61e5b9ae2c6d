"""Integration test on a real account: a minimal SFT project, deployed, started, watched, stopped, destroyed.

``make integ`` deploys this app with the pinned CDK CLI (credentials and a bootstrapped account needed; it
costs a few minutes of serverless training), then destroys it. The test case stack holds one
``FineTuningProject`` (Llama 3.2 1B Instruct, LoRA SFT) and a 64-row dataset deployed as an asset into its
data bucket. The assertion stack (``aws-cdk.integ-tests-alpha``) then, as custom resources during the deploy:

1. starts the workflow (``StartExecution``, execution name ``integ-<assertion stack UUID>``, unique per deploy);
2. waits until ``DescribeTrainingJob`` of ``integ-sft-integ-<UUID>`` says ``InProgress`` (the preflight passed
   and ``CreateTrainingJob`` was accepted: this settles whether the ``aws-sdk`` integration accepts
   ``ServerlessJobConfig``, the recipe bucket and the IAM grants);
3. checks the execution history shows the ``Preflight`` state exited (succeeded: a failed preflight fails the
   execution) and the execution is still ``RUNNING`` (the watch loop works);
4. stops the execution and waits until the job is ``Stopping`` or ``Stopped`` (the orphaned-job stopper works).

A failed or timed-out assertion fails the deploy. Stateful resources (buckets, log groups, the dead-letter
queue) are retained by design and stay after the destroy. ``-c cdk-sagemaker-finetuning:createJobWith=lambda``
runs the same check with the Lambda way of creating the job. ``tests/integ/test_integ_snapshot.py`` checks the
synthesized app against ``integ_minimal_sft.snapshot.json`` offline (part of ``make test``).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_s3_deployment as s3_deployment
from aws_cdk.integ_tests_alpha import ExpectedResult, IntegTest, Match

from cdk_sagemaker_finetuning.constructs import FineTuningProject

DATA = Path(__file__).resolve().parent / "data"
NAME = "integ-sft"
SPEC = {
    "name": NAME,
    "technique": "sft",
    "base_model": "meta-textgeneration-llama-3-2-1b-instruct",
    "accept_eula": True,  # Llama 3.2 Community License
    "data": {"create_bucket": True, "train": "train/train.jsonl"},
    "max_runtime_hours": 1,
}
JOB_TIMEOUT = cdk.Duration.minutes(30)
POLL = cdk.Duration.seconds(30)


def build(app: cdk.App) -> IntegTest:
    """The test case stack and its assertions, in ``app``."""
    # environment-agnostic like the assertion stack (it references the state machine): the account and
    # region are those of the deploying credentials
    stack = cdk.Stack(app, "IntegMinimalSft", description="cdk-sagemaker-finetuning integration test")
    project = FineTuningProject(stack, "Project", **SPEC)
    s3_deployment.BucketDeployment(
        stack,
        "Dataset",
        sources=[s3_deployment.Source.asset(str(DATA))],
        destination_bucket=project.data_bucket,
        destination_key_prefix="train/",
        prune=False,
    )
    integ = IntegTest(app, "MinimalSft", test_cases=[stack])
    assertions = integ.assertions
    # unique per deploy and known in the template: the assertion stack's UUID (arn:...:stack/<name>/<uuid>)
    execution_name = cdk.Fn.join("-", ["integ", cdk.Fn.select(2, cdk.Fn.split("/", cdk.Aws.STACK_ID))])
    job_name = cdk.Fn.join("-", [NAME, execution_name])  # request.job_name(prefix, name): nothing to clean
    start = assertions.aws_api_call(
        "StepFunctions",
        "startExecution",
        {"stateMachineArn": project.state_machine_arn, "name": execution_name, "input": "{}"},
    )
    running = assertions.aws_api_call("SageMaker", "describeTrainingJob", {"TrainingJobName": job_name})
    running.expect(ExpectedResult.object_like({"TrainingJobStatus": "InProgress"}))
    running.wait_for_assertions(total_timeout=JOB_TIMEOUT, interval=POLL)
    preflight = assertions.aws_api_call(
        "StepFunctions",
        "getExecutionHistory",
        {"executionArn": start.get_att_string("executionArn"), "maxResults": 1000},
    )
    preflight.expect(
        ExpectedResult.object_like(
            {
                "events": Match.array_with(
                    [Match.object_like({"stateExitedEventDetails": Match.object_like({"name": "Preflight"})})]
                )
            }
        )
    )
    watching = assertions.aws_api_call(
        "StepFunctions", "describeExecution", {"executionArn": start.get_att_string("executionArn")}
    )
    watching.expect(ExpectedResult.object_like({"status": "RUNNING"}))
    stop = assertions.aws_api_call(
        "StepFunctions",
        "stopExecution",
        {"executionArn": start.get_att_string("executionArn"), "cause": "integration test done"},
    )
    stopped = assertions.aws_api_call("SageMaker", "describeTrainingJob", {"TrainingJobName": job_name})
    stopped.expect(
        ExpectedResult.object_like({"TrainingJobStatus": Match.string_like_regexp("^(Stopping|Stopped)$")})
    )
    stopped.wait_for_assertions(total_timeout=JOB_TIMEOUT, interval=POLL)
    start.next(running).next(preflight).next(watching).next(stop).next(stopped)
    return integ


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
