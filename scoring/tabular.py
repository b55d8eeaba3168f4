"""Any table of history: reading it, telling what each column holds, and the label and time columns.

Nothing here knows a column name: the caller says which column is the label, the id and the time; every
other column's type is detected from its values.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from scoring.errors import ScoringError


class ColumnKind(StrEnum):
    NUMERIC = "numeric"
    BOOLEAN = "boolean"
    CATEGORICAL = "categorical"
    IDENTIFIER = "identifier"  # dropped: unique per row, it cannot generalise
    EMPTY = "empty"  # dropped: a single value or nothing at all
    DATE = "date"  # dropped: a calendar date is not behaviour (pass it as --time to split by it)


FEATURE_KINDS = frozenset({ColumnKind.NUMERIC, ColumnKind.BOOLEAN, ColumnKind.CATEGORICAL})

_TRUE = {"true", "yes", "y", "t", "1", "1.0"}
_FALSE = {"false", "no", "n", "f", "0", "0.0"}
_BOOLEAN_PAIRS = [{"true", "false"}, {"yes", "no"}, {"y", "n"}, {"t", "f"}, {"1", "0"}, {"1.0", "0.0"}]
_MONTHS = {
    m
    for full in (
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    )
    for m in (full, full[:3])
}
# A column is numeric when nearly all its values parse as numbers (a stray "?" or "n/a" becomes missing).
_NUMERIC_SHARE = 0.98
# A column is an identifier when nearly every row has its own value.
_UNIQUE_SHARE = 0.95
_MIN_ROWS_FOR_ID = 30


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: ColumnKind
    note: str = ""

    @property
    def is_feature(self) -> bool:
        return self.kind in FEATURE_KINDS


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a frame, or a one-line ScoringError saying what is wrong with it."""
    if not path.exists():
        raise ScoringError(f"{path}: no such file")
    if path.is_dir():
        raise ScoringError(f"{path}: is a directory, expected a CSV or Parquet file")
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            frame = pd.read_parquet(path)
        elif suffix in {".csv", ".tsv"}:
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", low_memory=False)
        else:
            raise ScoringError(f"{path}: unknown file type {suffix or '(none)'}; expected .csv or .parquet")
    except ScoringError:
        raise
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ScoringError(f"{path}: cannot read it as a table: {first_line}") from None
    except Exception as exc:  # pyarrow raises its own error types for a corrupt Parquet file
        raise ScoringError(f"{path}: cannot read it as a table: {type(exc).__name__}: {exc}") from None
    if frame.empty or len(frame.columns) == 0:
        raise ScoringError(f"{path}: the table has no rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def require_columns(frame: pd.DataFrame, names: Sequence[str], what: str) -> None:
    """Raise a ScoringError naming the first unknown column and the closest existing ones."""
    for name in names:
        if name not in frame.columns:
            close = difflib.get_close_matches(name, list(frame.columns), n=3)
            hint = (
                f"; did you mean {', '.join(close)}?" if close else f"; columns are {_listing(frame.columns)}"
            )
            raise ScoringError(f"{what} column {name!r} is not in the table{hint}")


def _listing(columns: Sequence[object] | pd.Index, limit: int = 12) -> str:
    names = [str(c) for c in columns]
    shown = ", ".join(names[:limit])
    return shown + (f" … ({len(names)} in all)" if len(names) > limit else "")


def _lowered(values: pd.Series) -> pd.Series:
    return values.astype(str).str.strip().str.lower()


def detect_column(values: pd.Series) -> Column:
    """What one column holds, judged from its values alone."""
    name = str(values.name)
    present = values.dropna()
    if isinstance(values.dtype, pd.StringDtype) or values.dtype == object:
        present = present[present.astype(str).str.strip() != ""]
    if present.empty:
        return Column(name, ColumnKind.EMPTY, "no values")
    n_unique = int(present.nunique())
    if n_unique == 1:
        return Column(name, ColumnKind.EMPTY, f"always {present.iloc[0]!r}")
    if pd.api.types.is_bool_dtype(values.dtype):
        return Column(name, ColumnKind.BOOLEAN)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return Column(name, ColumnKind.DATE)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return _numeric_kind(name, present.astype(float), len(values))
    text = _lowered(present)
    uniques = set(text.unique())
    if any(uniques <= pair for pair in _BOOLEAN_PAIRS):
        return Column(name, ColumnKind.BOOLEAN, "words")
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().mean() >= _NUMERIC_SHARE:
        bad = int(numbers.isna().sum())
        column = _numeric_kind(name, numbers.dropna(), len(values))
        return Column(
            name, column.kind, column.note or (f"{bad} unparsable values treated as missing" if bad else "")
        )
    if uniques <= _MONTHS:
        return Column(name, ColumnKind.CATEGORICAL, "month names")
    if _looks_like_dates(text):
        return Column(name, ColumnKind.DATE)
    if len(values) >= _MIN_ROWS_FOR_ID and n_unique >= _UNIQUE_SHARE * len(present):
        return Column(name, ColumnKind.IDENTIFIER, f"{n_unique} distinct texts in {len(present)} rows")
    return Column(name, ColumnKind.CATEGORICAL, f"{n_unique} values")


def _numeric_kind(name: str, numbers: pd.Series, rows: int) -> Column:
    uniques = set(np.unique(numbers.to_numpy()))
    if uniques <= {0.0, 1.0}:
        return Column(name, ColumnKind.BOOLEAN, "0/1")
    whole = bool(np.all(np.mod(numbers.to_numpy(), 1) == 0))
    if whole and rows >= _MIN_ROWS_FOR_ID and len(uniques) >= _UNIQUE_SHARE * len(numbers):
        return Column(name, ColumnKind.IDENTIFIER, f"{len(uniques)} distinct integers in {len(numbers)} rows")
    return Column(name, ColumnKind.NUMERIC)


def _looks_like_dates(text: pd.Series) -> bool:
    sample = text.head(200)
    # Only text with date separators counts: "12" or "high" must not pass as dates.
    if not sample.str.contains(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True).all():
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= _NUMERIC_SHARE)


