"""Why a learner got their score: each feature's push up or down, in log-odds.

Method: centred partial dependence, i.e. the first-order (additive) part of the trained model. At training
time, for every feature and a grid of its values, the model's mean log-odds over a sample of learners is
computed with that feature set to the value; a learner's contribution from the feature is then the curve at
their value minus the curve's average over learners. Why this one:

- it explains the model actually deployed (boosting or logistic alike), not a stand-in;
- for logistic regression it is exact (the log-odds are additive: contribution = coefficient × (x - mean));
  for boosted trees it is the additive approximation, which leaves interactions unattributed but never gets
  a feature's direction wrong on average;
- explaining is a table lookup (an interpolation per feature), so a million learners are explained in well
  under a second, where exact tree SHAP values would need a library we do not have and minutes of work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from scoring.tabular import Column, ColumnKind

GRID_POINTS = 16
SAMPLE_ROWS = 400
_EPS = 1e-6

PredictProba = Callable[[pd.DataFrame], NDArray[np.float64]]


def logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    q = np.clip(p, _EPS, 1 - _EPS)
    result: NDArray[np.float64] = np.log(q / (1 - q))
    return result


@dataclass(frozen=True, slots=True)
class FeatureEffect:
    """The centred partial-dependence curve of one feature."""

    name: str
    kind: ColumnKind
    grid: NDArray[np.float64] | None  # numeric and boolean features: sorted grid values
    categories: tuple[str, ...]  # categorical features: the categories the curve knows
    effect: NDArray[np.float64]  # log-odds at each grid value or category
    missing_effect: float  # log-odds when the value is missing (or an unknown category)

    def at(self, values: pd.Series) -> NDArray[np.float64]:
        if self.grid is not None:
            x = values.to_numpy(dtype=np.float64)
            out = np.interp(np.nan_to_num(x, nan=self.grid[0]), self.grid, self.effect)
            return np.where(np.isnan(x), self.missing_effect, out)
        lookup = dict(zip(self.categories, self.effect, strict=True))
        text = values.astype("object")
        mapped = text.map(
            lambda v: lookup.get(str(v), self.missing_effect) if isinstance(v, str) else self.missing_effect
        )
        return mapped.to_numpy(dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Explainer:
    effects: tuple[FeatureEffect, ...]

    @property
    def features(self) -> list[str]:
        return [e.name for e in self.effects]

    def contributions(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """Learners x features: each feature's push on the log-odds (positive raises the probability)."""
        return (
            np.column_stack([e.at(frame[e.name]) for e in self.effects])
            if self.effects
            else np.zeros((len(frame), 0))
        )


def _grid(values: pd.Series) -> NDArray[np.float64]:
    x = values.to_numpy(dtype=np.float64)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return np.array([0.0])
    grid = np.unique(np.quantile(x, np.linspace(0, 1, GRID_POINTS)))
    # Integer-valued features (counts) get integer grid points, so that "2 questions" is a point, not a blend.
    if np.all(np.mod(x, 1) == 0):
        grid = np.unique(np.round(grid))
    return grid.astype(np.float64)


def fit_explainer(
    predict: PredictProba, frame: pd.DataFrame, columns: Sequence[Column], seed: int = 0
) -> Explainer:
    """Partial-dependence curves of every feature column, from one batched prediction."""
    rng = np.random.default_rng(seed)
    sample = frame.iloc[rng.choice(len(frame), size=min(SAMPLE_ROWS, len(frame)), replace=False)].reset_index(
        drop=True
    )
    plans: list[tuple[Column, NDArray[np.float64] | None, list[object]]] = []
    copies: list[pd.DataFrame] = []
    for column in columns:
        values = frame[column.name]
        if column.kind is ColumnKind.CATEGORICAL:
            counts = values.dropna().astype(str).value_counts()
            categories: list[object] = list(counts.index[:30])
            points: list[object] = [*categories, np.nan]
            grid = None
        else:
            grid = _grid(values)
            points = [*grid.tolist(), np.nan]
            categories = []
        plans.append((column, grid, categories))
        for point in points:
            copy = sample.copy()
            kind = object if column.kind is ColumnKind.CATEGORICAL else np.float64
            copy[column.name] = np.full(len(copy), point, dtype=kind)
            copies.append(copy)
    if not copies:
        return Explainer(())
    logits = logit(predict(pd.concat(copies, ignore_index=True)))
    means = logits.reshape(len(copies), len(sample)).mean(axis=1)
    effects, at = [], 0
    for column, grid, categories in plans:
        size = (len(grid) if grid is not None else len(categories)) + 1
        curve, missing = means[at : at + size - 1], float(means[at + size - 1])
        at += size
        effect = FeatureEffect(
            column.name, column.kind, grid, tuple(str(c) for c in categories), curve, missing
        )
        # Centre on the learners' own values, so contributions average to zero over the sample.
        centre = float(np.mean(effect.at(sample[column.name])))
        effects.append(
            FeatureEffect(column.name, column.kind, grid, effect.categories, curve - centre, missing - centre)
        )
    return Explainer(tuple(effects))


@dataclass(frozen=True, slots=True)
class Signal:
    feature: str
    contribution: float  # log-odds
    words: str

    @property
    def raises(self) -> bool:
        return self.contribution > 0

    def __str__(self) -> str:
        return f"{self.words} ({'+' if self.raises else '−'})"


def strongest(
    contributions: NDArray[np.float64], up: int, down: int, floor: float = 0.05
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Per learner, the columns that raised the score most and lowered it most, strongest first (-1 pads).

    Pushes smaller than `floor` log-odds are not worth a word. A few passes of argmax/argmin instead of a
    sort: learners have about a dozen signals and only three are wanted.
    """
    n, d = contributions.shape
    rows = np.arange(n)
    picked = []
    for count, sign in ((up, 1.0), (down, -1.0)):
        work = sign * contributions
        slots = np.full((n, count), -1, dtype=np.intp)
        for k in range(min(count, d)):
            best = work.argmax(axis=1)
            value = work[rows, best]
            slots[:, k] = np.where(value > floor, best, -1)
            work[rows, best] = -np.inf
        picked.append(slots)
    return picked[0], picked[1]
