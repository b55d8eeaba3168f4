"""The model-quality benchmark runs, tiny (the README's figures come from running it in full)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench import models

OULAD_SAMPLE = Path(__file__).parents[1] / "data" / "oulad"


def test_model_benchmark_reports_oulad_and_synthetic_figures() -> None:
    figures = models.main(
        [
            "--oulad",
            str(OULAD_SAMPLE),
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
    # A tenth of the learners: trained on 2013J, tested on 2014J, still far better than chance.
    assert 0.6 < figures["oulad60_logistic_roc_auc"] < 1.0
    assert 0.6 < figures["synthetic_roc_auc"] <= 1.0
    assert 0.0 <= figures["forecast_coverage"] <= 1.0


def test_an_empty_oulad_folder_skips_the_real_learners() -> None:
    figures = models.main(["--oulad", "", "--synthetic", "300", "--folds", "2", "--candidates", "logistic"])

    assert not any(name.startswith("oulad") for name in figures)
    assert "synthetic_roc_auc" in figures


def test_a_missing_oulad_folder_is_named_without_a_traceback(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.models", "--oulad", str(tmp_path / "nowhere"), "--synthetic", "0"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert run.returncode == 2
    assert "nowhere/studentInfo.csv: missing" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
