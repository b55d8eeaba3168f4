"""Per-IP rate limits: a leaky bucket per client IP and kind of endpoint, LRU-bounded.

The relay only ever asks "may this request pass now?" and answers 429 otherwise; it never waits for
capacity, which is what aiolimiter is for. So a bucket here is a pair of floats, (level, when), rather
than an AsyncLimiter: a tuple of floats is untracked by the garbage collector, while an AsyncLimiter is a
handful of tracked objects. With tens of thousands of learners' IPs that was most of the heap, and every
full collection walked it: pauses of over 100 ms, measured by bench/relay.py, in the heartbeat p99.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from stream_relay.lru import Lru


class IpRateLimiter:
    def __init__(
        self, per_minute: Mapping[str, int], tracked: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._per_minute = dict(per_minute)
        self._clock = clock
        # An IP pushed out of the LRU starts again with a full bucket: it would have to come back after
        # `tracked` other clients, which bounds memory without letting anyone burst meaningfully.
        self._buckets: Lru[tuple[str, str], tuple[float, float]] = Lru(tracked)

    def allow(self, group: str, ip: str) -> bool:
        """Take one request from the bucket of (group, ip); False when it is full (answer 429).

        The bucket holds `per_minute` requests and leaks them at `per_minute` a minute: a burst of up to
        `per_minute`, then the steady rate.
        """
        capacity = self._per_minute[group]
        now = self._clock()
        key = (group, ip)
        level, since = self._buckets.get(key) or (0.0, now)
        level = max(0.0, level - (now - since) * capacity / 60)
        if level + 1 > capacity:
            self._buckets.put(key, (level, now))
            return False
        self._buckets.put(key, (level + 1, now))
        return True

    def retry_after(self, group: str) -> int:
        """Seconds after which one more request of the group is allowed again, at the steady rate."""
        return max(1, round(60 / self._per_minute[group]))
