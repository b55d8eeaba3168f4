"""A trained model on disk: the fitted estimator (joblib) and its metadata (JSON, readable by people).

The metadata says what the model expects (feature names and types), how good it was (metrics), what it was
trained on (a sha256 of the data), with what (library versions) and how it decides (the threshold). A model
given other columns than those it was trained on refuses to predict and names the difference.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
from numpy.typing import NDArray

from scoring.errors import FeatureMismatch, ScoringError
from scoring.explain import Explainer
from scoring.tabular import Column, ColumnKind, coerce_features, is_boolean_like, is_numeric_like

FORMAT = 1
STORE_FEATURES = "classpulse-store"  # the `source` of a model trained on ClassPulse's own store


def libraries() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "joblib": joblib.__version__,
    }


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_frame(frame: pd.DataFrame) -> str:
    """A hash of a table's content (for histories that never were a file, such as the store's)."""
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


@dataclass
class TrainedModel:
    estimator: Any  # a fitted, calibrated scikit-learn classifier taking the coerced feature frame
    columns: list[Column]
    explainer: Explainer
    threshold: float
    meta: dict[str, Any] = field(default_factory=dict)
    # Columns of the training table that are not features and may be present when scoring (label, id, ...).
    ignorable: tuple[str, ...] = ()

    @property
    def features(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def source(self) -> str:
        return str(self.meta.get("source", ""))

    def check(self, frame: pd.DataFrame) -> None:
        """Refuse a frame whose columns differ from the training features (missing, extra, retyped)."""
        given = [str(c) for c in frame.columns]
        missing = [c.name for c in self.columns if c.name not in given]
        known = set(self.features) | set(self.ignorable)
        extra = [c for c in given if c not in known]
        retyped = []
        for column in self.columns:
            if column.name not in given:
                continue
            values = frame[column.name]
            if column.kind is ColumnKind.NUMERIC and not is_numeric_like(values):
                retyped.append(f"{column.name} (numeric, given text)")
            elif column.kind is ColumnKind.BOOLEAN and not is_boolean_like(values):
                retyped.append(f"{column.name} (boolean, given other values)")
        if missing or extra or retyped:
            raise FeatureMismatch(missing, extra, retyped)

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        self.check(frame)
        return coerce_features(frame, self.columns)

    def predict_proba(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """Calibrated purchase probabilities for the rows of `frame` (checked against the features first)."""
        return self.predict_prepared(self.prepare(frame))

    def predict_prepared(self, features: pd.DataFrame) -> NDArray[np.float64]:
        proba: NDArray[np.float64] = self.estimator.predict_proba(features)[:, 1].astype(np.float64)
        return proba


def check_writable(path: Path) -> None:
    """Raise ScoringError unless a model can be saved at `path` (checked before training, not after)."""
    if path.is_dir():
        raise ScoringError(f"{path}: is a folder; give a file name such as {path / 'model.joblib'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise ScoringError(f"{path}: cannot save a model here: {exc.strerror}") from None
    os.close(fd)
    Path(tmp).unlink()


def _atomic_write(path: Path, write: Any) -> None:
    """Write through a temporary file and rename, so a crash never leaves half a model behind."""
    check_writable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def metadata_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def save_model(model: TrainedModel, path: Path) -> Path:
    """Save the model at `path` (joblib) and its metadata beside it (same name, .json)."""
    meta = dict(model.meta)
    meta.update(
        {
            "format": FORMAT,
            "features": [
                {"name": c.name, "type": c.kind.value, **({"note": c.note} if c.note else {})}
                for c in model.columns
            ],
            "ignorable": list(model.ignorable),
            "threshold": model.threshold,
            "libraries": libraries(),
        }
    )
    meta.setdefault("created", datetime.now(UTC).isoformat(timespec="seconds"))
    model.meta = meta
    _atomic_write(
        path,
        lambda tmp: joblib.dump(
            {"format": FORMAT, "estimator": model.estimator, "explainer": model.explainer}, tmp, compress=3
        ),
    )
    meta["model_sha256"] = sha256_file(path)
    _atomic_write(
        metadata_path(path),
        lambda tmp: tmp.write_text(json.dumps(meta, indent=2, default=_json) + "\n", encoding="utf-8"),
    )
    return path


def _json(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def load_model(path: Path) -> TrainedModel:
    """The model saved at `path`; a one-line ScoringError if it is missing, altered or from another format."""
    meta_file = metadata_path(path)
    if not path.exists():
        raise ScoringError(f"{path}: no trained model there (train one first)")
    if not meta_file.exists():
        raise ScoringError(f"{path}: its metadata {meta_file.name} is missing")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScoringError(f"{meta_file}: unreadable metadata ({exc})") from None
    if meta.get("format") != FORMAT:
        raise ScoringError(f"{path}: model format {meta.get('format')!r}, this version reads format {FORMAT}")
    if meta.get("model_sha256") != sha256_file(path):
        raise ScoringError(f"{path}: the model file does not match its metadata (replaced or damaged)")
    trained_with = str(meta.get("libraries", {}).get("scikit-learn", ""))
    if trained_with.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        raise ScoringError(
            f"{path}: trained with scikit-learn {trained_with}, this is {sklearn.__version__}; "
            "retrain the model"
        )
    try:
        payload = joblib.load(path)
    except Exception as exc:  # unpickling can fail in many ways; none is the user's to debug
        raise ScoringError(f"{path}: cannot load the model ({type(exc).__name__}: {exc})") from None
    columns = [Column(f["name"], ColumnKind(f["type"]), f.get("note", "")) for f in meta["features"]]
    return TrainedModel(
        payload["estimator"],
        columns,
        payload["explainer"],
        float(meta["threshold"]),
        meta,
        tuple(meta.get("ignorable", ())),
    )
