"""One retry policy for both CRMs, applied above the client libraries.

Retrying here rather than in urllib3 keeps three things true: every attempt passes through the
rate limiter and is counted; a 429 is honoured with its Retry-After (or a back-off when the CRM
sends none, as HubSpot often does); and a write that is not idempotent is never resent after an
unknown outcome. The transport itself retries only connection failures, where nothing reached
the server (`TRANSPORT_RETRY`).
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, TypeVar

from urllib3.util.retry import Retry

from healthscore.crm.errors import (
    AuthenticationFailed,
    LimitExhausted,
    RequestRejected,
    RetriesExhausted,
    UnknownOutcome,
)
from healthscore.crm.rate_limit import WINDOW_SECONDS, Limiter

log = logging.getLogger(__name__)
T = TypeVar("T")

# Connection failures only: the request never left, so even a create is safe to repeat.
# Read errors re-raise at once (read=False) and status codes are never retried here, because
# urllib3 would retry POST only with allowed_methods=None (blindly, creates included), would
# hide the attempts from the rate limiter, and raises MaxRetryError instead of returning the
# response when status retries run out (unless raise_on_status=False).
TRANSPORT_RETRY = Retry(
    total=None,
    connect=2,
    read=False,
    redirect=0,
    status=0,
    other=0,
    status_forcelist=(),
    backoff_factor=0.5,
    respect_retry_after_header=False,
    raise_on_status=False,
)

Kind = Literal["rate_limited", "transient", "rejected", "auth", "limit"]


class Failure(NamedTuple):
    """A library exception, classified: what happened and whether waiting can help."""

    kind: Kind
    status: int
    message: str
    category: str = ""
    retry_after: float | None = None
    per_record: bool = False  # a rejection caused by some record's values (see RequestRejected)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # tries per request for 5xx and transport errors
    max_rate_limited: int = 10  # 429 answers tolerated for one request
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    rate_limit_backoff: float = 2.0  # first wait after a 429 without Retry-After
    max_retry_after: float = 120.0  # a longer Retry-After means: stop, come back next run
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def backoff(self, attempt: int) -> float:
        """Exponential back-off with equal jitter, so parallel clients do not retry in step."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def rate_limit_wait(self, answered_429: int) -> float:
        """Wait after a 429 that named no Retry-After: double up to one rolling window."""
        return min(WINDOW_SECONDS, self.rate_limit_backoff * 2 ** (answered_429 - 1))


@dataclass
class CallStats:
    """What a client did, for run metadata: every HTTP attempt counts as a call."""

    calls: int = 0
    rate_limited: int = 0
    retries: int = 0
    waited_s: float = 0.0


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def call_with_retries(
    send: Callable[[], T],
    *,
    classify: Callable[[Exception], Failure | None],
    limiter: Limiter,
    policy: RetryPolicy,
    stats: CallStats,
    idempotent: bool,
    what: str,
) -> T:
    """Send one request, pacing and retrying it according to `policy`.

    `classify` maps a library exception to a `Failure` (None: not a CRM failure, re-raised).
    Non-idempotent sends are retried only after a 429, which means the CRM did not process the
    request; any other unknown outcome raises `UnknownOutcome`.
    """
    answered_429 = 0
    transient = 0
    while True:
        limiter.acquire()
        stats.calls += 1
        try:
            return send()
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            wait = _next_wait(failure, exc, policy, idempotent, what, answered_429, transient)
        if failure.kind == "rate_limited":
            answered_429 += 1
            stats.rate_limited += 1
        else:
            transient += 1
        stats.retries += 1
        stats.waited_s += wait
        log.warning("%s: %s (%s); retrying in %.2fs", what, failure.message, failure.status, wait)
        policy.sleep(wait)


def _next_wait(
    failure: Failure,
    exc: Exception,
    policy: RetryPolicy,
    idempotent: bool,
    what: str,
    answered_429: int,
    transient: int,
) -> float:
    """Raise if this failure ends the request; else return the back-off before the next try."""
    detail = f"{what}: {failure.message}"
    if failure.kind == "auth":
        raise AuthenticationFailed(detail, status=failure.status, category=failure.category)
    if failure.kind == "rejected":
        raise RequestRejected(
            detail, status=failure.status, category=failure.category, per_record=failure.per_record
        )
    if failure.kind == "limit":
        raise LimitExhausted(detail) from exc
    if failure.retry_after is not None and failure.retry_after > policy.max_retry_after:
        raise LimitExhausted(f"{detail}; Retry-After {failure.retry_after:.0f}s is too long")
    if failure.kind == "rate_limited":
        if answered_429 + 1 >= policy.max_rate_limited:
            raise RetriesExhausted(f"{detail}; still rate limited after {answered_429 + 1} tries")
        if failure.retry_after is not None:
            return failure.retry_after
        return policy.rate_limit_wait(answered_429 + 1)
    if not idempotent:
        raise UnknownOutcome(f"{detail}; the write may have been applied") from exc
    if transient + 1 >= policy.max_attempts:
        raise RetriesExhausted(f"{detail}; gave up after {transient + 1} tries") from exc
    return failure.retry_after if failure.retry_after is not None else policy.backoff(transient + 1)
