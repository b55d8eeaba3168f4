"""The OULAD table: one row per enrolment, built only from what was known by the cut-off day."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from scoring.datasets import oulad
from scoring.errors import ScoringError

SAMPLE = Path(__file__).parents[1] / "data" / "oulad"


def test_every_enrolment_gets_one_row_with_its_outcome() -> None:
    info = pd.read_csv(SAMPLE / "studentInfo.csv")

    table = oulad.build(SAMPLE, cutoff=60)

    assert len(table) == len(info)
    assert table["enrolment"].is_unique
    assert set(table[oulad.LABEL]) <= {"Pass", "Distinction", "Fail"}


def test_work_handed_in_after_the_cutoff_is_not_counted() -> None:
    early, late = oulad.build(SAMPLE, cutoff=30), oulad.build(SAMPLE, cutoff=200)

    assert (early["submitted"] <= late["submitted"]).all()
    assert early["submitted"].sum() < late["submitted"].sum()
    assert (early["first_submission_day"].dropna() < 30).all()


def test_an_unregistration_counts_only_once_it_happened(tmp_path: Path) -> None:
    # The subset dropped withdrawn students, so give one enrolment an unregistration on day 100.
    for table in SAMPLE.glob("*.csv"):
        (tmp_path / table.name).write_bytes(table.read_bytes())
    registration = pd.read_csv(tmp_path / "studentRegistration.csv")
    registration.loc[0, "date_unregistration"] = 100
    registration.to_csv(tmp_path / "studentRegistration.csv", index=False)
    first = registration.iloc[0]
    enrolment = f"{first['code_module']}-{first['code_presentation']}-{first['id_student']}"

    before = oulad.build(tmp_path, cutoff=60).set_index("enrolment")
    after = oulad.build(tmp_path, cutoff=120).set_index("enrolment")

    assert before.loc[enrolment, "unregistered"] == "no"
    assert after.loc[enrolment, "unregistered"] == "yes"
    assert (after.drop(index=enrolment)["unregistered"] == "no").all()


def test_a_folder_without_the_tables_says_which_file_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ScoringError, match=r"studentInfo\.csv: missing"):
        oulad.build(tmp_path)
