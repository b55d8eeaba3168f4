"""Batch rescoring: every learner of a course read in bulk, scored, and the scores written back."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from bot.history import LearnerHistory
from scoring.model_scorer import ModelScorer


@dataclass(frozen=True, slots=True)
class RescoreSummary:
    course_id: str
    class_id: str
    learners: int
    segments: dict[str, int]
    with_model: bool
    seconds: dict[str, float] = field(default_factory=dict)  # read, features, predict, explain, write

    def __str__(self) -> str:
        counts = ", ".join(f"{n:,} {s}" for s, n in sorted(self.segments.items(), key=lambda kv: -kv[1]))
        how = "model" if self.with_model else "rules"
        return f"{self.learners:,} learners of {self.course_id} rescored ({how}): {counts}"


async def rescore_all(
    history: LearnerHistory, scorer: ModelScorer, course_id: str, now: datetime, class_id: str = ""
) -> RescoreSummary:
    """Read every learner of the course, score them, write segments and reasons back (class "" = course-wide).

    The bulk read also refreshes the scorer's memory of the course, which `ModelScorer.score` builds on.
    """
    t0 = time.perf_counter()
    learners = await history.read(course_id, now)
    t1 = time.perf_counter()
    scorer.refresh(learners)
    seconds = {"read": t1 - t0}
    scores = scorer.score_history(learners, class_id, seconds)
    t2 = time.perf_counter()
    await history.write_scores(scores)
    seconds["write"] = time.perf_counter() - t2
    return RescoreSummary(
        course_id=course_id,
        class_id=class_id,
        learners=len(learners),
        segments=dict(Counter(scores.segments.tolist())),
        with_model=scorer.uses_model,
        seconds=seconds,
    )
