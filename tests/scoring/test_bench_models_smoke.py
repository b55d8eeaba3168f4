"""The model-quality benchmark runs, tiny (the README's figures come from running it in full)."""

from __future__ import annotations

from bench import models
from scoring.datasets import oulad


def test_model_benchmark_reports_oulad_and_synthetic_figures() -> None:
    use_oulad = oulad.DEFAULT_DIR.is_dir()  # the shared data sits beside the repository, not in it
    figures = models.main(
        [
            "--oulad",
            str(oulad.DEFAULT_DIR) if use_oulad else "",
            "--cutoffs",
            "60",
            "--synthetic",
            "600",
            "--folds",
            "2",
            "--candidates",
            "logistic",
        ]
    )
    if use_oulad:
        assert 0.6 < figures["oulad60_logistic_roc_auc"] < 1.0
    assert 0.6 < figures["synthetic_roc_auc"] <= 1.0
    assert 0.0 <= figures["forecast_coverage"] <= 1.0
