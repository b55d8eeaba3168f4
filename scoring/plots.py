"""The training report as a picture: ROC curves and calibration (reliability) curves of every candidate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only, never a window: training runs on servers and in tests

import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve

if TYPE_CHECKING:
    from scoring.training import TrainReport


def plot_report(report: TrainReport, path: Path) -> Path:
    """ROC and reliability curves from the out-of-fold predictions (and the held-out rows, if any)."""
    panels: list[tuple[str, NDArray[np.bool_] | None]] = [("cross-validation", None)]
    if report.holdout_y is not None:
        panels.append((f"held out: {report.holdout}", report.holdout_y))
    fig, axes = plt.subplots(len(panels), 2, figsize=(11, 4.8 * len(panels)), squeeze=False)
    for row, (title, holdout_y) in enumerate(panels):
        roc_ax, cal_ax = axes[row]
        for result in report.results:
            y, p = (result.oof_y, result.oof_p) if holdout_y is None else (holdout_y, result.holdout_p)
            if p is None or y.all() or not y.any():
                continue
            fpr, tpr, _ = roc_curve(y, p)
            mark = " (kept)" if result.name == report.chosen else ""
            roc_ax.plot(fpr, tpr, label=f"{result.title}{mark}", linewidth=2 if mark else 1.2)
            observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
            cal_ax.plot(
                predicted, observed, marker="o", label=f"{result.title}{mark}", linewidth=2 if mark else 1.2
            )
        roc_ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
        roc_ax.set(title=f"ROC, {title}", xlabel="false positive rate", ylabel="true positive rate")
        cal_ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
        cal_ax.set(
            title=f"Calibration, {title}",
            xlabel="predicted probability",
            ylabel="observed rate",
            xlim=(0, 1),
            ylim=(0, 1),
        )
        for ax in (roc_ax, cal_ax):
            ax.legend(loc="lower right", fontsize=8)
            ax.grid(alpha=0.3)
    fig.suptitle(
        f"{report.source}: {report.label} ({report.rows:,} rows, "
        f"{report.positives / max(report.rows, 1):.0%} positive)"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
