"""How good a purchase-probability model is: ranking, precision where it matters, and calibration."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import average_precision_score, f1_score, precision_recall_curve, roc_auc_score

METRICS = ("roc_auc", "pr_auc", "f1", "lift10", "ece")
METRIC_TITLES = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "f1": "F1@thr",
    "lift10": "lift top 10 %",
    "ece": "calibration error",
}
HIGHER_IS_BETTER = {"roc_auc": True, "pr_auc": True, "f1": True, "lift10": True, "ece": False}

Probs = NDArray[np.float64]
Labels = NDArray[np.bool_]


def best_f1_threshold(y: Labels, p: Probs) -> float:
    """The probability cut that maximises F1 on these predictions (the midpoint between two scores)."""
    if y.all() or not y.any():
        return 0.5
    precision, recall, thresholds = precision_recall_curve(y, p)
    f1 = np.divide(
        2 * precision * recall, precision + recall, out=np.zeros_like(precision), where=precision + recall > 0
    )
    return float(thresholds[int(np.argmax(f1[:-1]))])


def lift_at(y: Labels, p: Probs, share: float = 0.1) -> float:
    """Positive rate among the top `share` by probability, over the overall positive rate."""
    n = max(round(len(y) * share), 1)
    top = np.argsort(-p, kind="stable")[:n]
    base = float(y.mean())
    return float(y[top].mean() / base) if base > 0 else float("nan")


def expected_calibration_error(y: Labels, p: Probs, bins: int = 10) -> float:
    """Mean |observed rate - mean probability| over ten equal-width probability bins, weighted by size."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    counts = np.bincount(which, minlength=bins).astype(np.float64)
    observed = np.bincount(which, weights=y.astype(np.float64), minlength=bins)
    predicted = np.bincount(which, weights=p, minlength=bins)
    used = counts > 0
    gap = np.abs(observed[used] - predicted[used]) / counts[used]
    return float(np.sum(gap * counts[used]) / len(p))


def evaluate(y: Labels, p: Probs, threshold: float) -> dict[str, float]:
    """Every metric of METRICS; ranking metrics are NaN when the rows hold a single class."""
    both = bool(y.any() and not y.all())
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "f1": float(f1_score(y, p >= threshold, zero_division=0.0)),
        "lift10": lift_at(y, p),
        "ece": expected_calibration_error(y, p),
    }


@dataclass(frozen=True, slots=True)
class Summary:
    mean: float
    std: float

    def __str__(self) -> str:
        if np.isnan(self.mean):
            return "n/a"
        return f"{self.mean:.3f} ± {self.std:.3f}"


def summarise(per_fold: list[dict[str, float]]) -> dict[str, Summary]:
    out = {}
    for name in METRICS:
        values = np.array([fold[name] for fold in per_fold], dtype=np.float64)
        values = values[~np.isnan(values)]
        out[name] = (
            Summary(float(values.mean()), float(values.std())) if len(values) else Summary(np.nan, np.nan)
        )
    return out
