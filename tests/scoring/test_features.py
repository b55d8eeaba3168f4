"""Store features: what a learner's history says, computed for all learners at once."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from bot.domain import InteractionKind, LearnerActivity, Platform
from bot.history import COUNTED_KINDS, PLATFORM_BITS, CourseHistory
from scoring.features import (
    FEATURE_NAMES,
    NEVER_DAYS,
    add_class,
    derive,
    raw_from_activities,
    raw_from_history,
)

DAY = 86_400_000
START = int(datetime(2026, 9, 1, 18, tzinfo=UTC).timestamp() * 1000)
NOW = START + 30 * DAY


def history() -> CourseHistory:
    """Four weekly one-hour classes; ann came to all, bob joined before class 3 and came once, cid never."""
    n = 3
    counts = {k: np.zeros(n, np.int64) for k in COUNTED_KINDS}
    counts[InteractionKind.QUESTION][:] = [4, 0, 0]
    counts[InteractionKind.OFFER_CLICK][:] = [1, 0, 0]
    return CourseHistory(
        course_id="py",
        read_at=datetime.fromtimestamp(NOW / 1000, UTC),
        learner_ids=np.array(["ann", "bob", "cid"]),
        counts=counts,
        watch_s=np.array([4 * 3600, 1800, 0], np.int64),
        first_ms=np.array([START - DAY, START + 14 * DAY - DAY, 0], np.int64),
        platforms=np.array(
            [
                PLATFORM_BITS[Platform.TELEGRAM] | PLATFORM_BITS[Platform.WEB],
                PLATFORM_BITS[Platform.DISCORD],
                0,
            ],
            np.uint8,
        ),
        opted_out=np.array([False, False, True]),
        bought=np.array([True, False, False]),
        coupons_issued=np.array([2, 0, 0], np.int64),
        class_ids=("c1", "c2", "c3", "c4"),
        class_start_ms=START + np.arange(4, dtype=np.int64) * 7 * DAY,
        class_minutes=np.full(4, 60.0),
        attended=np.array([[True] * 4, [False, False, False, True], [False] * 4]),
    )


def test_features_count_only_the_classes_held_since_a_learner_was_first_seen() -> None:
    f = derive(raw_from_history(history()), NOW).loc[["ann", "bob", "cid"]]
    assert list(f.columns) == FEATURE_NAMES
    assert f["attendance_rate"].tolist() == [1.0, 0.5, 0.0]  # bob: 1 of the 2 classes since he joined
    assert f["watched_share"].tolist() == pytest.approx([1.0, 30 / 120, 0.0])
    assert f["watched_minutes"].tolist() == [240.0, 30.0, 0.0]
    assert f["days_since_attended"].tolist() == pytest.approx([9.0, 9.0, NEVER_DAYS])
    assert f["days_since_first_seen"].tolist() == pytest.approx([31.0, 17.0, 0.0])
    assert f["questions"].tolist() == [4.0, 0.0, 0.0]
    assert f["coupons_received"].tolist() == [2.0, 0.0, 0.0]
    assert f[["on_telegram", "on_discord", "on_web"]].to_numpy().tolist() == [[1, 0, 1], [0, 1, 0], [0, 0, 0]]
    assert f["platform_count"].tolist() == [2.0, 1.0, 0.0]


def test_a_class_adds_to_a_learners_history_and_a_newcomer_is_that_class_alone() -> None:
    base = raw_from_history(history())
    now = NOW + 7 * DAY
    one = raw_from_activities(
        [
            LearnerActivity(
                "bob",
                "py",
                "c5",
                60,
                watched_seconds=3600,
                counts={InteractionKind.QUESTION: 2},
                attended=True,
            ),
            LearnerActivity("dee", "py", "c5", 60, watched_seconds=600, attended=True),
        ],
        class_start_ms=now - 3_600_000,
    )
    f = derive(add_class(base, one), now)
    assert f.loc["bob", "attendance_rate"] == pytest.approx(2 / 3)
    assert f.loc["bob", "questions"] == 2.0
    assert f.loc["bob", "watched_minutes"] == 90.0
    assert f.loc["bob", "on_discord"] == 1.0  # platforms come from the history
    assert f.loc["dee", "attendance_rate"] == 1.0
    assert f.loc["dee", "watched_share"] == pytest.approx(10 / 60)
    assert f.loc["dee", "days_since_first_seen"] == pytest.approx(1 / 24)
