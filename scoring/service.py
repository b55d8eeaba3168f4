"""The scoring engine as the rest of ClassPulse uses it: fresh course context before a class is scored,
the teachers' `why <learner>` answer, and the extra lines of the live stats (interaction styles, forecast).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import ScoringConfig
from bot.domain import ClassSession, ClassState
from bot.history import LearnerHistory
from bot.ports import Activity, Classes, Clock, Orders
from scoring.errors import ScoringError
from scoring.forecast import MIN_PAST_CLASSES, engagement_of, forecast_class, outcomes_of
from scoring.model_scorer import ModelScorer
from scoring.rules import RuleScorer
from scoring.styles import class_styles


@dataclass
class ScoringService:
    scorer: ModelScorer
    history: LearnerHistory
    classes: Classes
    activity: Activity
    orders: Orders
    clock: Clock
    config: ScoringConfig

    async def prepare(self, course_id: str) -> None:
        """Before a class is scored: the model scores a class against the whole course, read in bulk."""
        if self.scorer.uses_model:
            self.scorer.refresh(await self.history.read(course_id, self.clock.now()))

    async def explain(self, course_id: str, learner_id: str) -> tuple[str, list[str]]:
        """The headline and the signals behind one learner's score."""
        history = await self.history.read(course_id, self.clock.now(), [learner_id])
        try:
            explanation = self.scorer.why(history, learner_id)
        except ScoringError as exc:
            return str(exc), []
        return explanation.summary, explanation.lines()

    async def lines(self, session: ClassSession) -> list[str]:
        """Interaction styles of the class and, with enough past classes, its sales forecast."""
        now = self.clock.now()
        activity = await self.activity.for_class(session, session.minutes_at(now))
        present = [a for a in activity if a.attended]
        lines = []
        if len(present) >= 2:
            lines.append("Interaction styles: " + "; ".join(class_styles(present).lines()))
        past_sessions = [
            s
            for s in await self.classes.all(session.course_id)
            if s.state is ClassState.ENDED and s.id != session.id
        ]
        rules = RuleScorer(self.config)
        past = outcomes_of(
            [(s, await self.activity.for_class(s)) for s in past_sessions],
            await self.orders.for_course(session.course_id),
            rules,
        )
        forecast = forecast_class(past, engagement_of(activity, rules))
        if forecast is None:
            lines.append(f"Sales forecast: after {MIN_PAST_CLASSES} past classes ({len(past)} so far)")
        else:
            lines.append(f"Sales forecast: {forecast}")
        return lines
