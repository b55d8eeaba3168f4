"""Class sales forecast: how many learners will buy after this class, with an interval.

The seeds fit a straight line of sales on the engagement score. Done properly: conversions are counts out
of the learners present, so the model is a Poisson regression of the conversion *rate* on the class's
engagement (mean engagement index, watched share, share of offer clicks and, once a purchase model is
trained, the learners' mean calibrated probability), with the number of learners present as the exposure.
Past classes vary more than a Poisson count would (one class is simply better than another), so the
interval is drawn from a negative binomial whose extra variance is estimated from past classes
(quasi-Poisson dispersion). Backtested by rolling origin: each past class forecast from the classes
before it only, and the share of actual conversions inside the interval is reported.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from sklearn.linear_model import LinearRegression, PoissonRegressor
from threadpoolctl import threadpool_limits

from bot.domain import ClassSession, InteractionKind, LearnerActivity, LearnerScore, Purchase
from scoring.errors import ScoringError
from scoring.rules import RuleScorer

MIN_PAST_CLASSES = 4
_EPS = 1e-4


@dataclass(frozen=True, slots=True)
class ClassEngagement:
    """How engaged the learners who could still buy were in one class."""

    present: int  # learners who took part (watched or did anything) and had not bought yet
    mean_index: float
    watched_share: float
    offer_click_rate: float
    mean_probability: float | None = None  # mean calibrated purchase probability of those present

    def row(self, with_probability: bool) -> list[float]:
        row = [self.mean_index, self.watched_share, self.offer_click_rate]
        if with_probability:
            p = min(max(self.mean_probability or 0.0, _EPS), 1 - _EPS)
            row.append(float(np.log(p / (1 - p))))
        return row


@dataclass(frozen=True, slots=True)
class ClassOutcome:
    engagement: ClassEngagement
    conversions: int  # purchases between this class and the next


@dataclass(frozen=True, slots=True)
class Forecast:
    expected: float
    low: int
    high: int
    level: float

    def __str__(self) -> str:
        return f"{self.expected:.1f} expected ({self.low}–{self.high} at {self.level:.0%})"


def engagement_of(
    activity: Sequence[LearnerActivity],
    scorer: RuleScorer,
    scores: Sequence[LearnerScore] | None = None,
    buyers: Collection[str] | None = None,
) -> ClassEngagement:
    """A class's engagement from its activity (and, with a model, its scores' probabilities).

    `buyers`: who had bought by the time of the class (default: the activity's own `bought` flags, which
    say who has bought by now: right for a running class, not for one long past).
    """
    if buyers is None:
        buyers = {a.learner_id for a in activity if a.bought}
    present = [a for a in activity if (a.attended or a.watched_seconds > 0) and a.learner_id not in buyers]
    if not present:
        return ClassEngagement(0, 0.0, 0.0, 0.0, None)
    index = [scorer.score_one(a).index for a in present]
    watched = [min(a.watched_minutes / a.class_minutes, 1.0) if a.class_minutes > 0 else 0.0 for a in present]
    offers = [1.0 if a.count(InteractionKind.OFFER_CLICK) else 0.0 for a in present]
    probability = None
    if scores is not None:
        by_id = {s.learner_id: s.probability for s in scores if s.probability is not None}
        known = [by_id[a.learner_id] for a in present if a.learner_id in by_id]
        probability = float(np.mean(known)) if known else None
    return ClassEngagement(
        len(present), float(np.mean(index)), float(np.mean(watched)), float(np.mean(offers)), probability
    )


def outcomes_of(
    classes: Sequence[tuple[ClassSession, Sequence[LearnerActivity]]],
    purchases: Sequence[Purchase],
    scorer: RuleScorer,
) -> list[ClassOutcome]:
    """Past classes with their conversions: the purchases from one class's start to the next one's.

    `classes` are the course's ended classes with their activity (the store's `for_class`), in any order.
    """
    started = sorted(
        ((s.started_at, a) for s, a in classes if s.started_at is not None), key=lambda sa: sa[0]
    )
    outcomes = []
    for k, (begin, activity) in enumerate(started):
        end = started[k + 1][0] if k + 1 < len(started) else None
        before = {p.learner_id for p in purchases if p.at < begin}
        after = sum(1 for p in purchases if p.at >= begin and (end is None or p.at < end))
        outcomes.append(ClassOutcome(engagement_of(activity, scorer, buyers=before), after))
    return outcomes


def forecast_class(past: Sequence[ClassOutcome], now: ClassEngagement, level: float = 0.8) -> Forecast | None:
    """The forecast of a running class from the course's past classes; None while there are too few.

    Probabilities are used when the running class and every past class have them, else left out of both.
    """
    if sum(1 for o in past if o.engagement.present > 0) < MIN_PAST_CLASSES:
        return None
    if now.mean_probability is None or any(o.engagement.mean_probability is None for o in past):
        past = [replace(o, engagement=replace(o.engagement, mean_probability=None)) for o in past]
        now = replace(now, mean_probability=None)
    return ConversionForecaster.fit(past).forecast(now, level)


@dataclass
class ConversionForecaster:
    """Poisson regression of conversions per learner present, with a dispersion-widened interval."""

    model: PoissonRegressor
    with_probability: bool
    dispersion: float
    mean: NDArray[np.float64]
    scale: NDArray[np.float64]
    low: NDArray[np.float64]  # the range of engagement seen in past classes
    high: NDArray[np.float64]

    @classmethod
    def fit(cls, past: Sequence[ClassOutcome]) -> ConversionForecaster:
        usable = [o for o in past if o.engagement.present > 0]
        if len(usable) < MIN_PAST_CLASSES:
            raise ScoringError(
                f"a forecast needs at least {MIN_PAST_CLASSES} past classes with learners "
                f"present; there are {len(usable)}"
            )
        with_probability = all(o.engagement.mean_probability is not None for o in usable)
        x = np.array([o.engagement.row(with_probability) for o in usable], dtype=np.float64)
        present = np.array([o.engagement.present for o in usable], dtype=np.float64)
        y = np.array([o.conversions for o in usable], dtype=np.float64)
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        z = (x - mean) / scale
        # Rate with exposure as weight: the same estimate as a Poisson count with log(present) as offset.
        with threadpool_limits(limits=1):  # a tiny fit: threads only add their start-up and spinning
            model = PoissonRegressor(alpha=1e-2, max_iter=1000).fit(z, y / present, sample_weight=present)
        mu = model.predict(z) * present
        free = max(len(y) - z.shape[1] - 1, 1)
        dispersion = float(max(np.sum((y - mu) ** 2 / np.maximum(mu, _EPS)) / free, 1.0))
        return cls(model, with_probability, dispersion, mean, scale, x.min(axis=0), x.max(axis=0))

    def forecast(self, now: ClassEngagement, level: float = 0.8) -> Forecast:
        if now.present == 0:
            return Forecast(0.0, 0, 0, level)
        if self.with_probability and now.mean_probability is None:
            raise ScoringError("this forecaster was fitted with purchase probabilities; the class has none")
        # A log-linear model extrapolates wildly: engagement beyond anything seen before is read as the edge
        # of what was seen, and no more learners can buy than are there.
        x = np.clip(np.array([now.row(self.with_probability)]), self.low, self.high)
        rate = min(float(self.model.predict((x - self.mean) / self.scale)[0]), 1.0)
        mu = rate * now.present
        low, high = _interval(mu, self.dispersion, level)
        return Forecast(mu, min(low, now.present), min(high, now.present), level)


def _interval(mu: float, dispersion: float, level: float) -> tuple[int, int]:
    tail = (1 - level) / 2
    if mu <= 0:
        return 0, 0
    if dispersion <= 1.0 + 1e-9:
        dist = stats.poisson(mu)
    else:
        # Negative binomial with mean mu and variance dispersion * mu.
        dist = stats.nbinom(mu / (dispersion - 1.0), 1.0 / dispersion)
    return int(dist.ppf(tail)), int(dist.ppf(1 - tail))


@dataclass(frozen=True, slots=True)
class Backtest:
    classes: int  # classes forecast (each from the classes before it)
    level: float
    coverage: float  # share of actual conversions inside the interval
    mae: float  # mean absolute error of the expected conversions
    seeds_mae: float  # the seeds' linear regression of conversions on mean engagement, same protocol
    forecasts: tuple[Forecast, ...]
    actual: tuple[int, ...]

    def __str__(self) -> str:
        return (
            f"{self.classes} classes: {self.coverage:.0%} inside the {self.level:.0%} interval, "
            f"mean absolute error {self.mae:.2f} conversions (seeds' linear regression: {self.seeds_mae:.2f})"
        )


def backtest(
    past: Sequence[ClassOutcome], level: float = 0.8, min_history: int = MIN_PAST_CLASSES
) -> Backtest:
    """Rolling origin over classes in time order: class t is forecast from classes 0..t-1 only."""
    with threadpool_limits(limits=1):  # see ConversionForecaster.fit
        return _backtest(past, level, min_history)


def _backtest(past: Sequence[ClassOutcome], level: float, min_history: int) -> Backtest:
    forecasts, actual, seeds_errors = [], [], []
    for t in range(max(min_history, MIN_PAST_CLASSES), len(past)):
        history, now = past[:t], past[t]
        if now.engagement.present == 0:
            continue
        forecasts.append(ConversionForecaster.fit(history).forecast(now.engagement, level))
        actual.append(now.conversions)
        # The seeds' idea as written: sales = a + b * engagement score, by least squares.
        x = np.array([[o.engagement.mean_index] for o in history])
        line = LinearRegression().fit(x, [o.conversions for o in history])
        seeds_errors.append(abs(float(line.predict([[now.engagement.mean_index]])[0]) - now.conversions))
    if not forecasts:
        raise ScoringError(f"a backtest needs more than {max(min_history, MIN_PAST_CLASSES)} past classes")
    inside = [f.low <= a <= f.high for f, a in zip(forecasts, actual, strict=True)]
    errors = [abs(f.expected - a) for f, a in zip(forecasts, actual, strict=True)]
    return Backtest(
        len(forecasts),
        level,
        float(np.mean(inside)),
        float(np.mean(errors)),
        float(np.mean(seeds_errors)),
        tuple(forecasts),
        tuple(actual),
    )
