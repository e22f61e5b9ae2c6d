"""The process-wide boto3 clients of the Lambdas and the CLI: created once per service, region, configuration
and environment, from any number of threads."""

from __future__ import annotations

import threading

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ProfileNotFound
from botocore.stub import Stubber

from cdk_sagemaker_finetuning.runtime import aws_clients, preflight, retry, stop_orphaned_job
from tests.runtime.test_stop_orphaned_job import EVENT, _describe


@pytest.fixture
def sessions(monkeypatch):
    """Empty caches (given back empty) and the arguments of every boto3 session created (or attempted)."""
    aws_clients.clear()
    made: list[dict] = []
    real = boto3.session.Session

    def counted(*args, **kwargs):
        made.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(aws_clients.boto3.session, "Session", counted)
    yield made
    aws_clients.clear()


def test_a_client_is_created_once_and_reused(sessions):
    first = aws_clients.client("sagemaker", "us-east-1")
    assert aws_clients.client("sagemaker", "us-east-1") is first
    assert aws_clients.client("s3", "us-east-1") is not first
    assert len(sessions) == 1  # one session serves every client


def test_each_region_and_config_has_its_own_client(sessions):
    config = Config(read_timeout=7)
    east = aws_clients.client("sagemaker", "us-east-1")
    west = aws_clients.client("sagemaker", "eu-west-1")
    configured = aws_clients.client("sagemaker", "us-east-1", config)
    assert (east.meta.region_name, west.meta.region_name) == ("us-east-1", "eu-west-1")
    assert configured is not east and configured.meta.config.read_timeout == 7
    assert aws_clients.client("sagemaker", "us-east-1", config) is configured


def test_the_default_region_is_the_environments_when_created(sessions, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    frankfurt = aws_clients.client("sts")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    mumbai = aws_clients.client("sts")
    assert (frankfurt.meta.region_name, mumbai.meta.region_name) == ("eu-central-1", "ap-south-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert aws_clients.client("sts") is frankfurt


def test_changed_credentials_get_a_new_client(sessions, monkeypatch):
    before = aws_clients.client("sts", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "other")
    after = aws_clients.client("sts", "us-east-1")
    assert after is not before
    assert after._request_signer._credentials.access_key == "other"
    assert before._request_signer._credentials.access_key != "other"


def test_clear_forgets_every_client(sessions):
    first = aws_clients.client("sagemaker", "us-east-1")
    aws_clients.clear()
    assert aws_clients.client("sagemaker", "us-east-1") is not first
    assert len(sessions) == 2


def test_concurrent_first_calls_create_one_session_and_one_client(sessions):
    start = threading.Barrier(16)
    got: list[object] = []

    def ask():
        start.wait()
        got.append(aws_clients.client("sagemaker", "us-east-1"))

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 16 and all(client is got[0] for client in got)
    assert len(sessions) == 1


def test_sessions_are_shared_per_profile_and_region(sessions):
    assert aws_clients.session(None, "eu-west-1") is aws_clients.session(None, "eu-west-1")
    assert aws_clients.session(None, "eu-west-1").region_name == "eu-west-1"
    assert aws_clients.session(None, "us-west-2") is not aws_clients.session(None, "eu-west-1")
    for _ in range(2):  # an unknown profile is looked up once (per environment), and fails every time
        with pytest.raises(ProfileNotFound, match="no-such-profile"):
            aws_clients.session("no-such-profile")
    assert [kwargs["profile_name"] for kwargs in sessions] == [None, None, "no-such-profile"]


def test_preflight_takes_the_given_clients_else_the_shared_ones(sessions):
    clients = preflight.Clients(region="us-east-1")
    assert clients.sagemaker is aws_clients.client("sagemaker", "us-east-1")
    assert preflight.Clients(region="us-east-1").s3 is clients.s3
    assert clients.lambda_client() is aws_clients.client("lambda", "us-east-1")
    given = object()
    assert preflight.Clients(sagemaker=clients.sagemaker, s3=given).s3 is given
    assert len(sessions) == 1


def test_a_handler_without_a_client_calls_through_the_shared_one(sessions):
    shared = aws_clients.client("sagemaker", config=retry.CLIENT_CONFIG)
    with Stubber(shared) as stubber:
        _describe(stubber, "Completed")
        assert stop_orphaned_job.handler(EVENT)["action"] == "none"
        stubber.assert_no_pending_responses()
