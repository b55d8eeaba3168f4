"""Training: compare the candidates by cross-validation, keep the best, save it with its metadata.

    report = train(Path("history.csv"), "bought", "user", "signup_day", [], Path("models/purchase.joblib"))

How the decision threshold is chosen: the probability cut that maximises F1. Fold k's F1 is measured at the
cut that maximises F1 on the out-of-fold predictions of the *other* folds, so no fold grades itself; the
saved model uses the cut that maximises F1 on all out-of-fold predictions. The model is chosen by its mean
PR-AUC across folds (precision among the learners it ranks first is what a sales team acts on); a held-out
test set, when given, is reported but never used to choose.
"""

from __future__ import annotations

import time as clock
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from threadpoolctl import threadpool_limits

from scoring import candidates as cands
from scoring.artifact import (
    TrainedModel,
    check_writable,
    libraries,
    save_model,
    sha256_file,
    sha256_frame,
)
from scoring.errors import ScoringError
from scoring.explain import fit_explainer
from scoring.leakage import Leak, find_leaks
from scoring.metrics import Summary, best_f1_threshold, evaluate, summarise
from scoring.splits import Folds, stratified_folds, time_folds
from scoring.tabular import (
    Column,
    coerce_features,
    detect_columns,
    encode_label,
    label_rows,
    parse_where,
    read_table,
    require_columns,
    time_order,
)


@dataclass
class CandidateResult:
    name: str
    per_fold: list[dict[str, float]]
    summary: dict[str, Summary]
    oof_y: NDArray[np.bool_]  # pooled out-of-fold labels and probabilities (for the plots)
    oof_p: NDArray[np.float64]
    holdout: dict[str, float] | None = None
    holdout_p: NDArray[np.float64] | None = None

    @property
    def title(self) -> str:
        return cands.TITLES[self.name]


@dataclass
class TrainReport:
    source: str
    rows: int
    positives: int
    label: str
    positive_values: tuple[str, ...]
    columns: list[Column]  # every column looked at, features and dropped ones
    excluded: dict[str, str]  # columns left out by the caller's flags: name -> why
    split: Folds
    results: list[CandidateResult]
    chosen: str
    threshold: float
    leaks: list[Leak]
    notes: list[str] = field(default_factory=list)
    holdout: str = ""  # description of the held-out test rows, if any
    holdout_rows: int = 0
    holdout_positives: int = 0
    holdout_y: NDArray[np.bool_] | None = None
    model_path: Path | None = None
    plot_path: Path | None = None
    seconds: float = 0.0

    @property
    def features(self) -> list[Column]:
        return [c for c in self.columns if c.is_feature]

    @property
    def dropped(self) -> list[Column]:
        return [c for c in self.columns if not c.is_feature]

    def result(self, name: str) -> CandidateResult:
        return next(r for r in self.results if r.name == name)


THRESHOLD_RULE = (
    "the cut maximising F1 on out-of-fold predictions (each fold graded at the cut chosen on the other folds)"
)


def train(
    data: Path,
    label: str,
    id: str | None,
    time: str | None,
    drop: Sequence[str],
    out: Path | None,
    *,
    positive: Sequence[str] | None = None,
    test_where: str | None = None,
    folds: int = 5,
    seed: int = 0,
    candidates: Sequence[str] = cands.CANDIDATES,
    plot: bool = True,
    console: Console | None = None,
) -> TrainReport:
    """Train on a CSV or Parquet history and save the chosen model at `out` (metadata beside it, .json).

    With `out` None nothing is saved: the report alone (an evaluation).
    """
    frame = read_table(data)
    return train_frame(
        frame,
        label,
        id,
        time,
        drop,
        out,
        positive=positive,
        test_where=test_where,
        folds=folds,
        seed=seed,
        candidates=candidates,
        plot=plot,
        console=console,
        source=str(data),
        data_sha256=sha256_file(data),
    )