def detect_columns(frame: pd.DataFrame, skip: Sequence[str] = ()) -> list[Column]:
    return [detect_column(frame[c]) for c in frame.columns if c not in skip]


def coerce_features(frame: pd.DataFrame, columns: Sequence[Column]) -> pd.DataFrame:
    """The feature columns in the types the models expect: floats (booleans as 0/1) and texts."""
    out: dict[str, pd.Series] = {}
    for column in columns:
        values = frame[column.name]
        if column.kind is ColumnKind.NUMERIC:
            out[column.name] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif column.kind is ColumnKind.BOOLEAN:
            out[column.name] = boolean_values(values)
        elif column.kind is ColumnKind.CATEGORICAL:
            # Missing stays NaN (what scikit-learn's imputers and encoders recognise in text columns).
            text = values.astype("object")
            out[column.name] = text.where(values.isna(), text.astype(str).str.strip()).astype("object")
    return pd.DataFrame(out, index=frame.index)


def boolean_values(values: pd.Series) -> pd.Series:
    """True/false words, yes/no, 1/0 as 1.0/0.0 (NaN when missing or not a boolean word)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64")
    text = _lowered(values.where(values.notna(), ""))
    return pd.Series(
        np.where(text.isin(_TRUE), 1.0, np.where(text.isin(_FALSE), 0.0, np.nan)),
        index=values.index,
        dtype="float64",
    )


def is_boolean_like(values: pd.Series) -> bool:
    present = values.dropna()
    if present.empty:
        return True
    if pd.api.types.is_bool_dtype(values.dtype):
        return True
    uniques = set(_lowered(present).unique())
    return uniques <= _TRUE | _FALSE


def is_numeric_like(values: pd.Series) -> bool:
    present = values.dropna()
    if pd.api.types.is_numeric_dtype(values.dtype) or present.empty:
        return True
    return bool(
        pd.to_numeric(present.astype(str).str.strip(), errors="coerce").notna().mean() >= _NUMERIC_SHARE
    )


@dataclass(frozen=True, slots=True)
class Label:
    y: NDArray[np.bool_]
    positive: tuple[str, ...]  # the label values counted as positive, as written in the table
    negative: tuple[str, ...]
    dropped_missing: int


def encode_label(frame: pd.DataFrame, column: str, positive: Sequence[str] | None = None) -> Label:
    """The label as booleans; raises when it is missing, has a single class or its positive is ambiguous."""
    require_columns(frame, [column], "label")
    raw = frame[column]
    present = raw.dropna()
    if isinstance(raw.dtype, pd.StringDtype) or raw.dtype == object:
        present = present[present.astype(str).str.strip() != ""]
    if present.empty:
        raise ScoringError(f"label column {column!r} has no values")
    text = present.astype(str).str.strip()
    values = sorted(text.unique(), key=str.lower)
    if len(values) < 2:
        raise ScoringError(
            f"label column {column!r} has a single class ({values[0]!r}): there is nothing to learn"
        )
    if positive:
        wanted = {p.strip().lower() for p in positive}
        known = {v.lower() for v in values}
        unknown = sorted(wanted - known)
        if unknown:
            raise ScoringError(
                f"--positive {', '.join(unknown)} is not a value of {column!r}; "
                f"its values are {_listing(values)}"
            )
        is_pos = text.str.lower().isin(wanted)
    elif {v.lower() for v in values} <= _TRUE | _FALSE:
        is_pos = text.str.lower().isin(_TRUE)
    elif len(values) == 2 and pd.to_numeric(pd.Series(values), errors="coerce").notna().all():
        top = max(values, key=float)
        is_pos = text == top
    else:
        raise ScoringError(
            f"label column {column!r} has the values {_listing(values)}: say which count as positive, "
            f"e.g. --positive {values[0]}"
        )
    pos = tuple(sorted(set(text[is_pos])))
    neg = tuple(sorted(set(text[~is_pos])))
    if not pos or not neg:
        which = "positive" if not pos else "negative"
        raise ScoringError(f"label column {column!r} has no {which} rows: there is nothing to learn")
    y = np.zeros(len(frame), dtype=np.bool_)
    y[frame.index.get_indexer(present.index)] = is_pos.to_numpy()
    keep = np.zeros(len(frame), dtype=np.bool_)
    keep[frame.index.get_indexer(present.index)] = True
    return Label(y=y[keep], positive=pos, negative=neg, dropped_missing=int((~keep).sum()))


def label_rows(frame: pd.DataFrame, column: str) -> NDArray[np.bool_]:
    """Which rows have a label at all (the others cannot be learned from)."""
    raw = frame[column]
    keep = raw.notna()
    if isinstance(raw.dtype, pd.StringDtype) or raw.dtype == object:
        keep &= raw.astype(str).str.strip() != ""
    return keep.to_numpy(dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class TimeOrder:
    keys: NDArray[np.float64]  # larger = later
    note: str


def time_order(frame: pd.DataFrame, column: str) -> TimeOrder:
    """Sortable keys for a time column: numbers as they are, dates as dates, other texts in text order."""
    require_columns(frame, [column], "time")
    raw = frame[column]
    if raw.isna().any():
        raise ScoringError(f"time column {column!r} has {int(raw.isna().sum())} missing values")
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return TimeOrder(raw.to_numpy(dtype=np.float64), "numbers")
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        return TimeOrder(raw.astype("int64").to_numpy().astype(np.float64), "dates")
    text = raw.astype(str).str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().all():
        return TimeOrder(numbers.to_numpy(dtype=np.float64), "numbers")
    if _looks_like_dates(text.str.lower()):
        dates = pd.to_datetime(text, errors="coerce", format="mixed")
        if dates.notna().all():
            return TimeOrder(dates.astype("int64").to_numpy().astype(np.float64), "dates")
    order = {v: i for i, v in enumerate(sorted(text.unique()))}
    shown = " < ".join(sorted(order)[:4]) + (" < …" if len(order) > 4 else "")
    return TimeOrder(text.map(order).to_numpy(dtype=np.float64), f"texts in text order ({shown})")


def parse_where(frame: pd.DataFrame, condition: str) -> NDArray[np.bool_]:
    """Rows matching `column=value[,value...]` (the held-out test rows)."""
    column, sep, wanted = condition.partition("=")
    column = column.strip()
    if not sep or not column or not wanted.strip():
        raise ScoringError(f"--test-where {condition!r}: expected COLUMN=VALUE[,VALUE...]")
    require_columns(frame, [column], "--test-where")
    values = {v.strip() for v in wanted.split(",") if v.strip()}
    text = frame[column].astype(str).str.strip()
    mask = text.isin(values).to_numpy(dtype=np.bool_)
    if not mask.any():
        raise ScoringError(
            f"--test-where {condition!r} matches no row; {column!r} has {_listing(sorted(text.unique()))}"
        )
    if mask.all():
        raise ScoringError(f"--test-where {condition!r} matches every row: nothing is left to train on")
    return mask
