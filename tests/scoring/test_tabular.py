"""Reading any table and telling what each column holds, from values alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.errors import ScoringError
from scoring.tabular import ColumnKind, detect_column, encode_label, parse_where, read_table, time_order


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["TRUE", "FALSE", "TRUE"], ColumnKind.BOOLEAN),
        (["true", "false", None], ColumnKind.BOOLEAN),
        (["yes", "no", "no"], ColumnKind.BOOLEAN),
        ([0, 1, 1, 0], ColumnKind.BOOLEAN),
        (["1", "0", "1"], ColumnKind.BOOLEAN),
        ([True, False, True], ColumnKind.BOOLEAN),
        ([1.5, 2.25, 3.0, 1.5], ColumnKind.NUMERIC),
        (["12", "7", "n/a", *["3"] * 60], ColumnKind.NUMERIC),
        (["Jan", "Feb", "Mar", "Feb"], ColumnKind.CATEGORICAL),
        (["january", "march", "march"], ColumnKind.CATEGORICAL),
        (["telegram", "discord", "telegram"], ColumnKind.CATEGORICAL),
        ([7, 7, 7], ColumnKind.EMPTY),
        ([None, None], ColumnKind.EMPTY),
        (["2024-01-03", "2024-02-11", "2024-03-09"], ColumnKind.DATE),
    ],
)
def test_a_column_kind_is_told_from_its_values(values: list[object], kind: ColumnKind) -> None:
    assert detect_column(pd.Series(values, name="x")).kind is kind


def test_unique_per_row_texts_and_integers_are_identifiers_and_measurements_are_not() -> None:
    rows = 200
    assert detect_column(pd.Series([f"user-{i}" for i in range(rows)])).kind is ColumnKind.IDENTIFIER
    assert detect_column(pd.Series(np.arange(10_000, 10_000 + rows))).kind is ColumnKind.IDENTIFIER
    # Unique floats are measurements (minutes watched), not ids.
    watched = pd.Series(np.random.default_rng(0).uniform(0, 60, rows))
    assert detect_column(watched).kind is ColumnKind.NUMERIC


def test_a_label_of_words_is_read_as_booleans() -> None:
    label = encode_label(pd.DataFrame({"y": ["yes", "no", "yes", None]}), "y")
    assert label.y.tolist() == [True, False, True]
    assert label.dropped_missing == 1


def test_a_categorical_label_needs_the_positive_values_and_says_so() -> None:
    frame = pd.DataFrame({"result": ["Pass", "Fail", "Distinction", "Pass"]})
    with pytest.raises(ScoringError, match=r"say which count as positive, e\.g\. --positive"):
        encode_label(frame, "result")
    label = encode_label(frame, "result", ["Pass", "distinction"])
    assert label.y.tolist() == [True, False, True, True]
    assert label.positive == ("Distinction", "Pass")


def test_label_errors_name_the_problem() -> None:
    frame = pd.DataFrame({"bought": ["yes", "yes"], "other": [1, 2]})
    with pytest.raises(ScoringError, match="single class"):
        encode_label(frame, "bought")
    with pytest.raises(ScoringError, match="'boght' is not in the table; did you mean bought"):
        encode_label(frame, "boght")
    with pytest.raises(ScoringError, match="--positive maybe is not a value"):
        encode_label(pd.DataFrame({"y": ["a", "b"]}), "y", ["maybe"])


def test_unreadable_inputs_give_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ScoringError, match="no such file"):
        read_table(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n")
    with pytest.raises(ScoringError, match="no rows"):
        read_table(empty)
    odd = tmp_path / "data.xlsx"
    odd.write_text("x")
    with pytest.raises(ScoringError, match=r"unknown file type \.xlsx"):
        read_table(odd)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(ScoringError, match="cannot read it as a table") as caught:
        read_table(broken)
    assert "\n" not in str(caught.value)


def test_csv_and_parquet_read_the_same(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    assert read_table(tmp_path / "t.csv").equals(read_table(tmp_path / "t.parquet"))


def test_time_columns_order_numbers_dates_and_texts() -> None:
    assert time_order(pd.DataFrame({"t": [3, 1, 2]}), "t").keys.tolist() == [3.0, 1.0, 2.0]
    dates = time_order(pd.DataFrame({"t": ["2024-03-01", "2024-01-01"]}), "t")
    assert dates.keys[0] > dates.keys[1]
    texts = time_order(pd.DataFrame({"t": ["2014J", "2013J", "2014J"]}), "t")
    assert texts.keys.tolist() == [1.0, 0.0, 1.0]
    assert "text order" in texts.note


def test_held_out_rows_are_chosen_by_column_value() -> None:
    frame = pd.DataFrame({"p": ["2013J", "2014J", "2014J"]})
    assert parse_where(frame, "p=2014J").tolist() == [False, True, True]
    with pytest.raises(ScoringError, match="matches no row"):
        parse_where(frame, "p=2015J")
    with pytest.raises(ScoringError, match="matches every row"):
        parse_where(frame, "p=2013J,2014J")
    with pytest.raises(ScoringError, match="expected COLUMN=VALUE"):
        parse_where(frame, "p")
