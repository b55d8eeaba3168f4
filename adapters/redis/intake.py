"""Intake: deduplicate interactions, append them to the event log, update counters; one round trip a batch."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

import redis.asyncio as aioredis

from adapters.redis.keys import Keys
from adapters.redis.scripts import PipelinedScript, lua
from bot.domain import Interaction, InteractionKind
from bot.ports import IngestResult


def _encode(event: Interaction) -> tuple[str, ...]:
    payload = (
        json.dumps(dict(event.payload), separators=(",", ":"), ensure_ascii=False) if event.payload else "{}"
    )
    seconds = int(event.payload.get("seconds", 0)) if event.kind is InteractionKind.WATCH_HEARTBEAT else 0
    return (
        event.kind.value,
        event.platform.value,
        event.event_id,
        event.learner_id,
        event.class_id,
        event.chat_id,
        str(int(event.at.timestamp() * 1000)),
        payload,
        str(seconds),
    )


class RedisIntake:
    def __init__(self, client: aioredis.Redis, keys: Keys, dedup_window: timedelta) -> None:
        self._client = client
        self._keys = keys
        self._ttl = str(max(int(dedup_window.total_seconds()), 1))
        self._script = PipelinedScript(client, lua("intake"))

    async def ingest(self, batch: Sequence[Interaction]) -> IngestResult:
        """Record a batch; a redelivered event (same platform and event id) changes nothing."""
        if not batch:
            return IngestResult(0, 0)
        by_course: dict[str, list[str]] = defaultdict(list)
        for event in batch:
            by_course[event.course_id].extend(_encode(event))
        # One EVALSHA per course (one cluster slot each), all in one pipelined round trip.
        flags = await self._script.run(
            [
                ([self._keys.events(course_id)], [self._keys.course(course_id), self._ttl, *args])
                for course_id, args in by_course.items()
            ]
        )
        accepted = sum(str(f).count("1") for f in flags)
        return IngestResult(accepted=accepted, duplicates=len(batch) - accepted)
