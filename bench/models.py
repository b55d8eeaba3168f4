"""How well the purchase models do: OULAD (real learners) and synthetic courses (the demo's kinds of learner).

    python -m bench.models [--oulad DIR] [--cutoffs 30,60,90] [--synthetic 20000] [--folds 5]

OULAD: one row per enrolment with only what is known by each cut-off day (scoring/datasets/oulad.py),
pass-or-distinction as the label; every candidate is cross-validated on 2013J and then tested on 2014J,
which it never saw. Synthetic: a course of learners of five kinds (scoring/datasets/synthetic.py) read
through the store's features, cross-validated in time order (learners first seen later are tested on a
model of those seen earlier), then tested on a second course drawn independently; the class sales forecast
is backtested on the classes of several courses.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.arguments import candidate, count, folds, listed, positive_int
from bot.config import ScoringConfig
from scoring.artifact import load_model
from scoring.candidates import CANDIDATES, TITLES
from scoring.datasets import oulad
from scoring.datasets.synthetic import generate
from scoring.errors import ScoringError
from scoring.forecast import ClassOutcome, backtest, engagement_of
from scoring.metrics import METRIC_TITLES, METRICS, evaluate
from scoring.rules import RuleScorer
from scoring.store_training import store_frame, train_from_store
from scoring.training import TrainReport, train

console = Console()


def _table(title: str, rows: list[tuple[str, list[str]]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("model")
    for metric in METRICS:
        table.add_column(METRIC_TITLES[metric], justify="right")
    for name, cells in rows:
        table.add_row(name, *cells)
    return table


def _cv_rows(report: TrainReport) -> list[tuple[str, list[str]]]:
    return [
        (r.title + (" ✓" if r.name == report.chosen else ""), [str(r.summary[m]) for m in METRICS])
        for r in report.results
    ]


def run_oulad(directory: Path, cutoffs: list[int], folds: int, candidates: list[str]) -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="classpulse-oulad-") as tmp:
        for cutoff in cutoffs:
            table = Path(tmp) / f"oulad-{cutoff}.csv"
            oulad.build(directory, cutoff).to_csv(table, index=False)
            with console.status(f"OULAD, day {cutoff}: training on 2013J…"):
                report = train(
                    table,
                    oulad.LABEL,
                    "enrolment",
                    None,
                    [],
                    None,
                    positive=list(oulad.POSITIVE),
                    test_where="code_presentation=2014J",
                    folds=folds,
                    candidates=candidates,
                    plot=False,
                )
            console.print(
                _table(
                    f"OULAD, known by day {cutoff}: cross-validated on 2013J ({report.rows:,} rows, "
                    f"{report.positives / report.rows:.0%} pass or distinction)",
                    _cv_rows(report),
                )
            )
            console.print(
                _table(
                    f"OULAD, known by day {cutoff}: tested on 2014J ({report.holdout_rows:,} rows)",
                    [
                        (
                            r.title + (" ✓" if r.name == report.chosen else ""),
                            [f"{(r.holdout or {})[m]:.3f}" for m in METRICS],
                        )
                        for r in report.results
                    ],
                )
            )
            for r in report.results:
                for m in METRICS:
                    figures[f"oulad{cutoff}_{r.name}_{m}"] = (r.holdout or {})[m]
            for leak in report.leaks:
                console.print(f"[yellow]⚠ {leak}[/]")
    return figures


def run_synthetic(learners: int, folds: int, candidates: list[str]) -> dict[str, float]:
    figures: dict[str, float] = {}
    course = generate(learners, seed=21, course_id="synthetic")
    other = generate(learners, seed=22, course_id="synthetic")
    with tempfile.TemporaryDirectory(prefix="classpulse-synthetic-") as tmp:
        path = Path(tmp) / "model.joblib"
        with console.status(f"synthetic: training on {learners:,} learners…"):
            report = train_from_store(course.history, path, folds=folds, candidates=candidates, plot=False)
        console.print(
            _table(
                f"synthetic course, {learners:,} learners ({course.history.bought.mean():.0%} bought): "
                f"{report.split.description}",
                _cv_rows(report),
            )
        )
        model = load_model(path)
        frame = store_frame(other.history)
        p = model.predict_prepared(frame[model.features])
        y = frame["bought"].to_numpy(bool)
        held = evaluate(y, p, model.threshold)
        console.print(
            _table(
                "synthetic: the kept model on an independently drawn course",
                [(TITLES[report.chosen], [f"{held[m]:.3f}" for m in METRICS])],
            )
        )
        figures.update({f"synthetic_{m}": held[m] for m in METRICS})
    rules = RuleScorer(ScoringConfig())
    rng = np.random.default_rng(0)
    courses = [
        generate(int(rng.integers(150, 600)), classes=10, seed=s, buy_shift=float(rng.normal(0, 0.4)))
        for s in range(8)
    ]
    outcomes = [
        ClassOutcome(engagement_of(c.class_activity(j), rules), int(c.conversions()[j]))
        for j in range(10)
        for c in courses
    ]
    result = backtest(outcomes, level=0.8)
    console.print(f"Class sales forecast, backtested on {result}")
    figures.update(
        {
            "forecast_coverage": result.coverage,
            "forecast_mae": result.mae,
            "forecast_seeds_mae": result.seeds_mae,
        }
    )
    return figures


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--oulad", default=str(oulad.DEFAULT_DIR), help="the OULAD folder ('' skips it)")
    parser.add_argument(
        "--cutoffs",
        type=listed(positive_int),
        default="30,60,90",
        help="days after the module start, comma-separated",
    )
    parser.add_argument(
        "--synthetic", type=count, default=20_000, help="learners of the synthetic course (0 skips)"
    )
    parser.add_argument("--folds", type=folds, default=5)
    parser.add_argument("--candidates", type=listed(candidate), default=",".join(CANDIDATES))
    args = parser.parse_args(argv)
    candidates: list[str] = args.candidates
    figures: dict[str, float] = {}
    if args.oulad:
        figures.update(run_oulad(Path(args.oulad), args.cutoffs, args.folds, candidates))
    if args.synthetic:
        figures.update(run_synthetic(args.synthetic, args.folds, candidates))
    return figures


if __name__ == "__main__":
    try:
        main()
    except ScoringError as error:  # a missing or malformed data folder: say which, no traceback
        console.print(f"[red]error:[/] {error}", soft_wrap=True)
        raise SystemExit(2) from None
