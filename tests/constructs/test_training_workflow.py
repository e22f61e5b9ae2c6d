"""TrainingWorkflow: the synthesized state machine run on moto's ASL interpreter, IAM and cdk-nag."""

from __future__ import annotations

import contextvars
import json
import math
from functools import cache

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template
from moto import mock_aws
from moto.events.models import EventPattern

from cdk_sagemaker_finetuning.constructs.create_job import CreateJobWith
from cdk_sagemaker_finetuning.constructs.model_package_group import ModelPackageGroup
from cdk_sagemaker_finetuning.constructs.training_workflow import TrainingWorkflow
from cdk_sagemaker_finetuning.runtime import errors, preflight, request, stop_orphaned_job
from tests import workflow_data as wd
from tests.constructs import sfn_harness as h
from tests.constructs.helpers import actions_of, iam_statements, nag_errors, resources_of, rule_target_input

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


def build_stack(**props):
    app = cdk.App()
    stack = cdk.Stack(app, "Workflow")
    group = ModelPackageGroup(stack, "Group", model_package_group_name=wd.GROUP_NAME)
    config = props.pop("config", None) or wd.config(modelPackageGroupArn=group.model_package_group_arn)
    workflow = TrainingWorkflow(
        stack,
        "Training",
        config=config,
        training_role=iam.Role.from_role_arn(stack, "TrainingRole", wd.ROLE_ARN),
        model_package_group=group,
        **props,
    )
    return app, stack, workflow


@cache
def definition(
    poll: int = 0,
    max_runtime: int = 86400,
    margin: int = 7200,
    approval: str = "PendingManualApproval",
    create_job_with: str = "aws-sdk",
) -> tuple[str, dict]:
    """The resolved ASL of a synthesized workflow and its template (cached: synth once per variant)."""
    config = wd.config(maxRuntimeSeconds=max_runtime, approvalStatus=approval)
    _, stack, _ = build_stack(
        config=config,
        poll_interval=cdk.Duration.seconds(poll),
        retry_interval=cdk.Duration.seconds(1),
        timeout_margin=cdk.Duration.seconds(margin),
        create_job_with=create_job_with,
    )
    template = Template.from_stack(stack).to_json()
    machine = next(
        r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"
    )
    return h.resolve(machine["Properties"]["DefinitionString"], {}), template


def planned(event: dict, config: dict | None = None) -> dict:
    """What the preflight returns for ``event``, built with the real request code from fixture data."""
    config = config or wd.config()
    execution = {"name": event["executionName"], "input": event.get("input"), "sourceModelPackageArn": None}
    req = request.build_create_training_job_request(
        config,
        wd.hub_content(),
        wd.override_spec(wd.LLAMA, "SFT"),
        execution,
        account=wd.ACCOUNT,
        region=wd.REGION,
    )
    return {
        "request": req,
        "trainingJobName": req["TrainingJobName"],
        "hasHyperParameters": "HyperParameters" in req,
    }


class Lambda:
    """The deployed function's behaviour: preflight from fixtures, results from the (fake) SageMaker."""

    def __init__(self, preflight_error: Exception | None = None, config: dict | None = None) -> None:
        self.preflight_error = preflight_error
        self.config = config

    def __call__(self, event: dict):
        if event.get("action") == "result":
            clients = preflight.Clients(sagemaker=boto3.client("sagemaker", region_name=wd.REGION))
            return preflight.job_result(clients, event["trainingJobName"])
        if self.preflight_error:
            raise self.preflight_error
        return planned(event, self.config)


def run(monkeypatch, sagemaker, *, lam=None, input=None, name="run-1", poll=0, stop_after=None, **variant):
    asl, _ = definition(poll, create_job_with=CREATE_JOB_WITH.get(), **variant)
    events = h.patch_aws(monkeypatch, sagemaker, lam or Lambda())
    sfn = boto3.client("stepfunctions", region_name=wd.REGION)
    arn = sfn.create_state_machine(
        name="training", definition=asl, roleArn=f"arn:aws:iam::{wd.ACCOUNT}:role/sfn"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(input or {}))[
        "executionArn"
    ]
    if stop_after:
        h.wait_for(sfn, execution, until=lambda: sagemaker.count("DescribeTrainingJob") >= stop_after)
        sfn.stop_execution(executionArn=execution, error="Aborted", cause="operator")
    return h.wait_for(sfn, execution), events, arn


