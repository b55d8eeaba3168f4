"""The Redis store: the event log, counters, learners, classes, scores, coupons and the outbox.

`memory://` runs the very same code on fakeredis, an in-process Redis, so the demo needs nothing installed.
"""

from adapters.redis.connection import open_redis
from adapters.redis.keys import Keys
from adapters.redis.store import RedisStore

__all__ = ["Keys", "RedisStore", "open_redis"]
