"""The scoring commands: `classpulse train` (on any table, or on the store's own history) and `score`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.cli_common import ConfigOption, PrefixOption, RedisOption, config_from, err, fail, open_store, out
from bot.config import Config
from bot.history import CourseHistory
from bot.ports import StoreUnavailable
from scoring.errors import ScoringError
from scoring.training import TrainReport

DEFAULT_MODEL = Path("models/classpulse-model.joblib")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("score")(score)


def _course(settings: Config, course: str | None) -> str:
    if course is None:
        if len(settings.courses) != 1:
            raise fail(
                f"--course is needed: the config has {len(settings.courses)} courses "
                f"({', '.join(sorted(settings.courses))})"
            )
        return next(iter(settings.courses))
    if course not in settings.courses:
        raise fail(f"--course {course!r}: no such course (known: {', '.join(sorted(settings.courses))})")
    return course


def train(
    data: Annotated[
        Path | None, typer.Option("--data", help="A CSV or Parquet table of past learners.")
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="The column that says who bought.")] = None,
    id: Annotated[
        str | None, typer.Option("--id", help="An identifier column (left out of the features).")
    ] = None,
    time: Annotated[
        str | None, typer.Option("--time", help="A time column: split folds in time order, not at random.")
    ] = None,
    drop: Annotated[
        list[str] | None, typer.Option("--drop", help="A column to leave out (repeatable).")
    ] = None,
    positive: Annotated[
        str | None, typer.Option("--positive", help="Label values that count as positive, comma-separated.")
    ] = None,
    test_where: Annotated[
        str | None,
        typer.Option(
            "--test-where", help="Hold out the rows where COLUMN=VALUE and test on them (e.g. a later year)."
        ),
    ] = None,
    out_path: Annotated[Path, typer.Option("--out", help="Where to save the chosen model.")] = DEFAULT_MODEL,
    evaluate_only: Annotated[
        bool, typer.Option("--evaluate-only", help="Report only; save nothing.")
    ] = False,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    from_store: Annotated[
        bool,
        typer.Option("--from-store", help="Train on ClassPulse's own history: buyers are the positives."),
    ] = False,
    config: ConfigOption = None,
    redis: RedisOption = None,
    key_prefix: PrefixOption = None,
    course: Annotated[str | None, typer.Option("--course", help="With --from-store: the course.")] = None,
) -> None:
    """Train and compare calibrated purchase models: the KNN baseline, logistic regression, boosting."""
    from scoring.report import render_report
    from scoring.training import summary_line
    from scoring.training import train as train_table

    target = None if evaluate_only else out_path
    try:
        if from_store:
            report = _train_from_store(config, redis, key_prefix, course, target, folds, seed)
        else:
            if data is None or label is None:
                raise fail(
                    "--data and --label are needed (or --from-store to train on ClassPulse's own history)"
                )
            report = train_table(
                data,
                label,
                id,
                time,
                drop or [],
                target,
                positive=[v.strip() for v in positive.split(",")] if positive else None,
                test_where=test_where,
                folds=folds,
                seed=seed,
                console=err,
            )
    except ScoringError as exc:
        raise fail(f"classpulse train: {exc}", 1) from None
    except StoreUnavailable as exc:
        raise fail(str(exc)) from None
    out.print(render_report(report))
    out.print(summary_line(report), markup=False, highlight=False, soft_wrap=True)
    if report.model_path is not None:
        out.print(
            f"model saved to {report.model_path}; set [scoring.model] path to use it",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


async def _store_history(
    config: Path | None, redis: str | None, prefix: str | None, course: str | None
) -> CourseHistory:
    settings = config_from(config)
    course_id = _course(settings, course)
    store = await open_store(settings, redis, prefix)
    try:
        with err.status(f"reading the history of {course_id}…"):
            return await store.history.read(course_id, datetime.now(UTC))
    finally:
        await store.close()


def _train_from_store(
    config: Path | None,
    redis: str | None,
    prefix: str | None,
    course: str | None,
    out_path: Path | None,
    folds: int,
    seed: int,
) -> TrainReport:
    from scoring.store_training import train_from_store

    history = asyncio.run(_store_history(config, redis, prefix, course))
    return train_from_store(history, out_path, folds=folds, seed=seed, console=err)


def score(
    config: ConfigOption = None,
    redis: RedisOption = None,
    key_prefix: PrefixOption = None,
    course: Annotated[
        str | None, typer.Option("--course", help="Only this course (default: every course).")
    ] = None,
) -> None:
    """Rescore every learner of the course(s): features from the store, segments and reasons written back."""
    from bot.clock import SystemClock
    from bot.demo.simulation import default_config_path
    from scoring.model_scorer import load_scorer
    from scoring.rescore import rescore_all

    settings = config_from(config)
    courses = [_course(settings, course)] if course else sorted(settings.courses)
    base = (config or default_config_path()).parent

    async def go() -> list[str]:
        scorer, how = load_scorer(settings.scoring, SystemClock(), base)
        err.print(how, markup=False, highlight=False)
        store = await open_store(settings, redis, key_prefix)
        lines = []
        try:
            for course_id in courses:
                with err.status(f"rescoring {course_id}…"):
                    lines.append(str(await rescore_all(store.history, scorer, course_id, datetime.now(UTC))))
        finally:
            await store.close()
        return lines

    try:
        lines = asyncio.run(go())
    except ScoringError as exc:
        raise fail(f"classpulse score: {exc}", 1) from None
    except StoreUnavailable as exc:
        raise fail(str(exc)) from None
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