def train_frame(
    frame: pd.DataFrame,
    label: str,
    id: str | None,
    time: str | None,
    drop: Sequence[str],
    out: Path | None,
    *,
    positive: Sequence[str] | None = None,
    test_where: str | None = None,
    folds: int = 5,
    seed: int = 0,
    candidates: Sequence[str] = cands.CANDIDATES,
    plot: bool = True,
    console: Console | None = None,
    source: str = "table",
    data_sha256: str | None = None,
    meta: Mapping[str, Any] | None = None,
    columns: Sequence[Column] | None = None,
) -> TrainReport:
    """Train on a frame already in memory; `columns` skips type detection (the store's features are known)."""
    if out is not None:
        check_writable(out)  # now, not after minutes of training
    # One thread per fit: on a small or busy machine OpenMP's spinning threads make boosting many times
    # slower than a single thread (measured: 1.6 s against 0.06 s for a 1,000-row fit on 2 busy cores).
    with threadpool_limits(limits=1):
        try:
            return _train_frame(
                frame,
                label,
                id,
                time,
                drop,
                out,
                positive=positive,
                test_where=test_where,
                folds=folds,
                seed=seed,
                candidates=candidates,
                plot=plot,
                console=console,
                source=source,
                data_sha256=data_sha256,
                meta=meta,
                columns=columns,
            )
        except ValueError as exc:
            # scikit-learn refuses folds that hold too few of one class (time-ordered windows can).
            if "fold" not in str(exc) and "class" not in str(exc):
                raise
            raise ScoringError(f"{source}: too little data to cross-validate: {exc}") from None


