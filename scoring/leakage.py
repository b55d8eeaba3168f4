"""Leakage check: a single column that alone nearly separates buyers from the rest is probably the answer
written down after the fact (a refund date, a "course access" flag), not a signal known beforehand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from scoring.tabular import Column, ColumnKind

LEAKAGE_AUC = 0.97


@dataclass(frozen=True, slots=True)
class Leak:
    column: str
    auc: float

    def __str__(self) -> str:
        return (
            f"column {self.column!r} alone reaches ROC-AUC {self.auc:.3f}: probable leakage "
            "(is it known before the purchase?); drop it with --drop if so"
        )


def single_column_auc(values: pd.Series, kind: ColumnKind, y: NDArray[np.bool_], seed: int = 0) -> float:
    """How well one column alone ranks the positives first, in either direction (0.5 = not at all)."""
    if kind is ColumnKind.CATEGORICAL:
        score = _out_of_fold_target_rate(
            values.astype("object").where(values.notna(), "(missing)").astype(str), y, seed
        )
    else:
        numbers = values.to_numpy(dtype=np.float64)
        fill = np.nanmedian(numbers) if np.isfinite(numbers).any() else 0.0
        score = np.where(np.isnan(numbers), fill, numbers)
    if np.ptp(score) == 0:
        return 0.5
    auc = float(roc_auc_score(y, score))
    return max(auc, 1.0 - auc)


def _out_of_fold_target_rate(text: pd.Series, y: NDArray[np.bool_], seed: int) -> NDArray[np.float64]:
    # In-sample category means would reward rare categories with a perfect score; out-of-fold ones do not.
    out = np.full(len(y), float(y.mean()))
    splits = min(5, int(min(y.sum(), (~y).sum())))
    if splits < 2:
        return out
    codes, uniques = pd.factorize(text)
    for train, test in StratifiedKFold(splits, shuffle=True, random_state=seed).split(codes, y):
        hits = np.bincount(codes[train], weights=y[train].astype(np.float64), minlength=len(uniques))
        seen = np.bincount(codes[train], minlength=len(uniques)).astype(np.float64)
        prior = float(y[train].mean())
        rate = (hits + prior) / (seen + 1.0)  # one pseudo-row of the prior keeps unseen categories neutral
        out[test] = rate[codes[test]]
    return out


def find_leaks(frame: pd.DataFrame, columns: Sequence[Column], y: NDArray[np.bool_]) -> list[Leak]:
    leaks = [Leak(c.name, single_column_auc(frame[c.name], c.kind, y)) for c in columns]
    return sorted((leak for leak in leaks if leak.auc > LEAKAGE_AUC), key=lambda leak: -leak.auc)
