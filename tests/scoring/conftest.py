"""Fixtures of the scoring tests: small generated tables and a store model trained once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.artifact import TrainedModel, load_model
from scoring.datasets.synthetic import SyntheticCourse, generate
from scoring.store_training import train_from_store


def engagement_table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """An engagement-versus-purchase table of the kind `train` must handle, with no telling column names."""
    rng = np.random.default_rng(seed)
    watch = rng.uniform(0, 60, n)
    questions = rng.poisson(1.0, n)
    platform = rng.choice(["telegram", "discord"], n)
    logit = -3.0 + 0.07 * watch + 0.6 * questions + np.where(platform == "telegram", 0.4, 0.0)
    bought = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "customer": [f"c{i:05d}" for i in range(n)],
            "minutes_watched": watch.round(1),
            "questions": questions,
            "platform": platform,
            "month": rng.choice(["January", "February", "March"], n),
            "newsletter": rng.choice(["yes", "no"], n),
            "signup_day": rng.integers(0, 200, n),
            "bought": np.where(bought, "TRUE", "FALSE"),
        }
    )


@pytest.fixture(scope="session")
def course() -> SyntheticCourse:
    return generate(1500, classes=6, seed=5, course_id="py101")


@pytest.fixture(scope="session")
def store_model(course: SyntheticCourse, tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    path: Path = tmp_path_factory.mktemp("models") / "store.joblib"
    train_from_store(course.history, path, folds=3, candidates=["logistic"], plot=False)
    return load_model(path)
