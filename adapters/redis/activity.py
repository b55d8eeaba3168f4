"""Reading the counters intake keeps: who did what in a class and in a course."""

from __future__ import annotations

import redis.asyncio as aioredis

from adapters.redis.decoded import str_set
from adapters.redis.keys import Keys
from adapters.redis.scripts import lua
from bot.domain import ClassSession, InteractionKind, LearnerActivity

_COUNTED = [k for k in InteractionKind if k is not InteractionKind.WATCH_HEARTBEAT]
_CHUNK = 5000


class RedisActivity:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys
        self._merge = client.register_script(lua("merge_course"))

    async def course_learners(self, course_id: str) -> list[str]:
        return sorted(str_set(await self._client.smembers(self._keys.course_learners(course_id))))

    async def enroll(self, course_id: str, learner_id: str) -> None:
        await self._client.sadd(self._keys.course_learners(course_id), learner_id)

    async def merge(self, course_id: str, keep: str, absorb: str, class_ids: list[str]) -> bool:
        """Fold `absorb`'s counters and memberships in this course into `keep`'s; False if absorb had none."""
        merged = await self._merge(
            keys=[self._keys.course_learners(course_id)],
            args=[self._keys.course(course_id), keep, absorb, *class_ids],
        )
        return bool(merged)

    async def buyers(self, course_id: str) -> set[str]:
        return str_set(await self._client.smembers(self._keys.buyers(course_id)))

    async def bought(self, course_id: str, learner_id: str) -> bool:
        return bool(await self._client.sismember(self._keys.buyers(course_id), learner_id))

    async def mark_buyer(self, course_id: str, learner_id: str) -> None:
        await self._client.sadd(self._keys.buyers(course_id), learner_id)

    async def class_attendees(self, course_id: str, class_id: str) -> set[str]:
        return str_set(await self._client.smembers(self._keys.class_learners(course_id, class_id)))

    async def last_platforms(self, course_id: str, learner_ids: list[str]) -> dict[str, str]:
        async with self._client.pipeline(transaction=False) as pipe:
            for learner_id in learner_ids:
                pipe.hget(self._keys.learner_totals(course_id, learner_id), "last_platform")
            rows = await pipe.execute()
        return {lid: row for lid, row in zip(learner_ids, rows, strict=True) if row}

    async def for_class(
        self, session: ClassSession, class_minutes: float | None = None
    ) -> list[LearnerActivity]:
        """Every learner of the course with their counters in this class (zeros for a no-show)."""
        course_id = session.course_id
        minutes = class_minutes if class_minutes is not None else session.minutes
        learners = await self.course_learners(course_id)
        buyers = await self.buyers(course_id)
        out: list[LearnerActivity] = []
        for start in range(0, len(learners), _CHUNK):
            chunk = learners[start : start + _CHUNK]
            async with self._client.pipeline(transaction=False) as pipe:
                for learner_id in chunk:
                    pipe.hgetall(self._keys.learner_class(course_id, session.id, learner_id))
                for learner_id in chunk:
                    pipe.hmget(self._keys.learner(learner_id), ["opted_out", "name"])
                rows = await pipe.execute()
            counters, profiles = rows[: len(chunk)], rows[len(chunk) :]
            for learner_id, fields, (opted_out, name) in zip(chunk, counters, profiles, strict=True):
                counts: dict[InteractionKind, int] = {
                    k: int(fields[k.value]) for k in _COUNTED if k.value in fields
                }
                out.append(
                    LearnerActivity(
                        learner_id=learner_id,
                        course_id=course_id,
                        class_id=session.id,
                        class_minutes=minutes,
                        watched_seconds=float(fields.get("watch_s", 0)),
                        counts=counts,
                        attended=bool(fields),
                        bought=learner_id in buyers,
                        opted_out=opted_out == "1",
                        name=name or "",
                    )
                )
        return out
