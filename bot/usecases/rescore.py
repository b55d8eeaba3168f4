"""Scoring a class: read its activity, score every learner, save scores and the ranking."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.domain import ClassSession, LearnerScore
from bot.ports import Activity, Clock, Scorer, Scores


class ScoresListener(Protocol):
    """Hears every rescore (the campaign engine: who entered which segment)."""

    async def scores_changed(self, session: ClassSession, scores: Sequence[LearnerScore]) -> int: ...


@dataclass
class Rescorer:
    activity: Activity
    scorer: Scorer
    scores: Scores
    clock: Clock
    listener: ScoresListener | None = None
    # Runs before a class is scored, with the course id (a trained model reads the course's context).
    prepare: Callable[[str], Awaitable[None]] | None = None

    async def rescore(self, session: ClassSession) -> list[LearnerScore]:
        if self.prepare is not None:
            await self.prepare(session.course_id)
        minutes = session.minutes_at(self.clock.now())
        results = self.scorer.score(await self.activity.for_class(session, minutes))
        await self.scores.save(results)
        if self.listener is not None:
            await self.listener.scores_changed(session, results)
        return results
