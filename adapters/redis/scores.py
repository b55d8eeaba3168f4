"""Scores and segments per class, and the ranking the teachers' hot-leads answer reads."""

from __future__ import annotations

import json
from collections.abc import Sequence

import redis.asyncio as aioredis

from adapters.redis.decoded import str_list, str_map
from adapters.redis.keys import Keys
from bot.domain import LearnerScore, Segment


def _encode(score: LearnerScore) -> str:
    return json.dumps(
        {
            "e": round(score.engagement, 4),
            "i": round(score.index, 4),
            "s": score.segment.value,
            "r": list(score.reasons),
            "p": score.probability,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _decode(course_id: str, class_id: str, learner_id: str, raw: str) -> LearnerScore:
    data = json.loads(raw)
    return LearnerScore(
        learner_id=learner_id,
        course_id=course_id,
        class_id=class_id,
        engagement=data["e"],
        index=data["i"],
        segment=Segment(data["s"]),
        reasons=tuple(data["r"]),
        probability=data.get("p"),
    )


class RedisScores:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys

    async def save(self, scores: Sequence[LearnerScore]) -> None:
        if not scores:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            groups: dict[tuple[str, str], list[LearnerScore]] = {}
            for score in scores:
                groups.setdefault((score.course_id, score.class_id), []).append(score)
            for (course_id, class_id), group in groups.items():
                pipe.hset(
                    self._keys.scores(course_id, class_id), mapping={s.learner_id: _encode(s) for s in group}
                )
                # The ranking holds only learners one could still sell to.
                ranked = {s.learner_id: _rank(s) for s in group if s.segment in _RANKED}
                gone = [s.learner_id for s in group if s.segment not in _RANKED]
                if ranked:
                    pipe.zadd(self._keys.ranking(course_id, class_id), ranked)
                if gone:
                    pipe.zrem(self._keys.ranking(course_id, class_id), *gone)
            await pipe.execute()

    async def top(self, course_id: str, class_id: str, n: int) -> list[LearnerScore]:
        ids = str_list(await self._client.zrevrange(self._keys.ranking(course_id, class_id), 0, n - 1))
        if not ids:
            return []
        raws = str_list(await self._client.hmget(self._keys.scores(course_id, class_id), ids))
        return [_decode(course_id, class_id, lid, raw) for lid, raw in zip(ids, raws, strict=True) if raw]

    async def for_class(self, course_id: str, class_id: str) -> dict[str, LearnerScore]:
        raw = str_map(await self._client.hgetall(self._keys.scores(course_id, class_id)))
        return {lid: _decode(course_id, class_id, lid, value) for lid, value in raw.items()}


_RANKED = {Segment.HOT, Segment.WARM, Segment.COLD}


def _rank(score: LearnerScore) -> float:
    return score.probability if score.probability is not None else score.index
