"""The rule-based scorer: the seeds' engagement score, a bounded engagement index, segments and reasons.

It needs no training, so it is what runs until a model has been trained (and the fallback afterwards).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bot.config import ScoringConfig
from bot.domain import InteractionKind, LearnerActivity, LearnerScore, Segment
from bot.domain.interactions import PARTICIPATION_KINDS

K = InteractionKind


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many.format(n=n)


class RuleScorer:
    def __init__(self, config: ScoringConfig) -> None:
        self.config = config
        w = config.weights
        total = w.watch + w.participation + w.intent
        self._w_watch, self._w_part, self._w_intent = (
            w.watch / total,
            w.participation / total,
            w.intent / total,
        )
        p = config.points
        self._points = {
            K.MESSAGE: p.message,
            K.QUESTION: p.question,
            K.REACTION: p.reaction,
            K.POLL_ANSWER: p.poll_answer,
        }

    def score(self, activity: Sequence[LearnerActivity]) -> list[LearnerScore]:
        return [self.score_one(a) for a in activity]

    def components(self, a: LearnerActivity) -> tuple[float, float, float]:
        """Watch share, participation and intent, each in [0, 1]."""
        watch = min(a.watched_minutes / a.class_minutes, 1.0) if a.class_minutes > 0 else 0.0
        points = sum(weight * a.count(kind) for kind, weight in self._points.items())
        participation = 1.0 - math.exp(-points / self.config.points.saturation)
        intent = 1.0 if a.count(K.OFFER_CLICK) else 0.5 if a.count(K.LINK_CLICK) else 0.0
        return watch, participation, intent

    def score_one(self, a: LearnerActivity) -> LearnerScore:
        watch, participation, intent = self.components(a)
        index = self._w_watch * watch + self._w_part * participation + self._w_intent * intent
        interactions = sum(a.count(k) for k in PARTICIPATION_KINDS)
        engagement = (a.watched_minutes + interactions) / a.class_minutes if a.class_minutes > 0 else 0.0
        return LearnerScore(
            learner_id=a.learner_id,
            course_id=a.course_id,
            class_id=a.class_id,
            engagement=round(engagement, 4),
            index=round(index, 4),
            segment=self.segment(a, index),
            reasons=tuple(self.reasons(a)),
        )

    def segment(self, a: LearnerActivity, index: float) -> Segment:
        thresholds = self.config.segments
        if a.bought:
            return Segment.BUYER
        if a.opted_out:
            return Segment.OPTED_OUT
        if index >= thresholds.hot:
            return Segment.HOT
        if self.config.offer_click_makes_hot and a.count(K.OFFER_CLICK) and index >= thresholds.warm:
            return Segment.HOT
        if index >= thresholds.warm:
            return Segment.WARM
        return Segment.COLD

    def reasons(self, a: LearnerActivity) -> list[str]:
        """The learner's activity in words, strongest signals first."""
        out: list[str] = []
        if a.bought:
            out.append("bought the course")
        if a.opted_out:
            out.append("opted out of messages")
        if a.watched_seconds > 0:
            out.append(f"watched {round(a.watched_minutes)} of {round(a.class_minutes)} min")
        elif not a.attended:
            out.append("did not attend")
        else:
            out.append("did not watch")
        if a.count(K.OFFER_CLICK):
            out.append("clicked the offer")
        if a.count(K.QUESTION):
            out.append(_plural(a.count(K.QUESTION), "asked a question", "asked {n} questions"))
        if a.count(K.POLL_ANSWER):
            out.append(_plural(a.count(K.POLL_ANSWER), "answered a poll", "answered {n} polls"))
        if a.count(K.MESSAGE):
            out.append(_plural(a.count(K.MESSAGE), "wrote a message", "wrote {n} messages"))
        if a.count(K.REACTION):
            out.append(_plural(a.count(K.REACTION), "reacted once", "reacted {n} times"))
        if a.count(K.LINK_CLICK) and not a.watched_seconds:
            out.append("clicked the class link")
        return out
