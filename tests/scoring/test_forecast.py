"""Class sales forecast: an interval that holds what it promises on past classes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.config import ScoringConfig
from bot.domain import ClassSession, ClassState, LearnerActivity, Purchase
from scoring.datasets.synthetic import generate
from scoring.errors import ScoringError
from scoring.forecast import (
    ClassEngagement,
    ClassOutcome,
    ConversionForecaster,
    backtest,
    engagement_of,
    forecast_class,
    outcomes_of,
)
from scoring.rules import RuleScorer


def past_classes(courses: int = 8, classes: int = 10) -> list[ClassOutcome]:
    """Classes of several synthetic courses of different sizes and appetite, in time order."""
    rng = np.random.default_rng(0)
    rules = RuleScorer(ScoringConfig())
    made = [
        generate(int(rng.integers(150, 500)), classes=classes, seed=s, buy_shift=float(rng.normal(0, 0.4)))
        for s in range(courses)
    ]
    return [
        ClassOutcome(engagement_of(c.class_activity(j), rules), int(c.conversions()[j]))
        for j in range(classes)
        for c in made
    ]


def test_the_interval_covers_about_as_often_as_it_says_and_beats_the_seeds_line() -> None:
    result = backtest(past_classes(), level=0.8)
    assert result.classes >= 70
    assert 0.65 <= result.coverage <= 0.95
    assert result.mae < result.seeds_mae
    assert all(f.low <= f.expected <= f.high + 1 for f in result.forecasts)


def test_a_forecast_is_bounded_by_who_can_still_buy_even_far_from_past_classes() -> None:
    past = past_classes(courses=3, classes=6)
    forecaster = ConversionForecaster.fit(past)
    typical = forecaster.forecast(past[-1].engagement)
    assert typical.low <= typical.expected <= typical.high
    for odd in (ClassEngagement(200, 0.01, 0.01, 0.0), ClassEngagement(200, 0.99, 1.0, 1.0)):
        forecast = forecaster.forecast(odd)
        assert 0 <= forecast.low <= forecast.expected <= 200
        assert forecast.high <= 200
    assert forecaster.forecast(ClassEngagement(0, 0.0, 0.0, 0.0)).high == 0
    assert str(typical).endswith("at 80%)")


def test_too_few_past_classes_is_said_plainly() -> None:
    with pytest.raises(ScoringError, match="at least 4 past classes"):
        ConversionForecaster.fit(past_classes(courses=1, classes=3))


def test_past_classes_get_the_purchases_made_until_the_next_class() -> None:
    start = datetime(2026, 9, 1, 18, tzinfo=UTC)
    classes = []
    for j in range(5):
        begin = start + timedelta(weeks=j)
        session = ClassSession(
            f"c{j}", "py", "", ClassState.ENDED, started_at=begin, ended_at=begin + timedelta(hours=1)
        )
        # Everyone comes; "ann" and "bob" would look like buyers now, whatever they were then.
        activity = [
            LearnerActivity(
                name, "py", f"c{j}", 60, watched_seconds=1800, attended=True, bought=name in {"ann", "bob"}
            )
            for name in ("ann", "bob", "cid", "dee")
        ]
        classes.append((session, activity))
    purchases = [
        Purchase("o1", "py", "ann", 99, "USD", start + timedelta(days=1)),  # after class 0
        Purchase("o2", "py", "bob", 99, "USD", start + timedelta(weeks=3, days=2)),
    ]  # after class 3
    outcomes = outcomes_of(list(reversed(classes)), purchases, RuleScorer(ScoringConfig()))
    assert [o.conversions for o in outcomes] == [1, 0, 0, 1, 0]
    # Who could still buy at each class: ann until she bought, bob until he did.
    assert [o.engagement.present for o in outcomes] == [4, 3, 3, 3, 2]
    forecast = forecast_class(outcomes, outcomes[-1].engagement)
    assert forecast is not None
    assert 0 <= forecast.low <= forecast.high <= 2
    assert forecast_class(outcomes[:3], outcomes[-1].engagement) is None
