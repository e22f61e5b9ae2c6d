"""One boto3 client per service, region and configuration per process (standard library + boto3 only).

AWS recommends creating SDK clients once per execution environment, outside the handler, so that warm
invocations reuse them (https://docs.aws.amazon.com/lambda/latest/dg/best-practices.html): creating a session
and a client costs more than most of the calls a handler makes. boto3 clients are thread safe, sessions are
not (https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html#multithreading-or-multiprocessing-with-clients),
so clients are created under one lock.

A client captures the region and credentials boto3 reads from the environment when it is created. Everything
boto3 reads there starts with ``AWS_``, so those variables are part of the cache key: a changed environment
(another profile, other credentials, a mock) gets its own session and clients. :func:`clear` drops them all.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ProfileNotFound

_lock = threading.Lock()
_sessions: dict[tuple[Any, ...], boto3.session.Session] = {}
_clients: dict[tuple[Any, ...], Any] = {}
_unknown_profiles: dict[tuple[Any, ...], Any] = {}  # key -> the missing profile (maybe from AWS_PROFILE)


def _environment() -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))


def session(profile: str | None = None, region: str | None = None) -> boto3.session.Session:
    """The process's boto3 session of ``profile`` and ``region`` (default: the environment's) for the current
    ``AWS_*`` environment; raises ``ProfileNotFound`` like ``boto3.session.Session``. Create clients with
    :func:`client`: a session is not thread safe."""
    environment = _environment()
    with _lock:
        return _session(profile, region, environment)


def _session(profile: str | None, region: str | None, environment: tuple[Any, ...]) -> boto3.session.Session:
    key = (profile, region, environment)
    if key in _unknown_profiles:  # the configuration is read once per environment, as for a session
        raise ProfileNotFound(profile=_unknown_profiles[key])
    if key not in _sessions:
        try:
            _sessions[key] = boto3.session.Session(profile_name=profile, region_name=region)
        except ProfileNotFound as exc:
            _unknown_profiles[key] = exc.kwargs.get("profile")
            raise
    return _sessions[key]


def client(
    service: str, region: str | None = None, config: Config | None = None, profile: str | None = None
) -> Any:
    """The shared client of ``service`` in ``region`` (default: the environment's), made with ``config`` from
    ``profile``'s session. ``config`` is compared by identity (as :class:`botocore.config.Config` is): pass a
    module-level one."""
    environment = _environment()
    key = (service, region, config, profile, environment)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        if key not in _clients:
            made = _session(profile, None, environment).client(service, region_name=region, config=config)
            _clients[key] = made
        return _clients[key]


def clear() -> None:
    """Forget every session and client (for tests that change what a cached client has captured)."""
    with _lock:
        _sessions.clear()
        _clients.clear()
        _unknown_profiles.clear()
