"""Training on any table: candidates compared fairly, leakage flagged, the chosen model saved and guarded."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from scoring.artifact import load_model, sha256_file
from scoring.errors import FeatureMismatch, ScoringError
from scoring.metrics import METRICS
from scoring.report import render_report
from scoring.training import TrainReport, train
from tests.scoring.conftest import engagement_table


@pytest.fixture(scope="module")
def table_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "history.csv"
    engagement_table().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def stratified(table_file: Path) -> TrainReport:
    return train(
        table_file, "bought", "customer", None, [], table_file.parent / "m" / "model.joblib", folds=3
    )


@pytest.fixture(scope="module")
def in_time(table_file: Path) -> TrainReport:
    return train(table_file, "bought", "customer", "signup_day", [], None, folds=3)


def render(report: TrainReport) -> str:
    out = io.StringIO()
    Console(file=out, width=160).print(render_report(report))
    return out.getvalue()


def test_every_candidate_is_reported_with_mean_and_spread_of_every_metric(stratified: TrainReport) -> None:
    assert [r.name for r in stratified.results] == ["knn", "logistic", "boosting"]
    for result in stratified.results:
        assert len(result.per_fold) == 3
        assert set(result.summary) == set(METRICS)
        assert 0.5 < result.summary["roc_auc"].mean <= 1.0
        assert result.summary["ece"].mean < 0.2
    best = max(stratified.results, key=lambda r: r.summary["pr_auc"].mean)
    assert stratified.chosen == best.name
    assert 0.0 < stratified.threshold < 1.0
    assert "stratified 3-fold" in stratified.split.description


def test_the_table_learns_the_signal_it_holds(stratified: TrainReport) -> None:
    # The generated purchase depends on watching and questions: any real model beats chance clearly.
    assert stratified.result("logistic").summary["roc_auc"].mean > 0.7
    assert stratified.result("logistic").summary["lift10"].mean > 1.3


def test_columns_are_typed_and_flags_respected(stratified: TrainReport) -> None:
    kinds = {c.name: c.kind.value for c in stratified.columns}
    assert kinds == {
        "minutes_watched": "numeric",
        "questions": "numeric",
        "platform": "categorical",
        "month": "categorical",
        "newsletter": "boolean",
        "signup_day": "numeric",
    }
    assert stratified.excluded == {"bought": "label", "customer": "id (--id)"}


def test_an_undeclared_id_column_is_dropped_and_said(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    engagement_table(300).to_csv(path, index=False)
    report = train(
        path, "bought", None, None, ["signup_day", "month"], None, folds=2, candidates=["logistic"]
    )
    customer = next(c for c in report.columns if c.name == "customer")
    assert customer.kind.value == "identifier"
    assert not customer.is_feature
    assert report.excluded["signup_day"] == "dropped (--drop)"
    assert "identifier" in render(report)


def test_time_split_never_tests_on_rows_older_than_its_training_rows(
    in_time: TrainReport, table_file: Path
) -> None:
    days = pd.read_csv(table_file)["signup_day"].to_numpy()
    assert "time-ordered expanding windows" in in_time.split.description
    sizes = []
    for train_rows, test_rows in in_time.split.folds:
        assert days[train_rows].max() <= days[test_rows].min()
        sizes.append(len(train_rows))
    assert sizes == sorted(sizes)  # expanding


def test_a_leaked_column_is_named_and_a_clean_table_raises_no_alarm(
    tmp_path: Path, stratified: TrainReport
) -> None:
    assert stratified.leaks == []
    frame = engagement_table(400)
    # Written after the fact: days until the refund window closed, only for buyers.
    frame["refund_window_days"] = np.where(frame["bought"] == "TRUE", 14, 0) + np.random.default_rng(
        1
    ).integers(0, 3, len(frame))
    path = tmp_path / "leaky.csv"
    frame.to_csv(path, index=False)
    report = train(path, "bought", "customer", None, [], None, folds=2, candidates=["logistic"])
    assert [leak.column for leak in report.leaks] == ["refund_window_days"]
    assert report.leaks[0].auc > 0.97
    assert "refund_window_days" in render(report)
    assert "probable leakage" in render(report)


def test_the_saved_model_round_trips_with_its_metadata(stratified: TrainReport, table_file: Path) -> None:
    assert stratified.model_path is not None
    model = load_model(stratified.model_path)
    frame = pd.read_csv(table_file)
    p = model.predict_proba(frame)  # label and id columns are tolerated, they were named at training
    assert p.shape == (len(frame),)
    assert ((p >= 0) & (p <= 1)).all()
    meta = json.loads(stratified.model_path.with_suffix(".json").read_text())
    assert meta["data_sha256"] == sha256_file(table_file)
    assert meta["model"] == stratified.chosen
    assert meta["threshold"] == pytest.approx(stratified.threshold)
    assert {f["name"]: f["type"] for f in meta["features"]}["newsletter"] == "boolean"
    assert set(meta["libraries"]) >= {"scikit-learn", "numpy", "pandas", "python"}
    assert set(meta["metrics"]) == {"knn", "logistic", "boosting"}
    assert meta["created"]
    assert stratified.plot_path is not None
    assert stratified.plot_path.stat().st_size > 10_000


def test_a_model_refuses_columns_that_do_not_match_and_names_them(
    stratified: TrainReport, table_file: Path
) -> None:
    assert stratified.model_path is not None
    model = load_model(stratified.model_path)
    frame = pd.read_csv(table_file).drop(columns=["questions"])
    frame["coupon"] = 1
    frame["minutes_watched"] = "a lot"
    with pytest.raises(FeatureMismatch) as caught:
        model.predict_proba(frame)
    message = str(caught.value)
    assert "missing questions" in message
    assert "unexpected coupon" in message
    assert "minutes_watched (numeric, given text)" in message


def test_a_replaced_model_file_is_refused(stratified: TrainReport, tmp_path: Path) -> None:
    assert stratified.model_path is not None
    copy = tmp_path / "model.joblib"
    copy.write_bytes(stratified.model_path.read_bytes() + b"tampered")
    copy.with_suffix(".json").write_text(stratified.model_path.with_suffix(".json").read_text())
    with pytest.raises(ScoringError, match="does not match its metadata"):
        load_model(copy)
    with pytest.raises(ScoringError, match="no trained model there"):
        load_model(tmp_path / "none.joblib")


def test_bad_input_is_a_one_line_error(table_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.joblib"
    cases = [
        ((tmp_path / "nope.csv", "bought", None, None, []), "no such file"),
        ((table_file, "purchase", None, None, []), "label column 'purchase' is not in the table"),
        ((table_file, "bought", "user", None, []), "--id column 'user' is not in the table; did you mean"),
        ((table_file, "bought", None, "day", []), "--time column 'day' is not in the table"),
        ((table_file, "bought", None, None, ["ghost"]), "--drop column 'ghost' is not in the table"),
    ]
    for args, message in cases:
        with pytest.raises(ScoringError, match=message) as caught:
            train(*args, out)
        assert "\n" not in str(caught.value)
    one_class = tmp_path / "one.csv"
    pd.DataFrame({"x": [1, 2, 3], "bought": ["no", "no", "no"]}).to_csv(one_class, index=False)
    with pytest.raises(ScoringError, match="single class"):
        train(one_class, "bought", None, None, [], out)
    assert not out.exists()


def test_a_model_path_that_cannot_be_written_is_refused_before_training(
    table_file: Path, tmp_path: Path
) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("")
    for out, message in (
        (tmp_path, "is a folder; give a file name such as"),
        (a_file / "m.joblib", "cannot save a model here"),
    ):
        with pytest.raises(ScoringError, match=message):
            train(table_file, "bought", None, None, [], out, candidates=["boosting"])


def test_held_out_rows_are_graded_for_every_candidate_but_do_not_choose(tmp_path: Path) -> None:
    frame = engagement_table(500)
    frame["cohort"] = np.where(np.arange(len(frame)) < 350, "2013J", "2014J")
    path = tmp_path / "cohorts.parquet"
    frame.to_parquet(path, index=False)
    report = train(
        path,
        "bought",
        "customer",
        None,
        [],
        tmp_path / "m.joblib",
        folds=3,
        candidates=["logistic", "boosting"],
        test_where="cohort=2014J",
    )
    assert report.rows == 350
    assert report.holdout_rows == 150
    assert all(r.holdout is not None and set(r.holdout) == set(METRICS) for r in report.results)
    assert report.excluded["cohort"] == "split (--test-where)"
    assert "held-out test: cohort=2014J" in render(report)
