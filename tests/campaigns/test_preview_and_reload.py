"""Dry run and hot reload: a preview foretells what a real run sends; a reload keeps what did not change."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from typer.testing import CliRunner

from adapters.console import RecordingMessenger
from adapters.redis.local_server import LocalRedisServer
from bot.app import App, build_app
from bot.cli import app as cli
from bot.clock import ManualClock
from bot.config import Config, parse_config
from bot.domain import Identity, Platform
from bot.preview import preview
from bot.recording import Recording, export_recording, parse_line, read_recording
from bot.reload import reload_config
from bot.reload_listener import ConfigReloader
from bot.simulated_time import advance
from bot.usecases.replies import Actor
from tests.core.conftest import CLASS_AT, EXAMPLE, TEACHER, enrol, run_class

teacher = Actor(TEACHER)


async def real_run(app: App, clock: ManualClock) -> None:
    """A class with a hot, a warm and an absent learner on each platform, one of whom opts out."""
    tg = await enrol(app, Platform.TELEGRAM, ["1", "2", "3"])
    dc = await enrol(app, Platform.DISCORD, ["4", "5"])
    await app.store.learners.set_timezone(dc[0], "Asia/Shanghai")
    assert (await app.teacher.schedule(teacher, "python101", "wed 18:00 Decorators")).ok
    watch = {tg[0]: 58, tg[1]: 35, dc[0]: 50, dc[1]: 20}
    await run_class(app, clock, watch, offer_click={tg[0]: 1, dc[0]: 1})
    await advance(app, clock, CLASS_AT + timedelta(hours=1, minutes=30))
    await app.learner.stop(Identity(Platform.TELEGRAM, "3"), "stop-3", course_id="python101")
    await advance(app, clock, CLASS_AT + timedelta(days=7))


def same_coupon(key: str) -> str:
    """Coupon codes are drawn at random, in the preview too: compare keys up to the code."""
    return re.sub(r":coupon-[A-Z0-9-]+:", ":coupon-CODE:", key)


def sent_by(messengers: dict[Platform, RecordingMessenger]) -> set[tuple[str, datetime]]:
    sent = [s for m in messengers.values() for s in m.sent]
    assert all(s.at is not None for s in sent)  # the messengers were given the clock
    return {(same_coupon(s.message.key), s.at) for s in sent if s.at is not None}


async def test_a_preview_of_the_recorded_history_matches_what_the_real_run_sent(
    config: Config, clock: ManualClock, redis_url: str
) -> None:
    messengers = {p: RecordingMessenger(p, clock=clock) for p in (Platform.TELEGRAM, Platform.DISCORD)}
    app = await build_app(
        config, clock=clock, messengers=dict(messengers), redis_url=redis_url, scheduler_mode="manual"
    )
    try:
        await real_run(app, clock)
        lines = await export_recording(app.store, ["python101"])
    finally:
        await app.close()
    recording = Recording()
    for line in json.loads(json.dumps(lines)):  # as it would come back from a file
        parse_line(line, recording)
    foretold = await preview(config, recording, until=CLASS_AT + timedelta(days=7))
    # The recording starts with the class (a day before it, for its reminders): Monday's weekly note,
    # sent before anything was recorded, is not part of the replay.
    # The live announcements are the teacher's /live fanned out to the course chats, not campaign steps.
    real = {
        (key, at)
        for key, at in sent_by(messengers)
        if at >= foretold.start and not key.startswith("announce:")
    }
    assert len(real) > 15  # reminders, live links, offers, quiet-hour holds, sweeps, the weekly note
    assert {(same_coupon(s.key), s.at) for s in foretold.sends} == real
    reasons = {outcome for *_, outcome, _n in foretold.outcomes}
    assert "held: quiet hours" in reasons  # the warm offer due at 21:00 waited for the morning


async def test_the_preview_command_prints_what_would_be_sent_without_sending(
    app: App, clock: ManualClock, tmp_path: Path
) -> None:
    await real_run(app, clock)
    recording = tmp_path / "events.jsonl"
    recording.write_text(
        "\n".join(json.dumps(line) for line in await export_recording(app.store, ["python101"])),
        encoding="utf-8",
    )
    assert read_recording(recording).classes
    # The command runs its own event loop: in a thread, as in its own process.
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["campaigns", "preview", "--config", str(EXAMPLE), "--events", str(recording)],
    )
    assert result.exit_code == 0, result.output
    assert "Would send (nothing was sent)" in result.output
    assert "hot-offer" in result.output
    assert "held: quiet hours" in result.output


def test_a_broken_recording_is_named_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "class", "id": "c1"}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["campaigns", "preview", "--config", str(EXAMPLE), "--events", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:1: missing field 'course'" in result.output
    assert "Traceback" not in result.output


def test_a_recording_with_times_without_a_zone_or_not_text_is_refused_in_one_line(tmp_path: Path) -> None:
    naive = tmp_path / "naive.jsonl"
    naive.write_text(
        json.dumps(
            {
                "type": "class",
                "course": "python101",
                "id": "c1",
                "title": "Decorators",
                "state": "scheduled",
                "scheduled_at": "2026-11-04T18:00:00",
                "started_at": None,
                "ended_at": None,
                "stream_url": "",
                "planned_minutes": 60,
            }
        )
        + "\n",
        encoding="utf-8",
    )
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\n")
    for path, said in (
        (naive, f"{naive}:1: '2026-11-04T18:00:00' has no time zone"),
        (binary, f"{binary}: not a text file (a recording is JSON lines in UTF-8)"),
    ):
        result = CliRunner().invoke(
            cli, ["campaigns", "preview", "--config", str(EXAMPLE), "--events", str(path)]
        )
        assert result.exit_code == 2
        assert said in result.output
        assert "Traceback" not in result.output


def edited(config: Config, change: Any) -> Config:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    change(data)
    return parse_config(data)


def class_jobs(app: App) -> dict[str, datetime]:
    return {j.id: j.next_run_time for j in app.scheduler.jobs() if j.id.startswith("python101:")}


async def test_a_reload_cancels_removed_steps_moves_changed_ones_and_keeps_the_rest(
    app: App, config: Config
) -> None:
    await enrol(app, Platform.TELEGRAM, ["1"])
    assert (await app.teacher.schedule(teacher, "python101", "wed 18:00 Decorators")).ok
    before = class_jobs(app)

    def change(data: dict[str, Any]) -> None:
        steps = data["campaigns"][0]["steps"]
        steps[:] = [s for s in steps if s["id"] != "remind-1h"]  # removed
        steps[0]["offset"] = "12h"  # remind-24h moves
        steps.insert(1, {"id": "remind-2h", "trigger": "before_class", "offset": "2h", "text": "Soon!"})

    report = await reload_config(app, edited(config, change))
    after = class_jobs(app)
    assert report.applied
    assert report.cancelled == ("python101:c1:python101-live:remind-1h",)
    assert report.moved == ("python101:c1:python101-live:remind-24h",)
    assert report.added == ("python101:c1:python101-live:remind-2h",)
    assert after["python101:c1:python101-live:remind-24h"] == CLASS_AT - timedelta(hours=12)
    assert after["python101:c1:python101-live:remind-2h"] == CLASS_AT - timedelta(hours=2)
    kept = "python101:c1:python101-live:remind-10m"
    assert after[kept] == before[kept]
    assert app.runner.config is app.config
    assert app.dispatcher.guards is not None
    assert app.dispatcher.guards.config is app.config


async def test_an_invalid_new_config_is_refused_and_the_old_one_stays(
    app: App, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "classpulse.toml"
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["campaigns"][0]["steps"][0]["offset"] = "soon"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    assert (await app.teacher.schedule(teacher, "python101", "wed 18:00 Decorators")).ok
    jobs_before = class_jobs(app)
    reloader = ConfigReloader(app, path, handle_sighup=False)
    report = await reloader.reload_now()
    assert not report.applied
    assert any("campaigns[0].steps[0].offset: cannot read 'soon' as a duration" in p for p in report.problems)
    assert app.config is config
    assert class_jobs(app) == jobs_before
    other_store = config.model_copy(
        update={"storage": config.storage.model_copy(update={"key_prefix": "other"})}
    )
    refused = await reload_config(app, other_store)
    assert (refused.applied, refused.problems) == (
        False,
        ("storage: another store or key prefix needs a restart",),
    )


async def test_sighup_and_the_reload_command_both_reload_a_running_process(
    app: App, config: Config, tmp_path: Path, redis_url: str
) -> None:
    path = tmp_path / "classpulse.toml"
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    reloader = ConfigReloader(app, path)
    await reloader.start()
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(100):
            if reloader.reports:
                break
            await asyncio.sleep(0.01)
        assert [r.applied for r in reloader.reports] == [True]
        # The command runs in its own process, as it does in production.
        command = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from bot.cli import main; main()",
            "config",
            "reload",
            "--config",
            str(path),
            "--redis",
            redis_url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(command.communicate(), timeout=60)
        assert command.returncode == 0, output.decode()
        assert output.decode().splitlines()[-1].startswith("applied:")
        assert len(reloader.reports) == 2
    finally:
        await reloader.stop()


async def test_the_reload_listener_outlives_a_redis_that_goes_away_and_stops_cleanly(
    config: Config, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "classpulse.toml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    with LocalRedisServer() as server:
        app = await build_app(
            config, clock=ManualClock(CLASS_AT), redis_url=server.url, scheduler_mode="manual"
        )
        reloader = ConfigReloader(app, path, handle_sighup=False)
        await reloader.start()
        server.stop()
        await asyncio.sleep(2.5)  # the listener's waits for a message fail now, more than once

        assert reloader.listening  # still trying, not dead
        await reloader.stop()  # does not raise the lost connection
        await app.close()
    assert "config reload: Redis does not answer" in caplog.text
