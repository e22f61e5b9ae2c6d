"""Run a synthesized TrainingWorkflow on moto's ASL interpreter with a scripted SageMaker and a patched Lambda.

* SageMaker calls from the interpreter go to :class:`FakeSageMaker` (moto's SageMaker has no StopTrainingJob
  and never reports ResourceInUse); every CreateTrainingJob request is validated against botocore's model.
* Lambda invokes call a Python function in-process (moto runs no Lambda code without Docker), reporting a
  raised exception the way the Lambda runtime does (``FunctionError`` + ``errorType`` = the class name).
  The ``create_job_with="lambda"`` step's event (``{"request": ...}``) runs the real
  ``runtime/create_training_job.py`` handler, whose boto3 calls reach the scripted SageMaker.
* aws-sdk error names follow Step Functions' documented ``SageMaker.<Code>Exception`` convention (moto would
  say ``sagemaker.sagemakerException`` for unmodeled codes).
* CPU: each definition is parsed once per test run (:func:`parse_once`), not at every CreateStateMachine and
  StartExecution; likewise each JSONPath, and the interpreter's boto3 clients are made once (:func:`client_for`).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import botocore.client
import botocore.session
import jsonpath_ng
import jsonpath_ng.ext
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters
from moto.awslambda.models import LambdaBackend
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.models import botocore_stubber
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.common.payload.payloadvalue.payloadbinding.payload_binding import (
    PayloadBindingStringExpressionSimple,
)
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringJsonPath
from moto.stepfunctions.parser.asl.component.component import Component
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_aws_sdk
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import boto_client, json_path
from moto.stepfunctions.responses import get_backend

from cdk_sagemaker_finetuning.runtime import create_training_job

REGION = "us-east-1"
ACCOUNT = "123456789012"
SM_SHAPES = botocore.session.get_session().get_service_model("sagemaker")


def resolve(value: Any, functions: dict[str, str]) -> Any:
    """Resolve the Fn::Join/Ref/GetAtt of a synthesized DefinitionString."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(resolve(p, functions) for p in parts)
    if "Ref" in value:
        return {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}[value["Ref"]]
    if "Fn::GetAtt" in value:
        return functions.setdefault(
            value["Fn::GetAtt"][0], f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{value['Fn::GetAtt'][0]}"
        )
    raise ValueError(value)


#: definition -> program, parsed with patch_aws's Preprocessor fix (parse_once runs only under it)
_PARSED: dict[str, EvalComponent] = {}
_parse = AmazonStateLanguageParser.parse


def parse_once(definition: str) -> tuple[EvalComponent, None]:
    """moto's ``AmazonStateLanguageParser.parse``, once per definition: antlr parses it at CreateStateMachine and
    again at every StartExecution (~0.1 CPU-s each). Sharing the program is safe: moto keeps each execution's
    state (retry attempts, backoff, Map and Parallel workers) in the execution's Environment, keyed by the
    component's ``heap_key``, and already runs one Map iterator program on several threads at once. The antlr
    tree is not kept (moto's CreateStateMachine and StartExecution use only the program)."""
    if definition not in _PARSED:
        program = _parse(definition)[0]
        for component in _components(program):
            # created lazily: create it before concurrent executions share the component
            _ = component.heap_key
        _PARSED[definition] = program
    return _PARSED[definition], None


def _components(root: Component) -> list[EvalComponent]:
    """Every evaluation component reachable from ``root``."""
    found, seen, todo = [], set(), [root]
    while todo:
        value = todo.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, Component):
            found += [value] if isinstance(value, EvalComponent) else []
            todo.extend(vars(value).values())
        elif isinstance(value, list | tuple | set | frozenset):
            todo.extend(value)
        elif isinstance(value, dict):
            todo.extend(value.values())
    return found


@functools.cache
def _client(region: str, service: str, mocked: bool) -> botocore.client.BaseClient:
    return boto_client.boto_client_for(region=region, service=service)


def client_for(region: str, service: str, state_credentials: Any = None) -> botocore.client.BaseClient:
    """moto's ``boto_client_for``, one client per region and service: moto builds a new client for every Lambda
    invoke and aws-sdk call (~7 CPU-ms each) that differs only by those two (its keys and config are fixed, the
    state's credentials unused) and by whether moto intercepts the calls (else it points at a moto server)."""
    return _client(region, service, botocore_stubber.enabled)


# moto parses each JSONPath anew at every evaluation (jsonpath_ng builds a yacc parser per call, ~5 CPU-ms): once
# per path (a parsed jsonpath_ng expression is read-only; find and update_or_create change only the data)
_parse_json_path = functools.cache(jsonpath_ng.ext.parse)
_parse_result_path = functools.cache(jsonpath_ng.parse)


def client_error(code: str, message: str = "scripted") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "req-1"},
        },
        "op",
    )


