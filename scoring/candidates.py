"""The candidate models compared by training, each with its preprocessing and probability calibration.

- "knn": the seeds' baseline, k-nearest neighbours with k = 3 (on standardised features, which the seeds
  forgot: without scaling the largest-valued column decides alone).
- "logistic": logistic regression, the interpretable reference.
- "boosting": scikit-learn's HistGradientBoosting, which takes missing values and categories natively.

Each is wrapped in CalibratedClassifierCV so that a predicted 0.3 means "about 3 in 10 such learners buy".
`ensemble=False`: calibration is learned on cross-validated predictions and one model is kept, so predicting
costs one model, not one per calibration fold (it matters when a million learners are rescored).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from scoring.tabular import Column, ColumnKind

CANDIDATES = ("knn", "logistic", "boosting")
TITLES = {
    "knn": "KNN k=3 (seeds' baseline)",
    "logistic": "logistic regression",
    "boosting": "gradient boosting",
}
# KNN predicts by comparing with every training row: past this size it is too slow to be a fair candidate.
KNN_MAX_ROWS = 200_000
# Isotonic calibration needs many rows per calibration fold (with few it is a coarse staircase of tied
# probabilities); below this, Platt scaling (sigmoid) is steadier.
ISOTONIC_MIN_ROWS = 10_000
CALIBRATION_FOLDS = 3


def _split(columns: Sequence[Column]) -> tuple[list[str], list[str], list[str]]:
    numeric = [c.name for c in columns if c.kind is ColumnKind.NUMERIC]
    boolean = [c.name for c in columns if c.kind is ColumnKind.BOOLEAN]
    categorical = [c.name for c in columns if c.kind is ColumnKind.CATEGORICAL]
    return numeric, boolean, categorical


def _dense_preprocessing(columns: Sequence[Column]) -> ColumnTransformer:
    """Scaled numbers (with a missing-value flag), 0/1 booleans and one-hot categories."""
    numeric, boolean, categorical = _split(columns)
    parts: list[tuple[str, Pipeline | str, list[str]]] = []
    if numeric:
        parts.append(
            (
                "num",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    StandardScaler(),
                ),
                numeric,
            )
        )
    if boolean:
        parts.append(
            (
                "bool",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent", keep_empty_features=True), StandardScaler()
                ),
                boolean,
            )
        )
    if categorical:
        parts.append(
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)", keep_empty_features=True),
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        min_frequency=5,
                        max_categories=30,
                        sparse_output=False,
                    ),
                ),
                categorical,
            )
        )
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


def _tree_preprocessing(columns: Sequence[Column]) -> tuple[ColumnTransformer, list[bool]]:
    """Numbers and booleans as they are (missing stays missing); categories as ordinal codes."""
    numeric, boolean, categorical = _split(columns)
    parts: list[tuple[str, OrdinalEncoder | str, list[str]]] = []
    if numeric or boolean:
        parts.append(("num", "passthrough", numeric + boolean))
    if categorical:
        parts.append(
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                    max_categories=200,
                    min_frequency=5,
                ),
                categorical,
            )
        )
    mask = [False] * len(numeric + boolean) + [True] * len(categorical)
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0), mask


def make_candidate(name: str, columns: Sequence[Column], n_rows: int, seed: int) -> ClassifierMixin:
    """A fresh, unfitted, calibrated candidate model for a table with these feature columns."""
    if name == "knn":
        base: Pipeline = Pipeline(
            [("prep", _dense_preprocessing(columns)), ("model", KNeighborsClassifier(n_neighbors=3))]
        )
    elif name == "logistic":
        base = Pipeline(
            [("prep", _dense_preprocessing(columns)), ("model", LogisticRegression(C=1.0, max_iter=2000))]
        )
    elif name == "boosting":
        prep, mask = _tree_preprocessing(columns)
        model = HistGradientBoostingClassifier(
            learning_rate=0.08,
            max_iter=300,
            max_leaf_nodes=31,
            min_samples_leaf=20,
            l2_regularization=1.0,
            early_stopping=True,
            validation_fraction=0.15,
            n_iter_no_change=15,
            random_state=seed,
            categorical_features=mask if any(mask) else None,
        )
        base = Pipeline([("prep", prep), ("model", model)])
    else:
        raise ValueError(f"unknown candidate {name!r}; known: {', '.join(CANDIDATES)}")
    method = "isotonic" if n_rows >= ISOTONIC_MIN_ROWS else "sigmoid"
    calibrated: ClassifierMixin = CalibratedClassifierCV(
        clone(base), method=method, cv=CALIBRATION_FOLDS, ensemble=False
    )
    return calibrated


def usable_candidates(n_rows: int, wanted: Sequence[str] = CANDIDATES) -> tuple[list[str], list[str]]:
    """The candidates worth trying on this many rows, and notes on the ones left out."""
    names, notes = [], []
    for name in wanted:
        if name not in CANDIDATES:
            raise ValueError(f"unknown candidate {name!r}; known: {', '.join(CANDIDATES)}")
        if name == "knn" and n_rows > KNN_MAX_ROWS:
            notes.append(f"KNN left out: {n_rows:,} rows is past its {KNN_MAX_ROWS:,}-row limit")
            continue
        names.append(name)
    return names, notes