#: The CreateTrainingJob step every execution test runs with (both ways run the whole suite).
CREATE_JOB_WITH: contextvars.ContextVar[str] = contextvars.ContextVar("create_job_with", default="aws-sdk")


@pytest.fixture(params=[m.value for m in CreateJobWith])
def aws(request):
    token = CREATE_JOB_WITH.set(request.param)
    with mock_aws(config=MOTO_CONFIG):
        yield request.param
    CREATE_JOB_WITH.reset(token)


def test_success_outputs_the_model_package(aws, monkeypatch):
    sagemaker = h.FakeSageMaker(["InProgress", "InProgress", "Completed"])
    result, events, _ = run(monkeypatch, sagemaker, input={"hyperparameters": {"max_epochs": 3}})
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {
        "trainingJobName": "demo-run-1",
        "trainingJobArn": h.FakeSageMaker.arn("demo-run-1"),
        "status": "Completed",
        "outputModelPackageArn": f"arn:aws:sagemaker:us-east-1:{wd.ACCOUNT}:model-package/demo/1",
        "billableTokenCount": 123456,
        "mlflowRunId": None,
        "secondaryStatus": "Completed",
    }
    assert events[0] == {"executionName": "run-1", "input": {"hyperparameters": {"max_epochs": 3}}}
    sent = sagemaker.jobs["demo-run-1"]
    assert (
        sent == planned(events[0])["request"]
    )  # the state machine forwards the preflight's request unchanged
    assert sent["HyperParameters"]["max_epochs"] == "3"
    lambda_creates = [e for e in events if set(e) == {"request"}]  # the create_job_with="lambda" step
    assert lambda_creates == ([{"request": sent}] if aws == "lambda" else [])
    assert "AlgorithmSpecification" not in sent and "ResourceConfig" not in sent
    assert sagemaker.count("DescribeTrainingJob") >= 3
    assert [p for op, p in sagemaker.calls if op == "UpdateModelPackage"] == [
        {
            "ModelPackageArn": f"arn:aws:sagemaker:us-east-1:{wd.ACCOUNT}:model-package/demo/1",
            "ModelApprovalStatus": "PendingManualApproval",
        }
    ]


def test_configured_approval_status_is_set_on_the_new_package(aws, monkeypatch):
    sagemaker = h.FakeSageMaker(["InProgress", "Completed"])
    result, _, _ = run(monkeypatch, sagemaker, approval="Approved")
    assert result["status"] == "SUCCEEDED", result
    [update] = [p for op, p in sagemaker.calls if op == "UpdateModelPackage"]
    assert update["ModelApprovalStatus"] == "Approved"


def test_run_while_another_job_runs_is_skipped_without_a_job(aws, monkeypatch):
    error = errors.JobAlreadyRunning("training job demo-run-0 is InProgress", field="input")
    sagemaker = h.FakeSageMaker()
    result, _, _ = run(monkeypatch, sagemaker, lam=Lambda(preflight_error=error))
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["skipped"] is True and "demo-run-0 is InProgress" in output["reason"]
    assert sagemaker.calls == []


def test_request_without_hyperparameters_uses_the_other_create_state(aws, monkeypatch):
    config = wd.config(hyperparameterMode="explicit")
    sagemaker = h.FakeSageMaker(["Completed"])
    result, _, _ = run(monkeypatch, sagemaker, lam=Lambda(config=config))
    assert result["status"] == "SUCCEEDED"
    assert "HyperParameters" not in sagemaker.jobs["demo-run-1"]


def test_failed_job_fails_execution_with_reason(aws, monkeypatch):
    reason = "ClientError: Invalid input error: Number of samples 5 out of bounds between 32 and inf"
    sagemaker = h.FakeSageMaker(["InProgress", "Failed"], failure_reason=reason)
    result, _, _ = run(monkeypatch, sagemaker)
    assert (result["status"], result["error"], result["cause"]) == ("FAILED", "TrainingJobFailed", reason)
    assert sagemaker.count("StopTrainingJob") == 0