class FakeSageMaker:
    """Scripted training jobs. ``statuses`` is the sequence DescribeTrainingJob walks through (last one sticks)."""

    def __init__(
        self,
        statuses=("InProgress", "Completed"),
        *,
        create_errors=(),
        describe_errors=(),
        failure_reason: str | None = None,
    ) -> None:
        self.statuses = list(statuses)
        self.create_errors = list(create_errors)  # ("ThrottlingException", created?) pairs
        self.describe_errors = list(describe_errors)
        self.failure_reason = failure_reason
        self.jobs: dict[str, dict] = {}
        self.calls: list[tuple[str, dict]] = []

    def __call__(self, operation: str, params: dict) -> dict:
        self.calls.append((operation, params))
        validate_parameters(params, SM_SHAPES.operation_model(operation).input_shape)
        return getattr(self, operation)(params)

    def CreateTrainingJob(self, params: dict) -> dict:
        name = params["TrainingJobName"]
        if self.create_errors:
            code, created = self.create_errors.pop(0)
            if created:
                self.jobs[name] = params
            raise client_error(code)
        if name in self.jobs:
            raise client_error("ResourceInUse", f"Training job {name} already exists")
        self.jobs[name] = params
        return {"TrainingJobArn": self.arn(name)}

    def DescribeTrainingJob(self, params: dict) -> dict:
        if self.describe_errors:
            raise client_error(self.describe_errors.pop(0))
        name = params["TrainingJobName"]
        if name not in self.jobs:
            raise client_error("ValidationException", "Requested resource not found.")
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        answer = {
            "TrainingJobName": name,
            "TrainingJobArn": self.arn(name),
            "TrainingJobStatus": status,
            "SecondaryStatus": {"Completed": "Completed", "Failed": "Failed", "Stopped": "Stopped"}.get(
                status, "Training"
            ),
        }
        if status == "Completed":
            answer.update(
                OutputModelPackageArn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/demo/1",
                BillableTokenCount=123456,
            )
        if status == "Failed" and self.failure_reason:
            answer["FailureReason"] = self.failure_reason
        return answer

    def StopTrainingJob(self, params: dict) -> dict:
        self.statuses = ["Stopped"]
        return {}

    def UpdateModelPackage(self, params: dict) -> dict:
        return {"ModelPackageArn": params["ModelPackageArn"]}

    @staticmethod
    def arn(name: str) -> str:
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name}"

    def created(self) -> list[str]:
        return [p["TrainingJobName"] for op, p in self.calls if op == "CreateTrainingJob"]

    def count(self, operation: str) -> int:
        return sum(1 for op, _ in self.calls if op == operation)


def patch_aws(monkeypatch, sagemaker: FakeSageMaker, invoke: Callable[[dict], Any]) -> list[dict]:
    """Route SageMaker calls to ``sagemaker`` and Lambda invokes to ``invoke``; return the invoke events."""
    events: list[dict] = []
    original = botocore.client.BaseClient._make_api_call

    def make_api_call(self, operation_name, api_params):
        if self.meta.service_model.service_name == "sagemaker":
            return sagemaker(operation_name, api_params)
        return original(self, operation_name, api_params)

    def lambda_invoke(self, function_name, qualifier, body, headers, response_headers):
        event = json.loads(body) if body else {}
        events.append(event)
        creates = isinstance(event, dict) and set(event) == {"request"}
        try:
            return json.dumps(create_training_job.handler(event) if creates else invoke(event)).encode()
        except Exception as exc:  # the Lambda runtime's error answer
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()

    def exception_name(norm_service_name: str, ex: Exception) -> str:
        code = ex.response["Error"]["Code"] if isinstance(ex, ClientError) else type(ex).__name__
        return f"{norm_service_name}.{code}" + ("" if code.endswith("Exception") else "Exception")

    original_binding = Preprocessor.visitPayload_binding_value

    def payload_binding_value(self, ctx):
        # moto lexes the key "RoleArn.$" as its Credentials keyword and binds the path literally;
        # Step Functions binds it as a path like any other "<key>.$".
        binding = original_binding(self, ctx)
        value = getattr(binding.payload_value, "val", None)
        if binding.field.endswith(".$") and isinstance(value, str) and value.startswith("$"):
            return PayloadBindingStringExpressionSimple(
                field=binding.field[:-2], string_expression_simple=StringJsonPath(value)
            )
        return binding

    monkeypatch.setattr(Preprocessor, "visitPayload_binding_value", payload_binding_value)
    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(parse_once))
    monkeypatch.setattr(lambda_eval_utils, "boto_client_for", client_for)
    monkeypatch.setattr(state_task_service_aws_sdk, "boto_client_for", client_for)
    monkeypatch.setattr(json_path, "parse", _parse_json_path)
    monkeypatch.setattr(result_path, "parse", _parse_result_path)
    # moto's interpreter sleeps each Retry interval in real time; the tests check the retries, not the waiting
    monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=lambda seconds: None))
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
    monkeypatch.setattr(LambdaBackend, "invoke", lambda_invoke)
    monkeypatch.setattr(LambdaSimpleBackend, "invoke", lambda_invoke)
    monkeypatch.setitem(state_task_service_aws_sdk._SERVICE_ERROR_NAMES, "sagemaker", "SageMaker")
    monkeypatch.setattr(
        state_task_service_aws_sdk.StateTaskServiceAwsSdk,
        "_normalise_exception_name",
        staticmethod(exception_name),
    )
    return events


def wait_for(
    sfn_client, execution_arn: str, timeout: float = 60.0, until: Callable[[], bool] | None = None
) -> dict:
    """DescribeExecution once the execution has left RUNNING (or once ``until()`` holds). Watches moto's
    execution object rather than polling the API (a DescribeExecution round trip costs ~5 ms of CPU)."""
    _, _, _, region, account, *_ = execution_arn.split(":")
    execution = get_backend(account, region).describe_execution(execution_arn)
    deadline = time.monotonic() + timeout
    while not (until() if until else execution.status != "RUNNING"):
        if time.monotonic() > deadline:
            raise AssertionError(f"execution still {execution.status} after {timeout} s")
        time.sleep(0.01)
    return sfn_client.describe_execution(executionArn=execution_arn)
