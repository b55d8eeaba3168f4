"""Class sessions of a course: scheduled, live, ended."""

from __future__ import annotations

from datetime import UTC, datetime

import redis.asyncio as aioredis

from adapters.redis.decoded import str_list, str_map
from adapters.redis.keys import Keys
from bot.domain import ClassSession, ClassState


def _ts(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _session(fields: dict[str, str]) -> ClassSession:
    return ClassSession(
        id=fields["id"],
        course_id=fields["course_id"],
        title=fields.get("title", ""),
        state=ClassState(fields["state"]),
        scheduled_at=_dt(fields.get("scheduled_at")),
        started_at=_dt(fields.get("started_at")),
        ended_at=_dt(fields.get("ended_at")),
        stream_url=fields.get("stream_url", ""),
        planned_minutes=int(fields.get("planned_minutes", "60")),
    )


class RedisClasses:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys

    async def new_id(self, course_id: str) -> str:
        n = await self._client.incr(self._keys.class_seq(course_id))
        return f"c{n}"

    async def save(self, session: ClassSession) -> None:
        when = session.scheduled_at or session.started_at or datetime.now(UTC)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(
                self._keys.class_session(session.course_id, session.id),
                mapping={
                    "id": session.id,
                    "course_id": session.course_id,
                    "title": session.title,
                    "state": session.state.value,
                    "scheduled_at": _ts(session.scheduled_at),
                    "started_at": _ts(session.started_at),
                    "ended_at": _ts(session.ended_at),
                    "stream_url": session.stream_url,
                    "planned_minutes": str(session.planned_minutes),
                },
            )
            pipe.zadd(self._keys.classes(session.course_id), {session.id: when.timestamp()})
            await pipe.execute()

    async def get(self, course_id: str, class_id: str) -> ClassSession | None:
        fields = str_map(await self._client.hgetall(self._keys.class_session(course_id, class_id)))
        return _session(fields) if fields else None

    async def ids(self, course_id: str) -> list[str]:
        return str_list(await self._client.zrange(self._keys.classes(course_id), 0, -1))

    async def all(self, course_id: str) -> list[ClassSession]:
        ids = str_list(await self._client.zrange(self._keys.classes(course_id), 0, -1))
        async with self._client.pipeline(transaction=False) as pipe:
            for class_id in ids:
                pipe.hgetall(self._keys.class_session(course_id, class_id))
            rows = await pipe.execute()
        return [_session(r) for r in rows if r]

    async def current(self, course_id: str) -> ClassSession | None:
        """The live class, else the next scheduled one, else None."""
        sessions = await self.all(course_id)
        live = [s for s in sessions if s.state is ClassState.LIVE]
        if live:
            return live[-1]
        scheduled = [s for s in sessions if s.state is ClassState.SCHEDULED]
        return scheduled[0] if scheduled else None

    async def latest_ended(self, course_id: str) -> ClassSession | None:
        ended = [s for s in await self.all(course_id) if s.state is ClassState.ENDED]
        return ended[-1] if ended else None