def test_stopped_job_is_a_failure(aws, monkeypatch):
    sagemaker = h.FakeSageMaker(["InProgress", "Stopped"])
    result, _, _ = run(monkeypatch, sagemaker)
    assert (result["status"], result["error"]) == ("FAILED", "TrainingJobStopped")
    assert result["cause"] == "the training job is Stopped"


def test_throttled_create_is_retried(aws, monkeypatch):
    sagemaker = h.FakeSageMaker(["Completed"], create_errors=[("ThrottlingException", False)])
    result, _, _ = run(monkeypatch, sagemaker)
    assert result["status"] == "SUCCEEDED"
    assert sagemaker.created() == ["demo-run-1", "demo-run-1"]
    assert list(sagemaker.jobs) == ["demo-run-1"]


class TwoAtOnce(h.FakeSageMaker):
    """demo-ok: throttled 5 times (all of the create's 5 retries), then InProgress until demo-bad has failed;
    demo-bad: throttled 6 times (one more than the retries); demo-later, started afterwards: Failed."""

    THROTTLED = {"demo-ok": 5, "demo-bad": 6, "demo-later": 0}

    def CreateTrainingJob(self, params: dict) -> dict:
        name = params["TrainingJobName"]
        if self.created().count(name) <= self.THROTTLED[name]:
            raise h.client_error("ThrottlingException")
        return super().CreateTrainingJob(params)

    def DescribeTrainingJob(self, params: dict) -> dict:
        bad_done = self.created().count("demo-bad") == self.THROTTLED["demo-bad"]
        status = {"demo-ok": "Completed" if bad_done else "InProgress", "demo-later": "Failed"}
        self.statuses = [status[params["TrainingJobName"]]]
        return super().DescribeTrainingJob(params)


def test_executions_of_one_parsed_program_keep_their_own_state(aws, monkeypatch):
    # the harness parses a definition once (sfn_harness.parse_once): executions share the program, running at
    # the same time or one after the other, each with its own retry count and outcome
    parses, parse = [], h._parse
    monkeypatch.setattr(h, "_PARSED", {})
    monkeypatch.setattr(h, "_parse", lambda definition: parses.append(definition) or parse(definition))
    sagemaker = TwoAtOnce()
    asl, _ = definition(create_job_with=CREATE_JOB_WITH.get())
    h.patch_aws(monkeypatch, sagemaker, Lambda())
    sfn = boto3.client("stepfunctions", region_name=wd.REGION)
    arn = sfn.create_state_machine(
        name="training", definition=asl, roleArn=f"arn:aws:iam::{wd.ACCOUNT}:role/sfn"
    )["stateMachineArn"]
    ok, bad = (sfn.start_execution(stateMachineArn=arn, name=n)["executionArn"] for n in ("ok", "bad"))
    bad_result, ok_result = h.wait_for(sfn, bad), h.wait_for(sfn, ok)
    assert (bad_result["status"], bad_result["error"]) == ("FAILED", "SageMaker.ThrottlingException")
    assert ok_result["status"] == "SUCCEEDED", ok_result
    assert json.loads(ok_result["output"])["trainingJobName"] == "demo-ok"
    later = h.wait_for(sfn, sfn.start_execution(stateMachineArn=arn, name="later")["executionArn"])
    assert (later["status"], later["error"]) == ("FAILED", "TrainingJobFailed")
    assert [sagemaker.created().count(n) for n in ("demo-ok", "demo-bad", "demo-later")] == [6, 6, 1]
    assert parses == [asl]  # CreateStateMachine and the three StartExecutions: one parse


def test_resource_in_use_after_retry_continues_with_the_existing_job(aws, monkeypatch):
    # the first create starts the job but its answer is lost; the retry hits ResourceInUse
    sagemaker = h.FakeSageMaker(["InProgress", "Completed"], create_errors=[("ServiceUnavailable", True)])
    result, _, _ = run(monkeypatch, sagemaker)
    assert result["status"] == "SUCCEEDED", result
    assert sagemaker.created() == ["demo-run-1", "demo-run-1"]
    assert json.loads(result["output"])["status"] == "Completed"


