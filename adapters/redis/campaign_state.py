"""What the campaign engine remembers between runs: each learner's last segment (to see who entered one),
experiment assignments, and external ids that shops use for learners.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import redis.asyncio as aioredis

from adapters.redis.decoded import opt_str, str_list, str_map
from adapters.redis.keys import Keys


def _ms(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


def _at(ms: str) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, UTC)


class RedisCampaignState:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys

    async def swap_segments(self, course_id: str, segments: Mapping[str, str]) -> dict[str, str]:
        """Store each learner's new segment; return the segment each had before ("" for none)."""
        if not segments:
            return {}
        key = f"{self._keys.course(course_id)}segment"
        learners = list(segments)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hmget(key, learners)
            pipe.hset(key, mapping=dict[Any, Any](segments))
            before, _ = await pipe.execute()
        return {lid: old or "" for lid, old in zip(learners, str_list(before), strict=True)}

    async def totals(
        self, course_id: str, learner_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, str]]:
        """Fields of each learner's course counters (e.g. last_ts, offer_click_ts); missing ones left out."""
        async with self._client.pipeline(transaction=False) as pipe:
            for learner_id in learner_ids:
                pipe.hmget(self._keys.learner_totals(course_id, learner_id), list(fields))
            rows = await pipe.execute()
        return {
            lid: {f: v for f, v in zip(fields, row, strict=True) if v}
            for lid, row in zip(learner_ids, rows, strict=True)
        }

    async def moments_between(
        self, course_id: str, field: str, start: datetime, end: datetime
    ) -> dict[str, int]:
        """Learners whose latest `field` (last_ts, offer_click_ts) lies in [start, end), with its ms."""
        rows = cast(
            list[tuple[str, float]],
            await self._client.zrangebyscore(
                f"{self._keys.course(course_id)}by:{field}", int(_ms(start)), f"({_ms(end)}", withscores=True
            ),
        )
        return {learner: int(score) for learner, score in rows}

    async def sweep_mark(self, campaign_id: str, step_id: str) -> datetime | None:
        """Up to when a sweep step has looked (its moments before this were all handled)."""
        raw = opt_str(await self._client.get(f"{self._keys.outbox()}sweep-mark:{campaign_id}:{step_id}"))
        return _at(raw) if raw else None

    async def set_sweep_mark(self, campaign_id: str, step_id: str, at: datetime) -> None:
        await self._client.set(f"{self._keys.outbox()}sweep-mark:{campaign_id}:{step_id}", _ms(at))

    async def class_counters(
        self, course_id: str, class_id: str, learner_ids: Sequence[str]
    ) -> dict[str, dict[str, str]]:
        async with self._client.pipeline(transaction=False) as pipe:
            for learner_id in learner_ids:
                pipe.hgetall(self._keys.learner_class(course_id, class_id, learner_id))
            rows = await pipe.execute()
        return {lid: str_map(row) for lid, row in zip(learner_ids, rows, strict=True)}

    # --- experiments ---
    def _assignments(self, campaign_id: str, step_id: str) -> str:
        return f"{self._keys.outbox()}exp:{campaign_id}:{step_id}"

    async def assign(self, campaign_id: str, step_id: str, variants: Mapping[str, str], at: datetime) -> None:
        """Record each learner's arm ("holdout" or a variant id) once, with the time they first got it."""
        if not variants:
            return
        key = self._assignments(campaign_id, step_id)
        async with self._client.pipeline(transaction=False) as pipe:
            for learner_id, variant in variants.items():
                pipe.hsetnx(key, learner_id, f"{variant}|{_ms(at)}")
            await pipe.execute()

    async def assignments(self, campaign_id: str, step_id: str) -> dict[str, tuple[str, datetime]]:
        raw = str_map(await self._client.hgetall(self._assignments(campaign_id, step_id)))
        out = {}
        for learner_id, value in raw.items():
            variant, ms = value.rsplit("|", 1)
            out[learner_id] = (variant, _at(ms))
        return out

    # --- external ids a shop knows a learner by ---
    def _external(self, course_id: str) -> str:
        return f"{self._keys.course(course_id)}external-ids"

    async def link_external(self, course_id: str, external_id: str, learner_id: str) -> str:
        """Link a shop's customer id to a learner, first link wins; returns the learner it is linked to."""
        key = self._external(course_id)
        await self._client.hsetnx(key, external_id, learner_id)
        return opt_str(await self._client.hget(key, external_id)) or learner_id

    async def find_external(self, course_id: str, external_id: str) -> str | None:
        return opt_str(await self._client.hget(self._external(course_id), external_id))
