"""Learners' history in bulk: the plain columns the scoring engine reads from the store and writes back.

Scoring a whole course (a million learners) one `LearnerActivity` at a time would be far too slow, so the
store hands the scoring engine whole columns instead: one numpy array per counter, one row per learner, in the
same order everywhere. These values are the contract between a store adapter (`adapters/redis/history.py`)
and `scoring/`; they hold plain numpy arrays, never pandas, so the adapters need no scoring library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from bot.domain import InteractionKind, Platform

# The counters of the course totals that describe what a learner did (purchases and opt-outs are not
# behaviour to learn from: one is the label, the other a wish to be left alone).
COUNTED_KINDS: tuple[InteractionKind, ...] = (
    InteractionKind.MESSAGE,
    InteractionKind.QUESTION,
    InteractionKind.REACTION,
    InteractionKind.POLL_ANSWER,
    InteractionKind.LINK_CLICK,
    InteractionKind.OFFER_CLICK,
)

# Platforms as bits, so that "which platforms" is one small integer per learner.
PLATFORM_BITS: Mapping[Platform, int] = {
    Platform.TELEGRAM: 1,
    Platform.DISCORD: 2,
    Platform.WEB: 4,
    Platform.CONSOLE: 8,
}

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
Texts = NDArray[np.str_]


@dataclass(frozen=True, eq=False)
class CourseHistory:
    """Every learner of one course (or the learners asked for), one row each, as of `read_at`.

    Times are Unix milliseconds, 0 when unknown. `attended[i, j]` says whether learner i did anything in
    class j; classes are in start order and include a live one.
    """

    course_id: str
    read_at: datetime
    learner_ids: Texts
    counts: Mapping[InteractionKind, Ints]
    watch_s: Ints
    first_ms: Ints
    platforms: NDArray[np.uint8]  # PLATFORM_BITS of every identity and of the last platform seen
    opted_out: Bools
    bought: Bools
    coupons_issued: Ints  # coupons of this course issued to the learner
    class_ids: tuple[str, ...] = ()
    class_start_ms: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    class_minutes: Floats = field(default_factory=lambda: np.zeros(0, np.float64))
    attended: Bools = field(default_factory=lambda: np.zeros((0, 0), np.bool_))

    def __post_init__(self) -> None:
        n = len(self.learner_ids)
        columns: dict[str, NDArray[np.generic]] = {
            "watch_s": self.watch_s,
            "first_ms": self.first_ms,
            "platforms": self.platforms,
            "opted_out": self.opted_out,
            "bought": self.bought,
            "coupons_issued": self.coupons_issued,
        }
        columns.update({f"counts[{k.value}]": v for k, v in self.counts.items()})
        wrong = [name for name, column in columns.items() if column.shape != (n,)]
        if wrong:
            raise ValueError(
                f"CourseHistory columns {', '.join(wrong)} do not have one value per learner ({n})"
            )
        missing = [k.value for k in COUNTED_KINDS if k not in self.counts]
        if missing:
            raise ValueError(f"CourseHistory lacks the counters {', '.join(missing)}")
        c = len(self.class_ids)
        if self.class_start_ms.shape != (c,) or self.class_minutes.shape != (c,):
            raise ValueError(f"CourseHistory needs a start and a length for each of its {c} classes")
        if self.attended.shape != (n, c):
            raise ValueError(f"CourseHistory.attended must be learners x classes ({n} x {c})")

    def __len__(self) -> int:
        return len(self.learner_ids)


@dataclass(frozen=True, eq=False)
class ScoreColumns:
    """Scores of many learners at once, as the scoring engine hands them to the store.

    `reasons[i]` are learner i's reasons, strongest first, as numbers of `phrases` (learners share phrases:
    "never clicked the offer (−)" is written once, not a million times); 0, the empty phrase, pads.
    `class_id` is empty for course-wide scores. `probability` is NaN where no model scored the learner.
    """

    course_id: str
    class_id: str
    learner_ids: Texts
    engagement: Floats
    index: Floats
    probability: Floats
    segments: Texts  # Segment values
    reasons: NDArray[np.intp]  # learners x slots, numbers of phrases
    phrases: tuple[str, ...] = ("",)

    def __post_init__(self) -> None:
        n = len(self.learner_ids)
        for name in ("engagement", "index", "probability", "segments"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"ScoreColumns.{name} must have one value per learner ({n})")
        if self.reasons.ndim != 2 or self.reasons.shape[0] != n:
            raise ValueError(f"ScoreColumns.reasons must be learners x slots ({n} x k)")
        if self.phrases[:1] != ("",) or (
            self.reasons.size and not 0 <= self.reasons.max() < len(self.phrases)
        ):
            raise ValueError("ScoreColumns.reasons must number phrases, phrase 0 being the empty one")

    def reasons_of(self, row: int) -> tuple[str, ...]:
        return tuple(self.phrases[c] for c in self.reasons[row].tolist() if c)

    def __len__(self) -> int:
        return len(self.learner_ids)


class LearnerHistory(Protocol):
    """Bulk reading of learners' history and bulk writing of their scores (the store's side)."""

    async def read(
        self, course_id: str, now: datetime, learner_ids: Sequence[str] | None = None
    ) -> CourseHistory: ...

    async def write_scores(self, scores: ScoreColumns) -> None: ...