def test_preflight_rejection_creates_no_job(aws, monkeypatch):
    error = errors.EulaNotAccepted(
        "meta-textgeneration-llama-3-2-1b-instruct is a gated model", field="accept_eula"
    )
    sagemaker = h.FakeSageMaker()
    result, _, _ = run(monkeypatch, sagemaker, lam=Lambda(preflight_error=error))
    assert (result["status"], result["error"]) == ("FAILED", "PreflightError.EulaNotAccepted")
    assert "gated model" in result["cause"]
    assert sagemaker.calls == []


def test_broken_watch_stops_the_job_and_keeps_the_error(aws, monkeypatch):
    sagemaker = h.FakeSageMaker(["InProgress"], describe_errors=["AccessDenied"])
    result, _, _ = run(monkeypatch, sagemaker)
    assert (result["status"], result["error"]) == ("FAILED", "SageMaker.AccessDeniedException")
    assert sagemaker.count("StopTrainingJob") == 1


def test_aborted_execution_job_is_stopped_by_the_rule_lambda(aws, monkeypatch):
    sagemaker = h.FakeSageMaker(["InProgress"])
    result, _, machine_arn = run(monkeypatch, sagemaker, poll=1, stop_after=1, max_runtime=600, margin=60)
    assert result["status"] == "ABORTED"
    assert sagemaker.count("StopTrainingJob") == 0  # an aborted execution runs no Catch
    event = _status_change_event(result, machine_arn)
    assert _rule_matches(event, machine_arn)
    assert not _rule_matches({**event, "detail": {**event["detail"], "status": "SUCCEEDED"}}, machine_arn)
    delivered = _delivered(event, machine_arn)
    outcome = stop_orphaned_job.handler(delivered, None, boto3.client("sagemaker", region_name=wd.REGION))
    assert outcome == {"trainingJobName": "demo-run-1", "action": "stopped", "status": "InProgress"}
    assert sagemaker.count("StopTrainingJob") == 1


def test_timed_out_execution_matches_the_rule(aws, monkeypatch):
    sagemaker = h.FakeSageMaker(["InProgress"])
    result, _, machine_arn = run(monkeypatch, sagemaker, poll=1, max_runtime=1, margin=1)
    assert result["status"] == "TIMED_OUT"
    assert _rule_matches(_status_change_event(result, machine_arn), machine_arn)
    event = _delivered(_status_change_event(result, machine_arn), machine_arn)
    assert stop_orphaned_job.handler(event, None, boto3.client("sagemaker"))["action"] == "stopped"


def _status_change_event(result: dict, machine_arn: str) -> dict:
    return {
        "version": "0",
        "id": "e1",
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "account": wd.ACCOUNT,
        "time": "2026-11-22T00:00:00Z",
        "region": wd.REGION,
        "resources": [result["executionArn"]],
        "detail": {
            "executionArn": result["executionArn"],
            "stateMachineArn": machine_arn,
            "name": "run-1",
            "status": result["status"],
        },
    }


