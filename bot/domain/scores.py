"""What the scoring engine reads about a learner in a class, and what it concludes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.domain.interactions import InteractionKind


class Segment(StrEnum):
    HOT = "hot"
    WARM = "warm"
    COLD = "cold"
    BUYER = "buyer"
    OPTED_OUT = "opted_out"


@dataclass(frozen=True, slots=True)
class LearnerActivity:
    """A learner's counters for one class (or, with class_id empty, for the whole course)."""

    learner_id: str
    course_id: str
    class_id: str
    class_minutes: float
    watched_seconds: float = 0.0
    counts: Mapping[InteractionKind, int] = field(default_factory=dict)
    attended: bool = False
    bought: bool = False
    opted_out: bool = False
    name: str = ""

    def count(self, kind: InteractionKind) -> int:
        return int(self.counts.get(kind, 0))

    @property
    def watched_minutes(self) -> float:
        return self.watched_seconds / 60.0


@dataclass(frozen=True, slots=True)
class LearnerScore:
    learner_id: str
    course_id: str
    class_id: str
    engagement: float  # the seeds' (watched minutes + interactions) / class minutes, unbounded
    index: float  # normalised engagement in [0, 1]; chat alone cannot outweigh watching
    segment: Segment
    reasons: tuple[str, ...] = ()
    probability: float | None = None  # calibrated purchase probability, once a model is trained

    @property
    def reason_text(self) -> str:
        return ", ".join(self.reasons)
