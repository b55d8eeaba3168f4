"""Which course and class each of the bot's polls belongs to, so that an answer to it can be credited.

Telegram's poll answers carry only the poll id (and the voter): the chat, course and class are remembered
here, in Redis, when the bot sends the poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import redis.asyncio as aioredis

from adapters.redis.decoded import str_map

DEFAULT_TTL = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class PollRef:
    poll_id: str
    course_id: str
    class_id: str
    chat_id: int
    message_id: int


class PollRegistry:
    def __init__(self, client: aioredis.Redis, key_prefix: str = "cp", ttl: timedelta = DEFAULT_TTL) -> None:
        self._client = client
        self._prefix = key_prefix
        self._ttl = max(int(ttl.total_seconds()), 1)

    def _key(self, poll_id: str) -> str:
        return f"{self._prefix}:tg:poll:{poll_id}"

    async def remember(self, ref: PollRef) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(
                self._key(ref.poll_id),
                mapping={
                    "course": ref.course_id,
                    "class": ref.class_id,
                    "chat": str(ref.chat_id),
                    "message": str(ref.message_id),
                },
            )
            pipe.expire(self._key(ref.poll_id), self._ttl)
            await pipe.execute()

    async def get(self, poll_id: str) -> PollRef | None:
        fields = str_map(await self._client.hgetall(self._key(poll_id)))
        if not fields:
            return None
        return PollRef(
            poll_id, fields["course"], fields["class"], int(fields["chat"]), int(fields["message"])
        )
