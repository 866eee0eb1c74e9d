"""Client-side pacing: stay under the CRM's rolling window instead of bouncing off it.

HubSpot counts requests per portal in a rolling ten-second window (policy
`TEN_SECONDLY_ROLLING`) and answers 429 beyond it; every app in the portal draws on the same
budget, and 429s count against the portal's error-rate guideline. A client that paces itself
below the limit never sees those 429s, so the limit is enforced here, before each request
(including retries), rather than discovered from the server.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 10.0
DEFAULT_PORTAL_LIMIT = 100  # HubSpot Starter private app; Pro/Enterprise allow 190


def portal_limit_from_env() -> int:
    """The account's limit in requests per ten seconds (`HEALTHSCORE_CRM_RATE_LIMIT`)."""
    value = int(os.environ.get("HEALTHSCORE_CRM_RATE_LIMIT", DEFAULT_PORTAL_LIMIT))
    if value < 2:
        raise ValueError("HEALTHSCORE_CRM_RATE_LIMIT must be at least 2 requests per 10 s")
    return value


def client_budget(portal_limit: int) -> int:
    """How many requests we allow ourselves per window: 10 % (at least one) below the limit.

    The headroom absorbs network jitter (the server counts arrival times, we count send times,
    so a slow request followed by a fast one lands closer together than it left) and leaves a
    little room for other apps sharing the portal.
    """
    return max(1, portal_limit - max(1, math.ceil(portal_limit * 0.1)))


class RollingWindowLimiter:
    """At most `limit` acquisitions in any `window` seconds; `acquire` sleeps until allowed."""

    def __init__(
        self,
        limit: int,
        window: float = WINDOW_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for a free slot and take it; returns the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return waited
                pause = self._sent[0] + self.window - now
                self._sleep(pause)
                waited += pause


class Unlimited:
    """A limiter that never waits: for baselines and for servers without a rate limit."""

    def acquire(self) -> float:
        return 0.0


Limiter = RollingWindowLimiter | Unlimited

_shared: dict[tuple[str, int], RollingWindowLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(account_key: str, portal_limit: int) -> RollingWindowLimiter:
    """One limiter per CRM account per process.

    The sync, the property set-up and alert tasks may run in one process (a Dagster run); they
    draw on the same portal budget, so they must share one window.
    """
    key = (account_key, portal_limit)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = RollingWindowLimiter(client_budget(portal_limit))
        return _shared[key]
