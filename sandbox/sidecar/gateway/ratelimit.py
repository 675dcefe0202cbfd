"""Per-(category, tenant) token buckets (contract §3 "Rate limits")."""
from __future__ import annotations

import math
import threading
import time
from typing import Mapping


class Bucket:
    __slots__ = ("rps", "burst", "tokens", "stamp")

    def __init__(self, rps: float, burst: float) -> None:
        self.rps, self.burst = rps, burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> int | None:
        """None when a token was spent; else the Retry-After seconds (integer ≥ 1)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rps)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        if self.rps <= 0:
            return max(1, int(self.burst))
        return max(1, math.ceil((1 - self.tokens) / self.rps))


class RateLimiter:
    def __init__(self, env: Mapping[str, str]) -> None:
        num = lambda k, d: float(env.get(k) or d)  # noqa: E731
        self.limits = {"read": (num("RATE_LIMIT_READ_RPS", 50), num("RATE_LIMIT_READ_BURST", 200)),
                       "write": (num("RATE_LIMIT_WRITE_RPS", 5), num("RATE_LIMIT_WRITE_BURST", 20))}
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._lock = threading.Lock()

    def take(self, category: str, tenant: str) -> int | None:
        with self._lock:
            bucket = self._buckets.get((category, tenant))
            if bucket is None:
                bucket = self._buckets[(category, tenant)] = Bucket(*self.limits[category])
            return bucket.take()
