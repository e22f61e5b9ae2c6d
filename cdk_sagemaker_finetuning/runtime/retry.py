"""Bounded retries of throttled or transient AWS calls (standard library + boto3 only).

What counts as retryable is botocore's own "standard" retry mode classification (throttling codes, transient
codes, connection errors) plus HTTP 429/5xx answers. Clients made with :data:`CLIENT_CONFIG` do not retry by
themselves, so :func:`call` is the whole retry policy: at most ``attempts`` calls, full-jitter exponential
backoff capped at ``max_delay`` seconds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
from botocore.retries import standard

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5, read_timeout=20)
ATTEMPTS = 5
BASE_DELAY = 0.5
MAX_DELAY = 8.0
RETRYABLE_STATUS = (429, 500, 502, 503, 504)
_CHECKER = standard.OrRetryChecker(
    [standard.ThrottledRetryableChecker(), standard.TransientRetryableChecker()]
)
_sleep = time.sleep  # tests replace it


def is_retryable(exc: BaseException) -> bool:
    """Throttling, a transient service error or a dropped connection: worth another attempt."""
    if isinstance(exc, ClientError):
        response = exc.response if isinstance(exc.response, dict) else {}
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        context = standard.RetryContext(attempt_number=1, parsed_response=response)
        return status in RETRYABLE_STATUS or _CHECKER.is_retryable(context)
    return isinstance(exc, (ConnectionError, HTTPClientError))


def call(
    operation: Callable[..., Any],
    *,
    attempts: int = ATTEMPTS,
    base_delay: float = BASE_DELAY,
    max_delay: float = MAX_DELAY,
    **params: Any,
) -> Any:
    """``operation(**params)``, retried while :func:`is_retryable`; the last error is raised."""
    attempt = 1
    while True:
        try:
            return operation(**params)
        except Exception as exc:
            if attempt >= attempts or not is_retryable(exc):
                raise
            _sleep(random.uniform(0, min(max_delay, base_delay * 2 ** (attempt - 1))))
            attempt += 1
