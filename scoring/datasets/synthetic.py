"""Synthetic course histories with learners of distinct behaviours, for the demo, the tests and benchmarks.

Five kinds of learner, mixed in chosen shares:

- eager buyer: comes to nearly every class, watches most of it, asks questions, clicks the offer;
- lurker: comes and watches but hardly says a word;
- chatty non-buyer: writes and reacts a lot, watches little, rarely buys;
- no-show: signed up, seldom comes;
- late joiner: first seen halfway through the course, then keen.

Whether someone buys is drawn from their behaviour, not from their kind (a lurker who watched everything
may buy, an eager one may not), so a model must learn from what people did. Each buyer buys after one
particular class (more likely after one they watched well), which gives per-class conversions to forecast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from bot.domain import InteractionKind, LearnerActivity, Platform
from bot.history import COUNTED_KINDS, PLATFORM_BITS, CourseHistory

K = InteractionKind
PERSONAS = ("eager buyer", "lurker", "chatty non-buyer", "no-show", "late joiner")
DEFAULT_MIX = (0.12, 0.25, 0.18, 0.30, 0.15)

# Per persona: attendance probability, mean watched share when attending, and per-class rates of
# messages, questions, reactions, poll answers; probability of clicking the offer in a class.
_ATTEND = np.array([0.9, 0.75, 0.6, 0.12, 0.8])
_WATCH = np.array([0.85, 0.8, 0.35, 0.3, 0.7])
_RATES = {
    K.MESSAGE: np.array([2.0, 0.1, 6.0, 0.3, 1.5]),
    K.QUESTION: np.array([0.8, 0.05, 0.3, 0.05, 0.5]),
    K.REACTION: np.array([1.5, 0.3, 5.0, 0.2, 1.0]),
    K.POLL_ANSWER: np.array([0.8, 0.4, 0.5, 0.1, 0.7]),
}
_OFFER = np.array([0.35, 0.08, 0.04, 0.02, 0.2])


@dataclass(frozen=True, eq=False)
class SyntheticCourse:
    history: CourseHistory
    persona: NDArray[np.int64]  # index into PERSONAS
    watch_s: NDArray[np.int32]  # learners x classes
    counts: dict[InteractionKind, NDArray[np.int32]]  # learners x classes
    purchase_class: NDArray[np.int64]  # the class after which the learner bought, -1 for none

    def class_activity(self, j: int) -> list[LearnerActivity]:
        """Every learner's activity in class j, as the store's `for_class` would give it."""
        h = self.history
        minutes = float(h.class_minutes[j])
        kinds = (*COUNTED_KINDS,)
        attended = h.attended[:, j]
        bought_by = (self.purchase_class >= 0) & (self.purchase_class < j)
        return [
            LearnerActivity(
                learner_id=str(h.learner_ids[i]),
                course_id=h.course_id,
                class_id=h.class_ids[j],
                class_minutes=minutes,
                watched_seconds=float(self.watch_s[i, j]),
                counts={k: int(self.counts[k][i, j]) for k in kinds if self.counts[k][i, j]},
                attended=bool(attended[i]),
                bought=bool(bought_by[i]),
                opted_out=bool(h.opted_out[i]),
            )
            for i in range(len(h))
        ]

    def conversions(self) -> NDArray[np.int64]:
        """Purchases after each class."""
        c = len(self.history.class_ids)
        bought = self.purchase_class[self.purchase_class >= 0]
        return np.bincount(bought, minlength=c).astype(np.int64)


def generate(
    n: int,
    classes: int = 8,
    seed: int = 0,
    mix: tuple[float, ...] = DEFAULT_MIX,
    course_id: str = "synthetic",
    start: datetime = datetime(2026, 9, 7, 18, 0, tzinfo=UTC),
    class_minutes: float = 60.0,
    buy_shift: float = 0.0,
) -> SyntheticCourse:
    """`n` learners over `classes` weekly classes; `buy_shift` moves every learner's buying log-odds."""
    if len(mix) != len(PERSONAS):
        raise ValueError(f"mix needs one share per persona ({len(PERSONAS)})")
    rng = np.random.default_rng(seed)
    persona = rng.choice(len(PERSONAS), size=n, p=np.asarray(mix) / np.sum(mix))
    starts = np.array(
        [int((start + timedelta(weeks=j)).timestamp() * 1000) for j in range(classes)], np.int64
    )
    day = 86_400_000
    # First seen: a few days before the first class, or halfway through the course for late joiners.
    join_class = np.where(persona == 4, rng.integers(classes // 2, classes, size=n), 0)
    first = starts[join_class] - rng.integers(0, 5 * day, size=n)
    held = np.arange(classes)[None, :] >= join_class[:, None]
    keen = rng.beta(4, 2, size=n)  # people differ within a persona too
    attended = held & (
        rng.random((n, classes)) < np.clip(_ATTEND[persona] * (0.6 + 0.8 * keen), 0, 0.98)[:, None]
    )
    share = np.clip(rng.normal(_WATCH[persona][:, None], 0.15, size=(n, classes)), 0.02, 1.0)
    watch = np.where(attended, share * class_minutes * 60, 0).astype(np.int32)
    counts: dict[InteractionKind, NDArray[np.int32]] = {}
    for kind, rates in _RATES.items():
        counts[kind] = np.where(
            attended, rng.poisson(rates[persona][:, None] * (0.5 + keen[:, None]), size=(n, classes)), 0
        ).astype(np.int32)
    counts[K.LINK_CLICK] = np.where(attended, rng.random((n, classes)) < 0.85, 0).astype(np.int32)
    counts[K.OFFER_CLICK] = np.where(attended, rng.random((n, classes)) < _OFFER[persona][:, None], 0).astype(
        np.int32
    )

    attended_n = attended.sum(1)
    held_n = held.sum(1)
    watched_share = watch.sum(1) / np.maximum(held_n * class_minutes * 60, 1)
    questions = counts[K.QUESTION].sum(1)
    offers = counts[K.OFFER_CLICK].sum(1)
    chat = counts[K.MESSAGE].sum(1) + counts[K.REACTION].sum(1)
    logit = (
        -3.3
        + buy_shift
        + 2.8 * watched_share
        + 1.2 * attended_n / np.maximum(held_n, 1)
        + 0.35 * np.minimum(questions, 6)
        + 0.9 * np.minimum(offers, 2)
        - 0.04 * np.minimum(chat, 40)
        + rng.normal(0, 0.5, size=n)
    )
    bought = rng.random(n) < 1 / (1 + np.exp(-logit))
    # The class after which a buyer bought: likelier after one they watched well.
    weight = watch.astype(np.float64) + 1.0 * held
    weight = np.where(held, weight, 0.0)
    cumulative = np.cumsum(weight, axis=1)
    draw = rng.random(n) * cumulative[:, -1]
    purchase_class = np.where(bought, (cumulative < draw[:, None]).sum(1), -1).astype(np.int64)

    platform_draw = rng.random(n)
    platforms = np.where(
        platform_draw < 0.6,
        PLATFORM_BITS[Platform.TELEGRAM],
        np.where(
            platform_draw < 0.9,
            PLATFORM_BITS[Platform.DISCORD],
            PLATFORM_BITS[Platform.TELEGRAM] | PLATFORM_BITS[Platform.DISCORD],
        ),
    )
    platforms = np.where(counts[K.LINK_CLICK].sum(1) > 0, platforms | PLATFORM_BITS[Platform.WEB], platforms)
    # Coupons went to people who looked keen in some class (the campaigns' hot audience).
    coupons = rng.binomial(np.minimum(offers + (watched_share > 0.6), 3), 0.5)
    opted_out = rng.random(n) < np.where(persona == 3, 0.08, 0.02)

    ids = np.array([f"syn-{i}" for i in range(n)])
    history = CourseHistory(
        course_id=course_id,
        read_at=start + timedelta(weeks=classes - 1, hours=2),
        learner_ids=ids,
        counts={k: counts[k].sum(1).astype(np.int64) for k in COUNTED_KINDS},
        watch_s=watch.sum(1).astype(np.int64),
        first_ms=first.astype(np.int64),
        platforms=platforms.astype(np.uint8),
        opted_out=opted_out,
        bought=bought,
        coupons_issued=coupons.astype(np.int64),
        class_ids=tuple(f"c{j + 1}" for j in range(classes)),
        class_start_ms=starts,
        class_minutes=np.full(classes, class_minutes, np.float64),
        attended=attended,
    )
    return SyntheticCourse(history, persona.astype(np.int64), watch, counts, purchase_class)
