"""Cross-validation folds: stratified k-fold, or expanding windows in time when there is a time column."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import StratifiedKFold

from scoring.errors import ScoringError

Index = NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Folds:
    folds: list[tuple[Index, Index]]  # (train rows, test rows)
    description: str
    notes: tuple[str, ...] = ()


def stratified_folds(y: NDArray[np.bool_], k: int, seed: int) -> Folds:
    minority = int(min(y.sum(), (~y).sum()))
    k_used = min(k, minority)
    if k_used < 2:
        raise ScoringError(
            f"only {minority} rows of the rarer class: at least 2 are needed to cross-validate"
        )
    splitter = StratifiedKFold(n_splits=k_used, shuffle=True, random_state=seed)
    folds = [
        (train.astype(np.intp), test.astype(np.intp)) for train, test in splitter.split(np.zeros(len(y)), y)
    ]
    notes = (
        (f"{k} folds asked, {k_used} possible with {minority} rows of the rarer class",) if k_used < k else ()
    )
    return Folds(folds, f"stratified {k_used}-fold cross-validation", notes)


def time_folds(keys: NDArray[np.float64], y: NDArray[np.bool_], k: int) -> Folds:
    """Expanding windows: fold i trains on the oldest blocks and tests on the next one, never on the past.

    Rows are cut into k+1 consecutive blocks of about equal size; rows sharing a time value stay in one block
    so that no test row is older than a training row. A test block holding a single class is skipped (its
    ranking metrics would be undefined) and said so.
    """
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    distinct = np.unique(sorted_keys)
    if len(distinct) < 2:
        raise ScoringError("the time column has a single value: there is no past to train on")
    blocks = min(k + 1, len(distinct))
    # Block boundaries at row quantiles, moved to the first row of a new time value.
    wanted = [round(len(keys) * i / blocks) for i in range(1, blocks)]
    cuts = sorted(
        {int(np.searchsorted(sorted_keys, sorted_keys[min(w, len(keys) - 1)], side="left")) for w in wanted}
    )
    cuts = [c for c in cuts if 0 < c < len(keys)]
    edges = [0, *cuts, len(keys)]
    folds: list[tuple[Index, Index]] = []
    notes: list[str] = []
    for i in range(1, len(edges) - 1):
        train, test = order[: edges[i]], order[edges[i] : edges[i + 1]]
        if y[test].all() or not y[test].any() or y[train].all() or not y[train].any():
            notes.append(f"time block {i + 1} skipped: a single class in its training or test rows")
            continue
        folds.append((train.astype(np.intp), test.astype(np.intp)))
    if not folds:
        raise ScoringError("no time-ordered fold has both classes in its training and test rows")
    if len(folds) < k:
        notes.insert(0, f"{k} folds asked, {len(folds)} possible in time order")
    return Folds(
        folds,
        f"time-ordered expanding windows, {len(folds)} fold{'s' if len(folds) > 1 else ''}",
        tuple(notes),
    )
