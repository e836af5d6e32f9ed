"""Per-client rate limits: a token bucket per caller (client, practitioner, certificate, or address when anonymous).

Buckets live in process memory: with N gateway processes behind a load balancer a client gets at most N times the
rate, which the balancer's own limits bound; losing them on restart is harmless (architecture §10: caches only).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from gateway.errors import TooManyRequests


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    def __init__(self, per_minute: int, burst: int, *, max_callers: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_callers = max_callers
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def hit(self, caller: str) -> None:
        """Take one token for ``caller``; raise 429 with ``Retry-After`` when the bucket is empty."""
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(caller)
            if bucket is None:
                if len(self._buckets) >= self.max_callers:
                    self._buckets.clear()  # a flood of distinct callers: forget them all rather than grow
                bucket = self._buckets[caller] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return
            wait = math.ceil((1 - bucket.tokens) / self.rate)
        refused = TooManyRequests(
            f"too many requests from {caller}: at most {round(self.rate * 60)} per minute (bursts of "
            f"{int(self.burst)}); retry in {wait} s",
            expression="Authorization",
        )
        refused.headers = {"Retry-After": str(wait)}
        raise refused


__all__ = ["RateLimiter"]
