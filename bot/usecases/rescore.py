"""Scoring a class: read its activity, score every learner, save scores and the ranking."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import ClassSession, LearnerScore
from bot.ports import Activity, Clock, Scorer, Scores


@dataclass
class Rescorer:
    activity: Activity
    scorer: Scorer
    scores: Scores
    clock: Clock

    async def rescore(self, session: ClassSession) -> list[LearnerScore]:
        minutes = session.minutes_at(self.clock.now())
        results = self.scorer.score(await self.activity.for_class(session, minutes))
        await self.scores.save(results)
        return results
