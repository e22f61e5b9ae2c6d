"""TrainingWorkflowFragment composed into a user's state machine: the workflow's very states, with their IAM."""

from __future__ import annotations

import json

import pytest
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from cdk_sagemaker_finetuning.constructs.create_job import CreateJobWith
from cdk_sagemaker_finetuning.constructs.training_workflow import TrainingWorkflowFragment
from tests.constructs import sfn_harness as h
from tests.constructs.helpers import actions_of
from tests.constructs.test_training_workflow import build_stack


@pytest.mark.parametrize("mode", list(CreateJobWith))
def test_composed_fragment_runs_the_workflow_states_with_their_permissions(mode):
    app, stack, workflow = build_stack(create_job_with=mode)
    before = sfn.Pass(stack, "Before")
    fragment = TrainingWorkflowFragment(
        stack,
        "Composed",
        config=workflow._fragment_props["config"],
        preflight_function=workflow.preflight_function,
        training_role=workflow._fragment_props["training_role"],
        model_package_group=workflow._fragment_props["model_package_group"],
        create_job_with=mode,
        create_function=workflow.create_function,
    )
    machine = sfn.StateMachine(
        stack, "Mine", definition_body=sfn.DefinitionBody.from_chainable(before.next(fragment))
    )
    template = Template.from_stack(stack).to_json()
    resources = template["Resources"]
    logical = stack.get_logical_id(machine.node.default_child)
    mine = json.loads(h.resolve(resources[logical]["Properties"]["DefinitionString"], {}))
    [ours] = [
        json.loads(h.resolve(r["Properties"]["DefinitionString"], {}))
        for key, r in resources.items()
        if r["Type"] == "AWS::StepFunctions::StateMachine" and key != logical
    ]
    state = mine["States"]["TrainingWorkflow"]
    assert mine["States"]["Before"]["Next"] == "TrainingWorkflow" and state["End"] is True
    assert state["Type"] == "Parallel" and state["OutputPath"] == "$[0]"  # the branch's output, not a list
    [branch] = state["Branches"]
    expected = {k: v for k, v in ours["States"].items() if k != "Succeeded"}
    for name in ("Done", "Skipped"):  # ours goes on to Succeeded; the fragment's branch ends there
        expected[name] = {**{k: v for k, v in expected[name].items() if k != "Next"}, "End": True}
    assert branch == {"StartAt": "Preflight", "States": expected}
    role = stack.get_logical_id(machine.role.node.default_child)
    granted = {
        action
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        for action in actions_of(s)
    }
    ours_granted = {
        action
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy"
        and {"Ref": stack.get_logical_id(workflow.state_machine.role.node.default_child)}
        in r["Properties"]["Roles"]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        for action in actions_of(s)
        if not action.startswith(("logs:", "xray:"))  # the workflow's state machine logs and traces
    }
    assert granted == ours_granted
    assert ("sagemaker:createTrainingJob" in granted) is (mode is CreateJobWith.AWS_SDK)
