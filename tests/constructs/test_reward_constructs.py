"""RewardFunction, HubEvaluator, JudgePrompt and their wiring into FineTuningStack: templates, grants, cdk-nag."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from cdk_sagemaker_finetuning.constructs import ModelPackageGroup, TrainingExecutionRole
from cdk_sagemaker_finetuning.constructs.errors import ConstructValidationError
from cdk_sagemaker_finetuning.constructs.hub_evaluator import HubEvaluator, IEvaluator
from cdk_sagemaker_finetuning.constructs.judge_prompt import JudgePrompt
from cdk_sagemaker_finetuning.constructs.reward_function import RewardFunction, reward_code_directory
from cdk_sagemaker_finetuning.runtime.hub_evaluator import ai_registry_hub_name
from cdk_sagemaker_finetuning.spec import FineTuningSpec
from cdk_sagemaker_finetuning.stack import FineTuningStack
from tests.cfn_lint import lint_errors
from tests.constructs.helpers import acknowledgments, flat, iam_statements, nag_errors, statements_with

MODEL = "meta-textgeneration-llama-3-2-1b-instruct"
JUDGE = "qwen.qwen3-32b-v1:0"
PROMPT = "Rate the answer.\nQuestion: {{ prompt }}\nAnswer: {{ response }}\nReply as JSON {\"score\": 0.0-1.0}\n"


@pytest.fixture
def app() -> cdk.App:
    return cdk.App()


@pytest.fixture
def stack(app) -> cdk.Stack:
    return cdk.Stack(app, "Stack")


def training_role(stack: cdk.Stack) -> TrainingExecutionRole:
    group = ModelPackageGroup(stack, "Group", model_package_group_name="demo")
    return TrainingExecutionRole(stack, "SageMakerRole", model_package_group=group, base_model=MODEL,
                                 output_uri="s3://out-bucket/runs/")


def prompt_file(tmp_path: Path, text: str = PROMPT) -> Path:
    path = tmp_path / "judge.jinja"
    path.write_text(text)
    return path


# -- RewardFunction --------------------------------------------------------------------------------------


def test_reward_function_defaults(stack):
    RewardFunction(stack, "Reward", builtin="numeric_answer", options={"require_marker": True})
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Lambda::Function", {
        "FunctionName": Match.string_like_regexp("^SageMaker-reward-"),
        "Handler": "lambda_function.lambda_handler",
        "Runtime": "python3.14",
        "Timeout": 60,
        "MemorySize": 512,
        "Environment": {"Variables": {"REWARD_BUILTIN": "numeric_answer", "REWARD_OPTIONS": '{"require_marker":true}',
                                      "REWARD_SCORE_RANGE": "[-1.0, 1.0]", "REWARD_ENVELOPE": "open-weight"}},
        "ReservedConcurrentExecutions": Match.absent(),
    })
    template.has_resource("AWS::Logs::LogGroup", {"Properties": {"RetentionInDays": 30},
                                                  "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})


def test_reward_function_role_only_writes_its_own_logs(stack):
    RewardFunction(stack, "Reward", builtin="exact_match")
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::IAM::Role", {"AssumeRolePolicyDocument": {"Statement": [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]},
        "ManagedPolicyArns": Match.absent()})
    [statement] = iam_statements(template)
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == {"Fn::GetAtt": [next(iter(template.find_resources("AWS::Logs::LogGroup"))),
                                                    "Arn"]}


def test_reward_function_options(stack, tmp_path):
    code = tmp_path / "mine.py"
    code.write_text("def reward(sample):\n    return 0.0\n")
    RewardFunction(stack, "Reward", code=code, nova=True, score_range=(0, 1), error_score=0.5,
                   function_name="team-SageMaker-reward", reserved_concurrency=5, memory_size=256,
                   timeout=cdk.Duration.seconds(30), log_retention=cdk.aws_logs.RetentionDays.ONE_WEEK)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Lambda::Function", {
        "FunctionName": "team-SageMaker-reward", "ReservedConcurrentExecutions": 5, "MemorySize": 256,
        "Timeout": 30,
        "Environment": {"Variables": {"REWARD_MODULE": "user_reward", "REWARD_ENVELOPE": "nova",
                                      "REWARD_SCORE_RANGE": "[0.0, 1.0]", "REWARD_ERROR_SCORE": "0.5"}},
    })
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 7})


def test_code_directory_holds_runtime_entry_point_and_user_module(tmp_path):
    code = tmp_path / "mine.py"
    code.write_text("def reward(sample):\n    return 1.0\n")
    directory = reward_code_directory(code)
    names = sorted(str(p.relative_to(directory)) for p in directory.rglob("*.py"))
    assert names == ["lambda_function.py", "reward_runtime/__init__.py", "reward_runtime/builtins.py",
                     "reward_runtime/handler.py", "reward_runtime/sample.py", "user_reward.py"]
    assert reward_code_directory(code) == directory  # same contents, same directory (stable asset hash)
    assert reward_code_directory() != directory


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of builtin and code"),
        ({"builtin": "numeric_answer", "code": "x.py"}, "exactly one of builtin and code"),
        ({"builtin": "gsm8k"}, "builtin 'gsm8k' is not a built-in reward; built-ins: numeric_answer"),
        ({"builtin": "regex_match"}, "options.pattern: is required"),
        ({"builtin": "exact_match", "options": {"extract": "x"}}, "options.extract: 'x' must be one of"),
        ({"code": "missing.py"}, "code 'missing.py' must be an existing .py file"),
        ({"builtin": "exact_match", "score_range": (1, 0)}, "score_range [1, 0] must be finite"),
        ({"builtin": "exact_match", "function_name": "my-reward"}, "must contain 'SageMaker'"),
        ({"builtin": "exact_match", "function_name": "SageMaker-" + "x" * 60}, "must contain 'SageMaker'"),
        ({"builtin": "exact_match", "memory_size": 64}, "memory_size 64 must be 128-10240 MB"),
    ],
)
def test_reward_function_rejects_bad_props(stack, kwargs, message):
    with pytest.raises(ConstructValidationError, match="Stack/Reward: .*" + message.replace("(", r"\(").replace(
            "[", r"\[").replace(")", r"\)").replace("]", r"\]").replace(".", r"\.")):
        RewardFunction(stack, "Reward", **kwargs)


def test_invoke_grant_goes_to_the_training_role_only(stack):
    role = training_role(stack)
    function = RewardFunction(stack, "Reward", builtin="numeric_answer")
    grant = role.grant_reward_function(function.function)
    assert isinstance(grant, iam.Grant) and grant.success
    template = Template.from_stack(stack)
    invokes = statements_with(template, "lambda:InvokeFunction")
    assert len(invokes) == 1
    arn = {"Fn::GetAtt": [stack.get_logical_id(function.function.node.default_child), "Arn"]}
    assert invokes[0]["Resource"] == [arn, {"Fn::Join": ["", [arn, ":*"]]}]
    [policy] = [p for p in template.find_resources("AWS::IAM::Policy").values()
                if "lambda:InvokeFunction" in flat(p)]
    assert policy["Properties"]["Roles"] == [{"Ref": stack.get_logical_id(role.role.node.default_child)}]
    template.resource_count_is("AWS::Lambda::Permission", 0)


def test_grant_invoke_returns_a_grant(stack):
    function = RewardFunction(stack, "Reward", builtin="numeric_answer")
    grantee = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    assert isinstance(function.grant_invoke(grantee), iam.Grant)


# -- HubEvaluator ----------------------------------------------------------------------------------------


def test_hub_evaluator_custom_resource_properties(stack):
    function = RewardFunction(stack, "Reward", builtin="numeric_answer")
    evaluator = HubEvaluator(stack, "Evaluator", evaluator_name="demo-reward", reference=function.function_arn)
    template = Template.from_stack(stack)
    template.has_resource("Custom::SageMakerHubEvaluator", {"Properties": {
        "EvaluatorName": "demo-reward", "EvaluatorType": "RewardFunction",
        "Reference": {"Fn::GetAtt": [stack.get_logical_id(function.function.node.default_child), "Arn"]},
        "RetainOnDelete": "true", "HubName": Match.absent(), "DomainId": Match.absent(),
    }, "DeletionPolicy": "Delete"})
    assert stack.resolve(evaluator.evaluator_arn) == {"Ref": stack.get_logical_id(evaluator.resource.node.default_child)}


def test_one_provider_per_stack_serves_every_evaluator(stack):
    HubEvaluator(stack, "A", evaluator_name="a", reference="arn:aws:lambda:us-east-1:123456789012:function:SageMaker-a")
    HubEvaluator(stack, "B", evaluator_name="b", reference="s3://bucket/b.jinja", evaluator_type="RewardPrompt",
                 hub_name="team-hub", removal_policy=RemovalPolicy.DESTROY, domain_id="d-123")
    template = Template.from_stack(stack)
    handlers = template.find_resources("AWS::Lambda::Function", {"Properties": {"Runtime": "python3.14"}})
    assert sorted(r["Properties"]["Handler"] for r in handlers.values()) == ["runtime.hub_evaluator.is_complete",
                                                                              "runtime.hub_evaluator.on_event"]
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    template.has_resource_properties("Custom::SageMakerHubEvaluator", {
        "EvaluatorName": "b", "HubName": "team-hub", "RetainOnDelete": "false", "DomainId": "d-123",
        "EvaluatorType": "RewardPrompt"})


def test_provider_role_is_scoped_to_each_evaluator(stack):
    HubEvaluator(stack, "A", evaluator_name="a", reference="arn:aws:lambda:us-east-1:123456789012:function:SageMaker-a")
    HubEvaluator(stack, "B", evaluator_name="b", reference="s3://bucket/b.jinja", evaluator_type="RewardPrompt",
                 hub_name="team-hub")
    template = Template.from_stack(stack)
    create_hub = statements_with(template, "sagemaker:CreateHub")
    assert len(create_hub) == 1 and ":hub/*" in flat(create_hub[0]["Resource"])
    deletes = flat([s["Resource"] for s in statements_with(template, "sagemaker:DeleteHubContent")])
    assert ":hub-content/*/JsonDoc/a/*" in deletes and ":hub-content/team-hub/JsonDoc/b/*" in deletes
    assert ":hub-content/*/JsonDoc/*" not in deletes


def test_concrete_environment_scopes_to_the_ai_registry_hub(app):
    stack = cdk.Stack(app, "Env", env=cdk.Environment(account="123456789012", region="us-west-2"))
    HubEvaluator(stack, "A", evaluator_name="a", reference="arn:aws:lambda:us-west-2:123456789012:function:SageMaker-a")
    hub = ai_registry_hub_name("us-west-2", "123456789012")
    assert hub == "9IVHFNP5DC9J8QGIQ193ESR91NUC4JAR4I5AJ4H7K80LM5BEHKM0"
    resources = flat([s["Resource"] for s in iam_statements(Template.from_stack(stack))])
    assert f":hub-content/{hub}/JsonDoc/a/*" in resources and ":hub/*" not in resources


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"evaluator_name": "My_Reward"}, "evaluator_name 'My_Reward' is invalid"),
        ({"evaluator_name": "Upper"}, "lower-case"),
        ({"evaluator_name": "ok", "hub_name": "bad.hub"}, "hub_name 'bad.hub' is invalid"),
        ({"evaluator_name": "ok", "evaluator_type": "Judge"}, "evaluator_type 'Judge' must be one of"),
        ({"evaluator_name": "ok", "removal_policy": RemovalPolicy.SNAPSHOT}, "RETAIN or DESTROY"),
    ],
)
def test_hub_evaluator_rejects_bad_props(stack, kwargs, message):
    with pytest.raises(ConstructValidationError, match=message):
        HubEvaluator(stack, "E", reference="s3://b/k.jinja", **kwargs)


def test_from_evaluator_arn(stack):
    arn = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/team-hub/JsonDoc/my-reward/3.0.0"
    evaluator = HubEvaluator.from_evaluator_arn(stack, "Imported", arn)
    assert (evaluator.evaluator_arn, evaluator.hub_name, evaluator.evaluator_name) == (arn, "team-hub", "my-reward")
    grantee = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    evaluator.grant_read(grantee)
    [statement] = statements_with(Template.from_stack(stack), "sagemaker:DescribeHubContent")
    assert ":hub-content/team-hub/JsonDoc/my-reward/*" in flat(statement["Resource"])
    with pytest.raises(ConstructValidationError, match="is not a versioned evaluator ARN"):
        HubEvaluator.from_evaluator_arn(stack, "Bad", arn.rsplit("/", 1)[0])


CENTRAL_EVALUATOR = "arn:aws:sagemaker:eu-west-1:210987654321:hub-content/central/JsonDoc/scorer/3.1.0"


def test_from_evaluator_arn_of_another_account_and_region_grants_that_environment():
    app = cdk.App()
    stack = cdk.Stack(app, "Training", env=cdk.Environment(account="123456789012", region="us-east-1"))
    evaluator = HubEvaluator.from_evaluator_arn(stack, "Central", CENTRAL_EVALUATOR)
    assert isinstance(evaluator, IEvaluator)
    assert (evaluator.env.account, evaluator.env.region) == ("210987654321", "eu-west-1")
    grant = evaluator.grant_read(iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal()))
    assert isinstance(grant, iam.Grant)
    [statement] = statements_with(Template.from_stack(stack), "sagemaker:DescribeHubContent")
    assert statement["Resource"] == [
        "arn:aws:sagemaker:eu-west-1:210987654321:hub/central",
        "arn:aws:sagemaker:eu-west-1:210987654321:hub-content/central/JsonDoc/scorer/*",
    ]


# -- JudgePrompt -----------------------------------------------------------------------------------------


def test_judge_prompt_registers_the_asset_as_a_reward_prompt(stack, tmp_path):
    prompt = JudgePrompt(stack, "Judge", template_path=prompt_file(tmp_path), evaluator_name="demo-judge")
    prompt.grant_read(iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal()))
    template = Template.from_stack(stack)
    [resource] = template.find_resources("Custom::SageMakerHubEvaluator").values()
    assert resource["Properties"]["EvaluatorType"] == "RewardPrompt"
    reference = resource["Properties"]["Reference"]["Fn::Sub"]
    assert reference.startswith("s3://cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}/")
    assert reference.endswith(".jinja")
    [statement] = statements_with(template, "s3:GetObject")
    assert statement["Action"] == "s3:GetObject" and ".jinja" in flat(statement["Resource"])
    assert "*" not in flat(statement["Resource"])


def test_judge_prompt_checks_the_template(stack, tmp_path):
    with pytest.raises(ConstructValidationError, match="never uses {{ response }}"):
        JudgePrompt(stack, "A", template_path=prompt_file(tmp_path, "Rate {{ prompt }}"), evaluator_name="a")
    with pytest.raises(ConstructValidationError, match="must be an existing .jinja file"):
        JudgePrompt(stack, "B", template_path=tmp_path / "none.jinja", evaluator_name="b")
    assert JudgePrompt.is_builtin("Builtin.Summarize") and not JudgePrompt.is_builtin("judge.jinja")


# -- FineTuningStack wiring ------------------------------------------------------------------------------


def spec(tmp_path: Path, **changes) -> FineTuningSpec:
    data = {"name": "demo", "technique": "rlvr", "base_model": MODEL, "accept_eula": True,
            "data": {"train": "s3://demo-data/train.jsonl"}, **changes}
    return FineTuningSpec.from_dict(data, base_dir=tmp_path)


def test_rlvr_builtin_stack_is_wired_and_nag_clean(app, tmp_path):
    stack = FineTuningStack(app, "Rlvr", spec=spec(tmp_path, reward={"builtin": "numeric_answer"}))
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Lambda::Function", {"FunctionName": Match.string_like_regexp("SageMaker")})
    template.has_resource_properties("Custom::SageMakerHubEvaluator", {"EvaluatorName": "demo-reward"})
    assert template.find_outputs("EvaluatorArn")
    reward_id = stack.get_logical_id(stack.rewards.reward_function.function.node.default_child)
    role_id = stack.get_logical_id(stack.training_role.role.node.default_child)
    grants = {statement["Action"]: policy["Properties"]["Roles"]
              for policy in template.find_resources("AWS::IAM::Policy").values()
              for statement in policy["Properties"]["PolicyDocument"]["Statement"]
              if f'["{reward_id}", "Arn"]' in flat(statement)}
    preflight_id = stack.get_logical_id(stack.workflow.preflight_function.role.node.default_child)
    assert grants == {"lambda:InvokeFunction": [{"Ref": role_id}], "lambda:GetFunction": [{"Ref": preflight_id}]}
    reads = flat([s["Resource"] for s in statements_with(template, "sagemaker:DescribeHubContent")])
    assert '"HubName"]}, "/JsonDoc/demo-reward/*"' in reads
    assert lint_errors([Path(app.outdir) / "Rlvr.template.json"]) == {}


def test_rlvr_user_code_and_nova_envelope(app, tmp_path):
    (tmp_path / "my_reward.py").write_text("def reward(sample):\n    return 1.0\n")
    nova = spec(tmp_path, base_model="amazon.nova-lite-v1", accept_eula=False, reward={"code": "my_reward.py"})
    Template.from_stack(FineTuningStack(app, "Nova", spec=nova)).has_resource_properties(
        "AWS::Lambda::Function", {"Environment": {"Variables": {"REWARD_MODULE": "user_reward",
                                                                "REWARD_ENVELOPE": "nova"}}})


def test_rlvr_existing_evaluator_creates_nothing_but_outputs_it(app, tmp_path):
    arn = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/team-hub/JsonDoc/mine/2.0.0"
    template = Template.from_stack(FineTuningStack(app, "Existing", spec=spec(tmp_path, reward={"evaluator_arn": arn})))
    template.resource_count_is("Custom::SageMakerHubEvaluator", 0)
    template.resource_count_is("Custom::SageMakerEvaluatorLookup", 1)
    # the training workflow's preflight and stopper, the evaluator lookup and its Provider framework
    template.resource_count_is("AWS::Lambda::Function", 4)
    assert template.find_outputs("EvaluatorArn")["EvaluatorArn"]["Value"] == arn
    reads = [s["Resource"] for s in statements_with(template, "sagemaker:DescribeHubContent")]
    expected = [
        "arn:aws:sagemaker:us-east-1:123456789012:hub/team-hub",
        "arn:aws:sagemaker:us-east-1:123456789012:hub-content/team-hub/JsonDoc/mine/*",
    ]
    assert expected in reads  # DescribeHubContent is authorized on the hub and the hub content


def test_rlaif_custom_prompt_grants_exactly_the_judge_model(app, tmp_path):
    prompt_file(tmp_path)
    rlaif = spec(tmp_path, technique="rlaif", rlaif={"judge_model_id": JUDGE, "prompt": "judge.jinja"})
    stack = FineTuningStack(app, "Rlaif", spec=rlaif)
    template = Template.from_stack(stack)
    [bedrock] = statements_with(template, "bedrock:InvokeModel")
    assert flat(bedrock["Resource"]).endswith(f'"::foundation-model/{JUDGE}"]]}}')
    template.has_resource_properties("Custom::SageMakerHubEvaluator", {"EvaluatorName": "demo-judge",
                                                                        "EvaluatorType": "RewardPrompt"})
    template.resource_count_is("Custom::SageMakerHubEvaluator", 1)
    assert template.find_outputs("EvaluatorArn")


@pytest.mark.parametrize("changes", [
    {"reward": {"builtin": "numeric_answer"}},
    {"reward": {"code": "my_reward.py"}},
    {"technique": "rlaif", "rlaif": {"judge_model_id": JUDGE, "prompt": "judge.jinja"}},
    {"reward": {"evaluator_arn": "arn:aws:sagemaker:us-west-2:210987654321:hub-content/h/JsonDoc/r/2.0.0"}},
], ids=["rlvr-builtin", "rlvr-code", "rlaif-custom", "rlvr-existing"])
def test_reward_stacks_are_cdk_nag_clean_with_reasons(tmp_path, changes):
    (tmp_path / "my_reward.py").write_text("def reward(sample):\n    return 1.0\n")
    prompt_file(tmp_path)
    app = cdk.App()  # nothing may be synthesized before the checks are added
    stack = FineTuningStack(app, "Nag", spec=spec(tmp_path, **changes))
    assert nag_errors(app) == []
    found = acknowledgments(stack.training_role)
    assert found
    for entry in found:
        assert all(len(reason) >= 20 for reason in entry.values())


def test_standalone_constructs_are_cdk_nag_clean(tmp_path):
    app = cdk.App()
    stack = cdk.Stack(app, "Standalone")
    function = RewardFunction(stack, "Reward", builtin="numeric_answer")
    HubEvaluator(stack, "Evaluator", evaluator_name="a", reference=function.function_arn, hub_name="team-hub")
    JudgePrompt(stack, "Judge", template_path=prompt_file(tmp_path), evaluator_name="b")
    assert nag_errors(app) == []


def test_rlaif_builtin_prompt_needs_no_evaluator(app, tmp_path):
    rlaif = spec(tmp_path, technique="rlaif", rlaif={"judge_model_id": JUDGE, "prompt": "Builtin.Summarize"})
    template = Template.from_stack(FineTuningStack(app, "Builtin", spec=rlaif))
    template.resource_count_is("Custom::SageMakerHubEvaluator", 0)
    assert not template.find_outputs("EvaluatorArn")
    assert statements_with(template, "bedrock:InvokeModel")


def test_sft_stack_has_no_reward_resources(app, tmp_path):
    template = Template.from_stack(FineTuningStack(app, "Sft", spec=spec(tmp_path, technique="sft")))
    template.resource_count_is("AWS::Lambda::Function", 2)  # the training workflow's preflight and stopper
    assert not template.find_outputs("EvaluatorArn")


# -- user code is proven at synth --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        ("def reward(sample)\n    return 1\n", r"mine\.py:1:19: SyntaxError: expected ':'"),
        ("import numpy\n", r"mine\.py:1: imports 'numpy', which the Lambda cannot import: it has only the Python "
                           r"standard library, boto3 and the reward runtime"),
        ("def reward(a, b):\n    return 1\n", r"mine\.py:1: reward\(a, b\) cannot be called with one sample"),
        ("REWARD = 1\n", r"mine\.py: defines no reward\(sample\) function"),
    ],
)
def test_reward_function_rejects_a_module_the_lambda_cannot_load(stack, tmp_path, contents, message):
    code = tmp_path / "mine.py"
    code.write_text(contents)
    with pytest.raises(ConstructValidationError, match=f"^Stack/Reward: code {tmp_path}/" + message):
        RewardFunction(stack, "Reward", code=code)


def test_spec_rewards_recheck_a_module_edited_after_the_spec_was_loaded(app, tmp_path):
    (tmp_path / "my_reward.py").write_text("def reward(sample):\n    return 1.0\n")
    loaded = spec(tmp_path, reward={"code": "my_reward.py"})
    (tmp_path / "my_reward.py").write_text("import numpy\n\ndef reward(sample):\n    return 1.0\n")
    with pytest.raises(ConstructValidationError, match=r"SageMakerReward: code .*my_reward\.py:1: imports 'numpy'"):
        FineTuningStack(app, "Rlvr", spec=loaded)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ response }}\n{% if ground_truth %}\n{{ ground_truth }}\n", r"judge\.jinja:3: Jinja syntax error: "
                                                                       r"Unexpected end of template"),
        ("{{ response }} {{ score_hint }}\n", r"judge\.jinja:1: uses {{ score_hint }}, which the service does not"),
        ("{{ response }}" + "x" * 70_000, r"judge\.jinja: is 70,014 bytes; a judge prompt may have at most 65,536"),
    ],
)
def test_judge_prompt_rejects_broken_templates_at_synth(stack, tmp_path, text, message):
    with pytest.raises(ConstructValidationError, match=r"^Stack/Judge: .*" + message):
        JudgePrompt(stack, "Judge", template_path=prompt_file(tmp_path, text), evaluator_name="judge")
    path = tmp_path / "latin.jinja"
    path.write_bytes(b"{{ response }}\nR\xe9ponse\n")
    with pytest.raises(ConstructValidationError, match=r"latin\.jinja:2: byte 16 \(0xe9\) is not UTF-8"):
        JudgePrompt(stack, "Latin", template_path=path, evaluator_name="latin")


@pytest.mark.parametrize(
    ("files", "changes", "message"),
    [
        ({"r.py": "import numpy\n"}, {"reward": {"code": "r.py"}}, "  - reward.code: r.py:1: imports 'numpy'"),
        ({"j.jinja": "{{ prompt }}"}, {"technique": "rlaif", "rlaif": {"judge_model_id": JUDGE, "prompt": "j.jinja"}},
         "  - rlaif.prompt: j.jinja: never uses {{ response }}"),
    ],
)
def test_cdk_app_synth_rejects_broken_user_files_without_a_traceback(tmp_path, files, changes, message):
    import json
    import os
    import subprocess
    import sys

    import yaml

    from tests.conftest import REPO

    for name, text in files.items():
        (tmp_path / name).write_text(text)
    data = {"name": "demo", "technique": "rlvr", "base_model": MODEL, "accept_eula": True,
            "data": {"train": "s3://demo-data/train.jsonl"}, **changes}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(data))
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"cdk-sagemaker-finetuning:specs": [str(tmp_path / "spec.yaml")]}),
           "CDK_OUTDIR": str(tmp_path / "cdk.out")}
    result = subprocess.run([sys.executable, str(REPO / "app.py")], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["invalid fine-tuning spec (1 problem):", result.stderr.splitlines()[1]]
    assert result.stderr.splitlines()[1].startswith(message)


def test_from_evaluator_arn_of_a_token_says_the_arn_must_be_text(stack):
    arn = cdk.CfnParameter(stack, "EvaluatorArn").value_as_string
    with pytest.raises(ConstructValidationError, match=r"^Stack: from_evaluator_arn needs the ARN as text"):
        HubEvaluator.from_evaluator_arn(stack, "FromParameter", arn)