def _train_frame(
    frame: pd.DataFrame,
    label: str,
    id: str | None,
    time: str | None,
    drop: Sequence[str],
    out: Path | None,
    *,
    positive: Sequence[str] | None,
    test_where: str | None,
    folds: int,
    seed: int,
    candidates: Sequence[str],
    plot: bool,
    console: Console | None,
    source: str,
    data_sha256: str | None,
    meta: Mapping[str, Any] | None,
    columns: Sequence[Column] | None,
) -> TrainReport:
    started = clock.perf_counter()
    if frame.empty:
        raise ScoringError(f"{source}: the table has no rows")
    if folds < 2:
        raise ScoringError(f"--folds {folds}: at least 2 folds are needed")
    require_columns(frame, [label], "label")
    for flag, names in (
        ("--id", [id] if id else []),
        ("--time", [time] if time else []),
        ("--drop", list(drop)),
    ):
        require_columns(frame, names, flag)
    excluded = {label: "label"}
    if id:
        excluded[id] = "id (--id)"
    if time:
        excluded[time] = "time (--time)"
    excluded.update({d: "dropped (--drop)" for d in drop if d not in excluded})

    notes: list[str] = []
    held_out = parse_where(frame, test_where) if test_where else np.zeros(len(frame), dtype=np.bool_)
    if test_where:
        where_column = test_where.partition("=")[0].strip()
        excluded.setdefault(where_column, "split (--test-where)")
    labelled = label_rows(frame, label)
    frame = frame.loc[labelled].reset_index(drop=True)
    held_out = held_out[labelled]
    target = encode_label(frame, label, positive)
    y = target.y
    if target.dropped_missing:
        notes.append(f"{target.dropped_missing} rows without a label were left out")

    detected = list(columns) if columns is not None else detect_columns(frame, skip=list(excluded))
    features = [c for c in detected if c.is_feature]
    if not features:
        raise ScoringError(
            f"{source}: no usable feature column is left (all were identifiers, empty or excluded)"
        )
    x = coerce_features(frame, features)

    train_rows = np.flatnonzero(~held_out)
    test_rows = np.flatnonzero(held_out)
    y_train = y[train_rows]
    if y_train.all() or not y_train.any():
        raise ScoringError(f"{source}: the training rows hold a single class of {label!r}: nothing to learn")
    rarest = int(min(y_train.sum(), len(y_train) - y_train.sum()))
    # Each training fold is calibrated by an inner cross-validation: every fold needs a few of each class.
    needed = folds * cands.CALIBRATION_FOLDS
    if rarest < needed:
        raise ScoringError(
            f"{source}: only {rarest} training rows of the rarer class of {label!r}; {folds}-fold validation "
            f"with calibration needs at least {needed} (fewer --folds, or more history)"
        )
    if len(test_rows) and (y[test_rows].all() or not y[test_rows].any()):
        notes.append("the held-out rows hold a single class: their ranking metrics are undefined")

    if time:
        keys = time_order(frame, time)
        split = time_folds(keys.keys[train_rows], y_train, folds)
        notes.append(f"time order of {time!r}: {keys.note}")
    else:
        split = stratified_folds(y_train, folds, seed)
    names, left_out = cands.usable_candidates(len(train_rows), candidates)
    notes.extend(left_out)
    notes.extend(split.notes)
    x_train = x.iloc[train_rows].reset_index(drop=True)
    leaks = find_leaks(x_train, features, y_train)

    fits = len(names) * len(split.folds) + (len(names) if len(test_rows) else 1)
    results: list[CandidateResult] = []
    with _progress(console) as progress:
        task = progress.add_task("training", total=fits)
        for name in names:
            fold_p: list[NDArray[np.float64]] = []
            for train_idx, test_idx in split.folds:
                progress.update(
                    task, description=f"{cands.TITLES[name]}: fold {len(fold_p) + 1}/{len(split.folds)}"
                )
                model = cands.make_candidate(name, features, len(train_idx), seed)
                model.fit(x_train.iloc[train_idx], y_train[train_idx])
                fold_p.append(model.predict_proba(x_train.iloc[test_idx])[:, 1])
                progress.advance(task)
            results.append(_grade(name, split, y_train, fold_p))
        chosen = max(
            results,
            key=lambda r: (
                np.nan_to_num(r.summary["pr_auc"].mean, nan=-1.0),
                np.nan_to_num(r.summary["roc_auc"].mean, nan=-1.0),
            ),
        )
        final_models = {}
        for result in results if len(test_rows) else [chosen]:
            progress.update(task, description=f"{result.title}: fitting on all training rows")
            model = cands.make_candidate(result.name, features, len(train_rows), seed)
            model.fit(x_train, y_train)
            final_models[result.name] = model
            progress.advance(task)

    threshold = best_f1_threshold(chosen.oof_y, chosen.oof_p)
    for result in results:
        if len(test_rows):
            p = final_models[result.name].predict_proba(x.iloc[test_rows])[:, 1]
            result.holdout = evaluate(y[test_rows], p, best_f1_threshold(result.oof_y, result.oof_p))
            result.holdout_p = p
    final = final_models[chosen.name]
    report = TrainReport(
        source=source,
        rows=len(train_rows),
        positives=int(y_train.sum()),
        label=label,
        positive_values=target.positive,
        columns=detected,
        excluded=excluded,
        split=split,
        results=results,
        chosen=chosen.name,
        threshold=threshold,
        leaks=leaks,
        notes=notes,
    )
    if len(test_rows):
        report.holdout = test_where or ""
        report.holdout_rows = len(test_rows)
        report.holdout_positives = int(y[test_rows].sum())
        report.holdout_y = y[test_rows]
    if out is not None:
        explainer = fit_explainer(lambda f: final.predict_proba(f)[:, 1], x_train, features, seed)
        trained = TrainedModel(
            estimator=final,
            columns=features,
            explainer=explainer,
            threshold=threshold,
            meta={
                **(meta or {}),
                "source": (meta or {}).get("source", source),
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "model": chosen.name,
                "label": {
                    "column": label,
                    "positive": list(target.positive),
                    "negative": list(target.negative),
                },
                "id": id,
                "time": time,
                "dropped": list(drop),
                "test_where": test_where,
                "detected": [
                    {"name": c.name, "type": c.kind.value, "note": c.note}
                    for c in detected
                    if not c.is_feature
                ],
                "data_sha256": data_sha256 or sha256_frame(frame),
                "rows": len(train_rows),
                "positives": int(y_train.sum()),
                "split": split.description,
                "threshold_rule": THRESHOLD_RULE,
                "metrics": {
                    r.name: {k: {"mean": v.mean, "std": v.std} for k, v in r.summary.items()} for r in results
                },
                "holdout_metrics": {r.name: r.holdout for r in results if r.holdout is not None},
                "libraries": libraries(),
            },
            ignorable=tuple(excluded) + tuple(c.name for c in detected if not c.is_feature),
        )
        report.model_path = save_model(trained, out)
        if plot:
            from scoring.plots import plot_report

            report.plot_path = plot_report(report, out.with_suffix(".png"))
    report.seconds = clock.perf_counter() - started
    return report


def _grade(
    name: str, split: Folds, y: NDArray[np.bool_], fold_p: list[NDArray[np.float64]]
) -> CandidateResult:
    ys = [y[test] for _, test in split.folds]
    per_fold = []
    for k, (y_k, p_k) in enumerate(zip(ys, fold_p, strict=True)):
        others = [i for i in range(len(ys)) if i != k]
        if others:
            cut = best_f1_threshold(
                np.concatenate([ys[i] for i in others]), np.concatenate([fold_p[i] for i in others])
            )
        else:  # a single fold has no other fold to choose its cut on
            cut = best_f1_threshold(y_k, p_k)
        per_fold.append(evaluate(y_k, p_k, cut))
    return CandidateResult(name, per_fold, summarise(per_fold), np.concatenate(ys), np.concatenate(fold_p))


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def summary_line(report: TrainReport) -> str:
    """One line saying which model was kept and why, for logs and the CLI."""
    chosen = report.result(report.chosen)
    return (
        f"kept {chosen.title}: PR-AUC {chosen.summary['pr_auc']}, ROC-AUC {chosen.summary['roc_auc']} "
        f"({report.split.description}); threshold {report.threshold:.3f}"
    )
