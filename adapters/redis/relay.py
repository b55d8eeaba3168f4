"""The stream relay's state: link grants, the heartbeat pace and live viewers.

Keys (besides the prefix, the same layout as adapters.redis.keys):
    <prefix>:{links}:g:<grant id>                 "course<US>class<US>learner", expires with its links
    <prefix>:{<course>}:hb:<class>:<learner>       ms of the last admitted heartbeat (the pace)
    <prefix>:{<course>}:viewers:<class>            sorted set learner -> ms of their last admitted heartbeat
Every process of a deployment reads and writes the same keys, so they agree on pace and viewers.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import redis.asyncio as aioredis

from adapters.redis.decoded import str_list
from adapters.redis.keys import Keys
from adapters.redis.scripts import lua
from bot.domain import LinkGrant

_SEP = "\x1f"
# A class's viewer set lives on for a day after its last heartbeat: long enough for any report on it.
_VIEWERS_TTL = timedelta(days=1)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class RedisRelay:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys
        self._admit = client.register_script(lua("relay_heartbeats"))

    # --- link grants ---
    def _grant_key(self, grant_id: str) -> str:
        return f"{self._keys.prefix}:{{links}}:g:{grant_id}"

    async def put_grants(self, grants: Mapping[str, LinkGrant], ttl: timedelta) -> None:
        """Store grants by id; storing one again only extends its life (ids are derived from the grant)."""
        seconds = max(int(ttl.total_seconds()), 1)
        async with self._client.pipeline(transaction=False) as pipe:
            for grant_id, g in grants.items():
                pipe.set(
                    self._grant_key(grant_id), _SEP.join((g.course_id, g.class_id, g.learner_id)), ex=seconds
                )
            await pipe.execute()

    async def get_grants(self, grant_ids: Sequence[str]) -> dict[str, LinkGrant]:
        if not grant_ids:
            return {}
        rows = str_list(await self._client.mget([self._grant_key(g) for g in grant_ids]))
        out: dict[str, LinkGrant] = {}
        for grant_id, row in zip(grant_ids, rows, strict=True):
            if row:
                course_id, class_id, learner_id = row.split(_SEP)
                out[grant_id] = LinkGrant(course_id, class_id, learner_id)
        return out

    # --- heartbeat pace and live viewers ---
    async def admit_heartbeats(
        self, beats: Sequence[tuple[LinkGrant, datetime]], min_gap: timedelta
    ) -> list[bool]:
        """For each heartbeat, whether it comes at least `min_gap` after the last admitted one of the same
        learner and class; admitted ones become the new last and mark the learner as a live viewer."""
        by_course: dict[str, list[int]] = defaultdict(list)
        args: dict[str, list[str]] = defaultdict(list)
        for i, (grant, at) in enumerate(beats):
            by_course[grant.course_id].append(i)
            args[grant.course_id].append(_SEP.join((str(_ms(at)), grant.class_id, grant.learner_id)))
        gap_ms = int(min_gap.total_seconds() * 1000)
        head = [str(gap_ms), str(gap_ms + 60_000), str(int(_VIEWERS_TTL.total_seconds() * 1000))]
        # One script call per course (one cluster slot each), concurrently; a call outside a pipeline is a
        # single EVALSHA (a pipeline would first ask SCRIPT EXISTS, a second round trip on the hottest path).
        flags = await asyncio.gather(
            *(
                self._admit(keys=[self._keys.course(course_id)], args=[*head, *course_args])
                for course_id, course_args in args.items()
            )
        )
        admitted = [False] * len(beats)
        for indexes, flag in zip(by_course.values(), flags, strict=True):
            for i, char in zip(indexes, str(flag), strict=True):
                admitted[i] = char == "1"
        return admitted

    async def live_viewers(self, course_id: str, class_id: str, since: datetime) -> int:
        """Learners of the class with an admitted heartbeat at or after `since`."""
        return int(await self._client.zcount(self._viewers_key(course_id, class_id), _ms(since), "+inf"))

    def _viewers_key(self, course_id: str, class_id: str) -> str:
        return f"{self._keys.course(course_id)}viewers:{class_id}"
