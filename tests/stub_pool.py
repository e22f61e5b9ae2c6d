"""Stubber-wrapped boto3 clients lent from a pool and given back, for tests that need thousands of them.

Building a client costs ~10-20 ms and the fuzz tests stub one or more per hypothesis example. A lent client has
a fresh, active Stubber and no other borrower until :func:`give_back` deactivates that Stubber; a stubbed call
never reaches botocore's send or retry logic, so a client carries nothing from one borrower to the next.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.stub import Stubber

from tests import workflow_data as wd

_Key = tuple[str, str, Config | None]
_FREE: dict[_Key, list[Any]] = {}
_KEY_OF: dict[int, _Key] = {}  # id(client) -> its pool (pooled clients live as long as the process)


def lend(service: str, region: str = wd.REGION, config: Config | None = None) -> Stubber:
    """The active Stubber of a ``service`` client in ``region`` made with ``config`` (its ``.client``)."""
    key = (service, region, config)
    free = _FREE.setdefault(key, [])
    client = free.pop() if free else boto3.client(service, region_name=region, config=config)
    _KEY_OF[id(client)] = key
    stubber = Stubber(client)
    stubber.activate()
    return stubber


def give_back(*stubbers: Stubber) -> None:
    """Deactivate the Stubbers and return their clients to the pool."""
    for stubber in stubbers:
        stubber.deactivate()
        _FREE[_KEY_OF[id(stubber.client)]].append(stubber.client)


@contextlib.contextmanager
def lent(*services: str, region: str = wd.REGION, config: Config | None = None) -> Iterator[list[Stubber]]:
    """``with lent("s3", "sts") as (s3, sts):`` active Stubbers of pooled clients, given back on exit."""
    stubbers = [lend(service, region, config) for service in services]
    try:
        yield stubbers
    finally:
        give_back(*stubbers)


class Stubs(dict[str, Stubber]):
    """Stubbers of pooled clients by service, each lent the first time ``stubs(service)`` asks for it."""

    def __init__(self, region: str, config: Config | None) -> None:
        super().__init__()
        self.region, self.config = region, config

    def __call__(self, service: str) -> Stubber:
        if service not in self:
            self[service] = lend(service, self.region, self.config)
        return self[service]


@contextlib.contextmanager
def lent_on_demand(region: str = wd.REGION, config: Config | None = None) -> Iterator[Stubs]:
    """``with lent_on_demand() as stubs:`` Stubbers lent as asked for; on a clean exit none may have a queued
    answer left; given back on any exit."""
    stubs = Stubs(region, config)
    try:
        yield stubs
        for stubber in stubs.values():
            stubber.assert_no_pending_responses()
    finally:
        give_back(*stubs.values())
