"""Object keys through the new-data trigger as EventBridge may deliver them (as stored, or URL-encoded).

Whether EventBridge URL-encodes S3 object keys is unconfirmed, so the preflight uses the key as delivered and,
when no such object exists, its ``unquote_plus`` form. Each case runs the synthesized rule's input transformer
and the synthesized state machine on moto's ASL interpreter with the real preflight (tests/test_retraining_flow).
"""

from __future__ import annotations

from urllib.parse import quote_plus

import boto3
import pytest

from tests import test_retraining_flow as flow
from tests import workflow_data as wd
from tests.test_retraining_flow import RegistrySageMaker, World, deliver, object_created

aws = flow.aws  # fixtures: moto, and the synthesized project (rules, state machine, preflight config)
synthesized = flow.synthesized

CASES = [
    # (stored key, delivered key)
    ("incoming/my file.jsonl", "incoming/my file.jsonl"),
    ("incoming/my file.jsonl", "incoming/my+file.jsonl"),
    ("incoming/my file.jsonl", "incoming/my%20file.jsonl"),
    ("incoming/a+b.jsonl", "incoming/a+b.jsonl"),
    ("incoming/a+b.jsonl", "incoming/a%2Bb.jsonl"),
    ("incoming/données-日本.jsonl", "incoming/données-日本.jsonl"),
    ("incoming/données-日本.jsonl", "incoming/" + quote_plus("données-日本.jsonl")),
    ("incoming/100%.jsonl", "incoming/100%.jsonl"),
    ("incoming/100%.jsonl", "incoming/100%25.jsonl"),
    ("incoming/a%20b.jsonl", "incoming/a%20b.jsonl"),  # a literal %20 in the name is kept
]
IDS = [
    "space-raw", "space-plus", "space-percent20", "plus-raw", "plus-encoded", "unicode-raw", "unicode-encoded",
    "percent-raw", "percent-encoded", "literal-percent20",
]


@pytest.mark.parametrize(("stored", "delivered"), CASES, ids=IDS)
def test_trigger_trains_on_the_stored_object(aws, monkeypatch, synthesized, stored, delivered):
    world = World(monkeypatch, synthesized, RegistrySageMaker(["InProgress", "Completed"]))
    boto3.client("s3", region_name=wd.REGION).put_object(Bucket="demo-data", Key=stored, Body=wd.jsonl(wd.SFT_ROW))
    execution_input = deliver(synthesized["new_data"], object_created("demo-data", delivered))
    assert execution_input["trainUri"] == f"s3://demo-data/{delivered}"
    result = world.finish(world.start(execution_input, "new-key"))
    assert result["status"] == "SUCCEEDED", result
    [request] = world.created().values()
    assert request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://demo-data/{stored}"


def test_a_key_that_exists_in_neither_form_is_not_found(aws, monkeypatch, synthesized):
    world = World(monkeypatch, synthesized, RegistrySageMaker(["InProgress", "Completed"]))
    execution_input = deliver(synthesized["new_data"], object_created("demo-data", "incoming/gone+file.jsonl"))
    result = world.finish(world.start(execution_input, "gone"))
    assert (result["status"], result["error"]) == ("FAILED", "PreflightError.DatasetNotFound")
    assert "s3://demo-data/incoming/gone+file.jsonl" in result["cause"]
    assert world.created() == {}
