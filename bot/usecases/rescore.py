"""Scoring a class: read its activity, score every learner, save scores and the ranking."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import ClassSession, LearnerScore
from bot.ports import Activity, Scorer, Scores


@dataclass
class Rescorer:
    activity: Activity
    scorer: Scorer
    scores: Scores

    async def rescore(self, session: ClassSession) -> list[LearnerScore]:
        results = self.scorer.score(await self.activity.for_class(session))
        await self.scores.save(results)
        return results
