"""The web side in the running product: tracked links in messages, the relay and webhook served by
`classpulse serve` / `run`, the relay's figures in the teachers' stats."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import tomllib
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import tomli_w
from aiohttp.test_utils import TestClient, TestServer

from adapters.console import RecordingMessenger
from adapters.redis.local_server import free_port
from bot import formatting
from bot.app import build_app
from bot.clock import ManualClock
from bot.config import Config, parse_config
from bot.config.relay import link_secret
from bot.domain import Identity, Platform
from bot.usecases.replies import Actor, answer
from bot.web import WebService
from stream_relay.server import create_app
from tests.core.conftest import EXAMPLE, TEACHER

SECRET = "s" * 40


def relay_config(redis_url: str, port: int = 8080, **relay: Any) -> dict[str, Any]:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["storage"]["redis_url"] = redis_url
    data["relay"].update(
        {"enabled": True, "port": port, "public_base_url": "https://class.example.com", **relay}
    )
    return data


async def test_personal_links_are_tracked_and_a_click_is_recorded(
    redis_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLASSPULSE_LINK_SECRET", SECRET)
    config: Config = parse_config(relay_config(redis_url))
    tg = RecordingMessenger(Platform.TELEGRAM)
    app = await build_app(config, clock=clock, messengers={Platform.TELEGRAM: tg}, scheduler_mode="manual")
    try:
        who = Identity(Platform.TELEGRAM, "7")
        await app.learner.start(who, "s7", name="Ada", course_id="python101")
        assert (await app.teacher.live(Actor(TEACHER), "python101", "https://youtube.com/live/x")).ok
        await app.scheduler.run_due(clock.now())
        await app.dispatcher.drain()
        [live] = [s for s in tg.to_chat("7") if s.message.step_id == "we-are-live"]
        link = formatting.plain(live.message.text).split("Your personal link: ")[1].split()[0]
        assert link.startswith("https://class.example.com/j/")
        assert "tg-7" not in link  # nothing about the learner is readable in the URL
        relay = create_app(config, app.store, clock, link_secret(config.relay))
        async with TestClient(TestServer(relay)) as client:
            response = await client.get(link.removeprefix("https://class.example.com"), allow_redirects=False)
            # The click is counted, then the learner goes on to the stream.
            assert response.status == 302
            assert response.headers["Location"] == "https://youtube.com/live/x"
        # Closing the relay flushed its batched intake writes.
        counters = await app.store.client.hgetall(app.store.keys.learner_class("python101", "c1", "tg-7"))
        assert counters.get("link_click") == "1"
        stats = await answer(app.teacher.stats(Actor(TEACHER), "python101"))
        assert "opened their link: 1 of 1 (100%)" in formatting.plain(stats.text)
    finally:
        await app.close()


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "classpulse.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


async def test_serve_runs_the_relay_until_sigterm_and_exits_cleanly(redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    path = _write(tmp_path, relay_config(redis_url, port=port))
    env = {**os.environ, "CLASSPULSE_LINK_SECRET": SECRET}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        "serve",
        "--config",
        str(path),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("the relay never answered /healthz")
            async with http.get(f"http://127.0.0.1:{port}/j/not-a-token") as response:
                assert response.status == 403
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, output.decode()
    assert "Traceback" not in output.decode()


async def test_serve_without_the_link_secret_is_a_one_line_error(redis_url: str, tmp_path: Path) -> None:
    path = _write(tmp_path, relay_config(redis_url, port=free_port()))
    env = {k: v for k, v in os.environ.items() if k != "CLASSPULSE_LINK_SECRET"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        "serve",
        "--config",
        str(path),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    lines = output.decode().strip().splitlines()
    assert len(lines) == 1
    assert "relay.link_secret_env: the environment variable CLASSPULSE_LINK_SECRET is not set" in lines[0]


@pytest.mark.parametrize("access_log", [False, True])
async def test_the_web_service_logs_requests_only_when_asked_never_a_token_and_frees_its_port(
    redis_url: str,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    access_log: bool,
) -> None:
    monkeypatch.setenv("CLASSPULSE_LINK_SECRET", SECRET)
    port = free_port()
    config = parse_config(relay_config(redis_url, port=port, access_log=access_log))
    app = await build_app(config, clock=clock, scheduler_mode="manual")
    service = WebService(app)
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    await service.start()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/j/SecretToken123", allow_redirects=False) as response,
        ):
            assert response.status == 403
    finally:
        await service.stop()
        await app.close()

    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    if access_log:
        [line] = lines
        assert '"GET /j/…" 403' in line
    else:
        assert lines == []
    assert "SecretToken123" not in caplog.text
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz"):
            pass
