"""Per-IP rate limits: a leaky bucket (aiolimiter) per client IP and kind of endpoint, LRU-bounded."""

from __future__ import annotations

from collections.abc import Mapping

from aiolimiter import AsyncLimiter

from stream_relay.lru import Lru


class IpRateLimiter:
    def __init__(self, per_minute: Mapping[str, int], tracked: int) -> None:
        self._per_minute = dict(per_minute)
        # An IP pushed out of the LRU starts again with a full bucket: it would have to come back after
        # `tracked` other clients, which bounds memory without letting anyone burst meaningfully.
        self._buckets: Lru[tuple[str, str], AsyncLimiter] = Lru(tracked)

    async def allow(self, group: str, ip: str) -> bool:
        """Take one request from the bucket of (group, ip); False when it is empty (answer 429)."""
        key = (group, ip)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = AsyncLimiter(self._per_minute[group], 60)
            self._buckets.put(key, bucket)
        if not bucket.has_capacity():
            return False
        await bucket.acquire()  # returns at once: capacity was just checked, in the same loop step
        return True

    def retry_after(self, group: str) -> int:
        """Seconds after which one more request of the group is allowed again, at the steady rate."""
        return max(1, round(60 / self._per_minute[group]))
