"""OULAD (the Open University Learning Analytics Dataset subset in ../shared/data/oulad/) as a training table.

One row per (student, module presentation), built only from what is known by a cut-off day counted from the
module's start: work handed in before that day (how much, how well, how late, how much was banked from an
earlier attempt), what was due by then and not handed in, when the student registered, and the student's
demographics. The label is the final result, pass or distinction against fail. Nothing dated after the
cut-off enters a row, so the table is an honest "early warning" problem; split it by presentation
(train on 2013J, test on 2014J), as the data's SOURCE.txt advises.

    python -m scoring.datasets.oulad [--data DIR] [--cutoff 60] --out oulad60.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.errors import ScoringError


def _default_dir() -> Path:
    """`shared/data/oulad` beside the repository (or beside any folder above it, for git worktrees)."""
    repo = Path(__file__).resolve().parents[2]
    for parent in repo.parents:
        candidate = parent / "shared" / "data" / "oulad"
        if candidate.is_dir():
            return candidate
    return repo.parent / "shared" / "data" / "oulad"


DEFAULT_DIR = _default_dir()
KEYS = ["code_module", "code_presentation", "id_student"]
DEMOGRAPHICS = [
    "gender",
    "region",
    "highest_education",
    "imd_band",
    "age_band",
    "num_of_prev_attempts",
    "studied_credits",
    "disability",
]
LABEL = "final_result"
POSITIVE = ("Pass", "Distinction")


def _read(directory: Path, name: str) -> pd.DataFrame:
    path = directory / name
    if not path.exists():
        raise ScoringError(f"{path}: missing (is {directory} the OULAD folder?)")
    return pd.read_csv(path)


def build(directory: Path = DEFAULT_DIR, cutoff: int = 60) -> pd.DataFrame:
    """The per-enrolment table as of `cutoff` days after each module presentation started."""
    info = _read(directory, "studentInfo.csv")
    registration = _read(directory, "studentRegistration.csv")
    assessments = _read(directory, "assessments.csv")
    submissions = _read(directory, "studentAssessment.csv")

    work = submissions.merge(assessments, on="id_assessment", how="inner")
    work = work[work["date_submitted"] < cutoff]
    work = work.assign(
        late=(work["date_submitted"] > work["date"]).astype(float),
        weighted=work["score"] * work["weight"],
    )
    handed_in = (
        work.groupby(KEYS)
        .agg(
            submitted=("id_assessment", "count"),
            mean_score=("score", "mean"),
            min_score=("score", "min"),
            late_share=("late", "mean"),
            banked=("is_banked", "sum"),
            first_submission_day=("date_submitted", "min"),
            weighted_score=("weighted", "sum"),
        )
        .reset_index()
    )

    due = (
        assessments[assessments["date"] < cutoff]
        .groupby(["code_module", "code_presentation"])
        .agg(due=("id_assessment", "count"), due_weight=("weight", "sum"))
        .reset_index()
    )

    table = info.merge(registration, on=KEYS, how="left").merge(handed_in, on=KEYS, how="left")
    table = table.merge(due, on=["code_module", "code_presentation"], how="left")
    table[["submitted", "banked", "due", "due_weight", "weighted_score"]] = table[
        ["submitted", "banked", "due", "due_weight", "weighted_score"]
    ].fillna(0)
    table["missed"] = (table["due"] - table["submitted"]).clip(lower=0)
    table["weighted_score"] = np.where(
        table["due_weight"] > 0,
        table["weighted_score"] / table["due_weight"].where(table["due_weight"] > 0),
        np.nan,
    )
    # Unregistering is known once it happened: only an unregistration before the cut-off may be used.
    table["unregistered"] = (table["date_unregistration"] < cutoff).map({True: "yes", False: "no"})
    table["enrolment"] = (
        table["code_module"] + "-" + table["code_presentation"] + "-" + table["id_student"].astype(str)
    )
    columns = [
        "enrolment",
        "code_presentation",
        "code_module",
        *DEMOGRAPHICS,
        "date_registration",
        "unregistered",
        "submitted",
        "missed",
        "mean_score",
        "min_score",
        "weighted_score",
        "late_share",
        "banked",
        "first_submission_day",
        LABEL,
    ]
    return table[columns].reset_index(drop=True)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR, help="the OULAD folder")
    parser.add_argument("--cutoff", type=int, default=60, help="days after the module start (default 60)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the table (.csv or .parquet)")
    args = parser.parse_args(argv)
    out: Path = args.out
    table = build(args.data, args.cutoff)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in {".parquet", ".pq"}:
        table.to_parquet(out, index=False)
    else:
        table.to_csv(out, index=False)
    print(f"{out}: {len(table):,} enrolments, cut-off day {args.cutoff}")
    return out


if __name__ == "__main__":
    main()
