"""Training on ClassPulse's own history: learners who bought the course are the positives.

The rows are ordered by when each learner was first seen, and folds are expanding windows over those
cohorts: the model is always graded on learners who arrived after the ones it learned from, as it will be
used. Caveat: counters are read as they are now, so a buyer's activity after buying is in their row too;
per-class counters from before the purchase would remove that, at the cost of reading every class.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from bot.history import CourseHistory
from scoring import candidates as cands
from scoring.artifact import STORE_FEATURES
from scoring.errors import ScoringError
from scoring.features import FEATURES, derive, raw_from_history
from scoring.training import TrainReport, train_frame

LABEL = "bought"
TIME = "first_seen_ms"


def store_frame(history: CourseHistory) -> pd.DataFrame:
    """The learners' features with their label and first-seen time, one row per learner."""
    raw = raw_from_history(history)
    frame = derive(raw, int(history.read_at.timestamp() * 1000)).reset_index(drop=True)
    frame[LABEL] = history.bought
    frame[TIME] = history.first_ms.astype(np.float64)
    return frame


def train_from_store(
    history: CourseHistory,
    out: Path | None,
    *,
    folds: int = 5,
    seed: int = 0,
    candidates: Sequence[str] = cands.CANDIDATES,
    plot: bool = True,
    console: Console | None = None,
) -> TrainReport:
    """Train on one course's learners (as read by the store's `LearnerHistory.read`) and save the model."""
    if len(history) == 0:
        raise ScoringError(f"course {history.course_id!r} has no learners yet: nothing to train on")
    bought = int(history.bought.sum())
    if bought == 0 or bought == len(history):
        which = "no learner has" if bought == 0 else "every learner has"
        raise ScoringError(
            f"course {history.course_id!r}: {which} bought it yet, so there is nothing to learn"
        )
    return train_frame(
        store_frame(history),
        LABEL,
        None,
        TIME,
        [],
        out,
        folds=folds,
        seed=seed,
        candidates=candidates,
        plot=plot,
        console=console,
        source=f"store: course {history.course_id}",
        columns=FEATURES,
        meta={"source": STORE_FEATURES, "course": history.course_id},
    )
