"""AWS faults injected into the preflight with botocore's Stubber: throttling, access denied, server errors and
malformed (but model-valid) answers at every call. The contract: a request, or a named ``PreflightError``
(``errorType`` ``PreflightError.<Kind>``), never a bare exception that would crash the Lambda."""

from __future__ import annotations

import json

import pytest
from botocore.awsrequest import AWSResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_sagemaker_finetuning.runtime import errors, preflight
from tests import workflow_data as wd
from tests.runtime.test_preflight import Aws, _body

FAULTS = {
    "ThrottlingException": 400,
    "AccessDeniedException": 400,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
    "ValidationException": 400,
}
TECHNIQUES = ("SFT", "DPO", "RLVR", "RLAIF")


def queued(aws: Aws) -> list[tuple[object, int]]:
    """Every queued answer as (stubber, position); Stubber keeps its answers in order in ``_queue``."""
    return [(stub, i) for stub in aws.stubs for i in range(len(stub._queue))]


def fail(stub, position: int, code: str) -> str:
    """Turn the ``position``-th queued answer of ``stub`` into a ``code`` error; return its operation."""
    entry = stub._queue[position]
    parsed = {
        "Error": {"Code": code, "Message": "injected"},
        "ResponseMetadata": {"HTTPStatusCode": FAULTS[code]},
    }
    stub._queue[position] = {**entry, "response": (AWSResponse(None, FAULTS[code], {}, None), parsed)}
    return entry["operation_name"]


def document_key(entry: dict) -> str | None:
    """The field of a queued answer holding a document the preflight parses, if any."""
    parsed = entry["response"][1]
    return next((key for key in ("Body", "HubContentDocument") if key in parsed), None)


def garble(stub, position: int, junk: bytes) -> None:
    """Replace the document (recipe spec, data sample, hub document) of a queued answer with ``junk``."""
    entry = stub._queue[position]
    http, parsed = entry["response"]
    key = document_key(entry)
    value = _body(junk) if key == "Body" else junk.decode("utf-8", "replace")
    stub._queue[position] = {**entry, "response": (http, {**parsed, key: value})}


def outcome(aws: Aws, technique: str):
    config = wd.config(technique)
    try:
        return preflight.plan(config, {"executionName": "exec-1", "input": None}, aws.clients)
    except errors.PreflightError as exc:
        return exc


@pytest.mark.parametrize("technique", TECHNIQUES)
@pytest.mark.parametrize("code", list(FAULTS))
def test_a_fault_at_any_call_is_a_named_error(technique, code):
    probe = Aws()
    probe.happy(technique, rows=wd.jsonl(wd.ROWS[technique]))
    for index in range(len(queued(probe))):
        aws = Aws()
        aws.happy(technique, rows=wd.jsonl(wd.ROWS[technique]))
        stub, position = queued(aws)[index]
        operation = fail(stub, position, code)
        result = outcome(aws, technique)
        assert isinstance(result, errors.PreflightError), (operation, result)
        assert code in result.message or type(result) is not errors.AwsError, (operation, result.message)


junk = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=80).map(str.encode),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
        max_leaves=10,
    ).map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(technique=st.sampled_from(TECHNIQUES), pick=st.integers(0, 20), body=junk)
def test_malformed_answers_give_a_request_or_a_named_error(technique, pick, body):
    aws = Aws()
    aws.happy(technique, rows=wd.jsonl(wd.ROWS[technique]))
    documents = [(stub, i) for stub, i in queued(aws) if document_key(stub._queue[i])]
    assert len(documents) >= 3  # hub content, recipe spec, data sample
    stub, position = documents[pick % len(documents)]
    garble(stub, position, body)
    result = outcome(aws, technique)
    assert isinstance(result, (dict, errors.PreflightError)), result
