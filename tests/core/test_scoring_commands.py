"""The scoring engine from the command line and the teachers' chat: train, score, why."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from bot import formatting
from bot.app import App
from bot.cli import app as cli
from bot.clock import ManualClock
from bot.demo.simulation import DemoOptions, run_demo
from bot.domain import Interaction, InteractionKind, Platform
from bot.usecases.replies import Actor, answer
from tests.core.conftest import TEACHER, enrol

runner = CliRunner()


def small_table(path: Path, rows: int = 400) -> Path:
    rng = random.Random(3)
    records = []
    for i in range(rows):
        watched = rng.uniform(0, 60)
        questions = rng.randint(0, 4)
        bought = rng.random() < (0.05 + watched / 90 + questions / 20)
        records.append(
            {
                "learner": f"u{i}",
                "watched_min": round(watched, 1),
                "questions": questions,
                "platform": rng.choice(["telegram", "discord"]),
                "bought": "yes" if bought else "no",
            }
        )
    pd.DataFrame(records).to_csv(path, index=False)
    return path


def test_train_compares_candidates_and_saves_the_chosen_model(tmp_path: Path) -> None:
    data = small_table(tmp_path / "history.csv")
    out = tmp_path / "model.joblib"
    result = runner.invoke(
        cli,
        [
            "train",
            "--data",
            str(data),
            "--label",
            "bought",
            "--id",
            "learner",
            "--folds",
            "3",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    for candidate in ("KNN", "logistic", "boosting"):
        assert candidate in result.output
    assert out.exists()
    assert out.with_suffix(".json").exists()
    assert f"model saved to {out}" in result.output


def test_train_says_in_one_line_what_is_missing(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["train", "--label", "bought"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "--data and --label are needed (or --from-store to train on ClassPulse's own history)"
    )
    data = small_table(tmp_path / "history.csv")
    result = runner.invoke(cli, ["train", "--data", str(data), "--label", "purchased", "--evaluate-only"])
    assert result.exit_code == 1
    assert result.output.startswith("classpulse train: ")
    assert "purchased" in result.output
    assert "Traceback" not in result.output


def test_score_and_train_from_store_work_on_the_demo_history(redis_url: str, tmp_path: Path) -> None:
    asyncio.run(run_demo(DemoOptions(learners=160, seed=4, redis_url=redis_url)))
    scored = runner.invoke(cli, ["score", "--redis", redis_url, "--key-prefix", "cpdemo"])
    assert scored.exit_code == 0, scored.output
    assert "160 learners of python101 rescored (rules)" in scored.output
    out = tmp_path / "store-model.joblib"
    trained = runner.invoke(
        cli,
        [
            "train",
            "--from-store",
            "--redis",
            redis_url,
            "--key-prefix",
            "cpdemo",
            "--folds",
            "2",
            "--out",
            str(out),
        ],
    )
    assert trained.exit_code == 0, trained.output
    assert out.exists()


async def test_why_explains_a_learner_privately(app: App, clock: ManualClock) -> None:
    [ada, _bob] = await enrol(app, Platform.TELEGRAM, ["1", "2"])
    teacher = Actor(TEACHER)
    assert (await app.teacher.live(teacher, "python101", "https://youtube.com/live/x")).ok
    k = InteractionKind
    await app.store.intake.ingest(
        [
            Interaction(
                k.WATCH_HEARTBEAT,
                Platform.WEB,
                f"hb{m}",
                "python101",
                ada,
                clock.now(),
                class_id="c1",
                payload={"seconds": 60},
            )
            for m in range(30)
        ]
        + [Interaction(k.QUESTION, Platform.TELEGRAM, "q1", "python101", ada, clock.now(), class_id="c1")]
    )
    clock.advance(timedelta(minutes=40))
    reply = await answer(app.teacher.why(teacher, "python101", "l1"))  # names match without case
    assert reply.private
    lines = formatting.plain(reply.text).splitlines()
    assert lines[0].startswith("🔎 L1 — ")
    assert any("watched" in line for line in lines[1:])


async def test_why_refuses_unknown_or_ambiguous_names(app: App) -> None:
    await enrol(app, Platform.TELEGRAM, ["1"], name="Ada Lovelace")
    await enrol(app, Platform.TELEGRAM, ["2"], name="Ada Byron")
    teacher = Actor(TEACHER)
    missing = await answer(app.teacher.why(teacher, "python101", "Grace"))
    assert (missing.ok, missing.text) == (False, "No learner of this course is called 'Grace'.")
    both = await answer(app.teacher.why(teacher, "python101", "ada"))
    assert both.text == (
        "Several learners match 'ada': Ada Lovelace (tg-1), Ada Byron (tg-2). Use the learner id."
    )
    usage = await answer(app.teacher.why(teacher, "python101", ""))
    assert usage.text.splitlines()[1] == "Usage: /why <learner name or id>"