def _delivered(event: dict, machine_arn: str) -> dict:
    """The stopper's input for ``event``, as the synthesized rule target renders it."""
    _, template = definition(0)
    rule = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Events::Rule")
    [machine] = [
        k for k, r in template["Resources"].items() if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    return rule_target_input(rule, event, {machine: machine_arn})


def _rule_matches(event: dict, machine_arn: str) -> bool:
    _, template = definition(0)
    rule = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Events::Rule")
    pattern = rule["Properties"]["EventPattern"]
    pattern["detail"]["stateMachineArn"] = [machine_arn]
    return EventPattern.load(json.dumps(pattern)).matches_event(event)  # EventBridge's matcher as moto has it


# -- template, IAM, cdk-nag --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthesized():
    app, stack, workflow = build_stack()
    return Template.from_stack(stack), workflow


def test_state_machine_settings(synthesized):
    template, _ = synthesized
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL", "IncludeExecutionData": True}),
        },
    )
    asl = json.loads(definition()[0])
    assert asl["TimeoutSeconds"] == 86400 + 7200
    create = asl["States"]["CreateTrainingJob"]
    assert create["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:createTrainingJob"
    assert "AlgorithmSpecification.$" not in create["Parameters"]
    assert create["Catch"][0]["ErrorEquals"] == ["SageMaker.ResourceInUseException"]
    assert "SageMaker.ThrottlingException" in create["Retry"][0]["ErrorEquals"]
    watch = asl["States"]["Watch"]
    assert (
        watch["Catch"][0]["ErrorEquals"] == ["States.ALL"] and watch["Catch"][0]["Next"] == "StopTrainingJob"
    )
    wait = watch["Branches"][0]["States"]["Wait"]
    assert wait["Seconds"] == 0


def test_default_poll_interval_is_60_seconds():
    _, stack, _ = build_stack()
    machine = Template.from_stack(stack).find_resources("AWS::StepFunctions::StateMachine")
    text = json.dumps(machine)
    assert '\\"Seconds\\":60' in text


def test_state_machine_role_is_least_privilege(synthesized):
    template, workflow = synthesized
    role_logical = cdk.Stack.of(workflow).resolve(workflow.state_machine.role.node.default_child.logical_id)
    policies = [
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_logical} in p["Properties"]["Roles"]
    ]
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    by_action = {a: s for s in statements for a in actions_of(s)}
    job = json.dumps(resources_of(by_action["sagemaker:createTrainingJob"]))
    assert "training-job/demo*" in job
    for action in ("sagemaker:AddTags", "sagemaker:describeTrainingJob", "sagemaker:stopTrainingJob"):
        assert "training-job/demo*" in json.dumps(resources_of(by_action[action])), action
    pass_role = by_action["iam:PassRole"]
    assert pass_role["Resource"] == wd.ROLE_ARN
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    trust = template.find_resources("AWS::IAM::Role")[role_logical]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"] == {
        "Ref": "AWS::AccountId"
    }


def test_only_unscopable_actions_use_star(synthesized):
    template, _ = synthesized
    allowed = {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
        "sagemaker:ListModelPackages",
        "sagemaker:ListTrainingJobs",
    }
    for statement in iam_statements(template):
        if "*" in resources_of(statement):
            assert set(actions_of(statement)) <= allowed, statement


def test_preflight_and_stopper_roles(synthesized):
    template, workflow = synthesized
    text = json.dumps(iam_statements(template))
    assert ":s3:::jumpstart-cache-prod-" in text
    assert '":s3:::demo-data/train.jsonl*"' in text and '":s3:::demo-data"' in text
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": "runtime.stop_orphaned_job.handler", "Environment": Match.absent()},
    )
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": Match.object_like(
                {
                    "source": ["aws.states"],
                    "detail": Match.object_like({"status": ["ABORTED", "TIMED_OUT", "FAILED"]}),
                }
            )
        },
    )
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "runtime.preflight.handler"}}
    )
    env = next(iter(functions.values()))["Properties"]["Environment"]["Variables"]["WORKFLOW_CONFIG"]
    assert "jobNamePrefix" in json.dumps(env)


def test_cdk_nag_clean_with_reasons():
    app, _, workflow = build_stack()
    assert nag_errors(app) == []


def test_long_runs_poll_slower_to_fit_the_execution_history():
    week = 7 * 24 * 3600
    _, stack, _ = build_stack(config=wd.config(maxRuntimeSeconds=week))
    text = json.dumps(Template.from_stack(stack).find_resources("AWS::StepFunctions::StateMachine"))
    seconds = math.ceil((week + 7200) / 2766)
    assert f'\\"Seconds\\":{seconds},' in text and seconds > 60
    with pytest.raises(ValueError, match="25,000 history events"):
        build_stack(config=wd.config(maxRuntimeSeconds=week), poll_interval=cdk.Duration.seconds(60))


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"jobNamePrefix": "bad_prefix"}, "jobNamePrefix"),
        ({"jobNamePrefix": None}, "config lacks jobNamePrefix"),
        ({"tags": {f"k{i}": "v" * 200 for i in range(30)}}, "4 KB"),
    ],
)
def test_bad_config_is_rejected_at_synth(changes, words):
    with pytest.raises(ValueError, match=words):
        build_stack(config=wd.config(**changes))
