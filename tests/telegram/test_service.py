"""The Telegram service of `classpulse run`: one-line errors for what an admin must fix, a clean stop."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from adapters.telegram.messenger import SHUTTING_DOWN
from adapters.telegram.service import TelegramService
from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import parse_config
from bot.domain import DeliveryStatus, OutboundMessage, Platform
from bot.runtime import ServiceError
from tests.emulators.telegram_api import MakeEmulator, TelegramEmulator
from tests.emulators.telegram_server import EmulatorProcess
from tests.telegram.classroom import EXAMPLE, LINK_SECRET, LINK_VAR, TOKEN_VAR, classroom_toml, environ

ROOT = Path(__file__).resolve().parents[2]

MakeApp = Callable[..., Awaitable[App]]


@pytest.fixture
async def make_app(redis_url: str, clock: ManualClock) -> AsyncIterator[MakeApp]:
    """An App for Python 101 whose group is on the emulator `tg`, with `[telegram]` settings as given."""
    built: list[App] = []

    async def make(tg: TelegramEmulator, **telegram: Any) -> App:
        group = tg.add_group("Python 101")
        config = parse_config(
            classroom_toml(tg, group, [tg.add_user("Tess")], **telegram), environ=environ(tg)
        )
        built.append(await build_app(config, clock=clock, redis_url=redis_url, scheduler_mode="manual"))
        return built[-1]

    yield make
    for app in built:
        await app.close()


async def refusal(service: TelegramService) -> str:
    with pytest.raises(ServiceError) as caught:
        await service.start()
    assert Platform.TELEGRAM not in service.app.messengers
    return str(caught.value)


async def test_a_missing_token_names_its_variable(tg: TelegramEmulator, make_app: MakeApp) -> None:
    service = TelegramService(await make_app(tg), environ={LINK_VAR: LINK_SECRET})
    assert await refusal(service) == (
        "the Telegram bot token is missing: export CLASSPULSE_TELEGRAM_TOKEN=<the token @BotFather gave "
        "you>, or set telegram.enabled = false"
    )


async def test_a_rejected_token_says_what_to_do_without_showing_it(
    tg: TelegramEmulator, make_app: MakeApp
) -> None:
    service = TelegramService(await make_app(tg), environ={TOKEN_VAR: "42:revoked", LINK_VAR: LINK_SECRET})
    message = await refusal(service)
    assert message == (
        "Telegram rejected the bot token in CLASSPULSE_TELEGRAM_TOKEN (401 Unauthorized): ask @BotFather for "
        "the bot's current token (/mybots, the bot, API Token) and put it in CLASSPULSE_TELEGRAM_TOKEN"
    )
    assert tg.stats.calls["getMe"] == 1
    assert tg.stats.calls["getUpdates"] == 0


@pytest.mark.parametrize("token", ["MTA1NjA4.a-discord.token", "123456:ABC DEF"])
async def test_a_value_that_is_not_a_telegram_token_says_so_without_showing_it(
    tg: TelegramEmulator, make_app: MakeApp, token: str
) -> None:
    service = TelegramService(await make_app(tg), environ={TOKEN_VAR: token, LINK_VAR: LINK_SECRET})
    message = await refusal(service)
    assert message == (
        "the value of CLASSPULSE_TELEGRAM_TOKEN is not a Telegram bot token (digits, a colon, then letters, "
        "with no spaces): copy the bot's token from @BotFather (/mybots, the bot, API Token) into "
        "CLASSPULSE_TELEGRAM_TOKEN"
    )
    assert token not in message
    assert tg.stats.calls["getMe"] == 0


async def test_a_missing_deep_link_secret_names_its_variable(tg: TelegramEmulator, make_app: MakeApp) -> None:
    service = TelegramService(await make_app(tg), environ={TOKEN_VAR: tg.token})
    assert (await refusal(service)).startswith(
        "the environment variable CLASSPULSE_TELEGRAM_LINK_SECRET is not set: set it to a long random string"
    )


async def test_an_unreachable_bot_api_server_is_one_line(tg: TelegramEmulator, make_app: MakeApp) -> None:
    app = await make_app(tg, api_server="http://127.0.0.1:9", request_timeout="2s")
    message = await refusal(TelegramService(app, environ=environ(tg)))
    assert message.startswith("cannot reach the Telegram Bot API at http://127.0.0.1:9: ")
    assert "\n" not in message
    assert tg.token not in message


async def test_webhook_mode_on_a_busy_address_says_which_key_to_change(
    tg: TelegramEmulator, make_app: MakeApp
) -> None:
    busy = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = busy.sockets[0].getsockname()[1]
    hook = {"url": "https://bot.example.com/tg", "listen": f"127.0.0.1:{port}"}
    app = await make_app(tg, mode="webhook", webhook=hook)
    try:
        message = await refusal(TelegramService(app, environ=environ(tg)))
    finally:
        busy.close()
        await busy.wait_closed()
    assert message.startswith(
        f"cannot listen on 127.0.0.1:{port} for Telegram's webhook (telegram.webhook.listen): "
    )
    assert tg.webhook is None


async def test_starting_publishes_the_menus_clears_an_old_webhook_and_warns_about_privacy_mode(
    make_tg: MakeEmulator, make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    tg = await make_tg(privacy_mode=True)
    bot = tg.bot()
    await bot.set_webhook("https://old.example.com/hook")
    await bot.session.close()
    service = TelegramService(await make_app(tg), environ=environ(tg), polling_timeout=1)
    with caplog.at_level(logging.WARNING, logger="adapters.telegram.service"):
        await service.start()
    await service.stop()
    assert tg.webhook is None
    assert [c["command"] for c in tg.commands['{"type": "all_private_chats"}']][:2] == ["start", "mycoupons"]
    assert [c["command"] for c in tg.commands['{"type": "all_group_chats"}']][:2] == ["ask", "live"]
    [warning] = [r for r in caplog.records if r.name == "adapters.telegram.service"]
    assert warning.getMessage().startswith("Telegram privacy mode is on for @classpulse_test_bot")


async def test_after_stop_the_messenger_sends_nothing_and_says_retry(
    tg: TelegramEmulator, make_app: MakeApp
) -> None:
    ann = tg.add_user("Ann", started=True)
    app = await make_app(tg)
    service = TelegramService(app, environ=environ(tg), polling_timeout=1)
    await service.start()
    messenger = app.messengers[Platform.TELEGRAM]
    message = OutboundMessage("k1", Platform.TELEGRAM, str(ann.id), "hello")
    assert (await messenger.send(message)).status is DeliveryStatus.DELIVERED
    await service.stop()
    late = await messenger.send(OutboundMessage("k2", Platform.TELEGRAM, str(ann.id), "too late"))
    assert (late.status, late.reason) == (DeliveryStatus.RETRY, SHUTTING_DOWN)
    assert [m.text for m in tg.messages(ann.id)] == ["hello"]


async def test_a_send_waiting_for_the_governor_gives_up_at_stop_and_stays_in_the_outbox(
    tg: TelegramEmulator, make_app: MakeApp
) -> None:
    ann = tg.add_user("Ann", started=True)
    app = await make_app(tg)
    service = TelegramService(app, environ=environ(tg), polling_timeout=1)
    await service.start()
    assert service.telegram is not None
    service.telegram.messenger.governor.pause(60)  # a 429 with retry_after 60 just came in
    await app.store.outbox.enqueue(
        [OutboundMessage("k1", Platform.TELEGRAM, str(ann.id), "hi")], app.clock.now()
    )
    dispatching = asyncio.create_task(app.dispatcher.drain())
    await asyncio.sleep(0.05)
    await asyncio.wait_for(service.stop(), timeout=5)
    await asyncio.wait_for(dispatching, timeout=5)
    assert tg.messages(ann.id) == []
    assert (await app.store.outbox.state("k1"))["status"] == "retry"
    assert await app.store.outbox.pending() == 1


# ------------------------------------------------------------------------------------- classpulse run


def config_file(tmp_path: Path, api_server: str, redis_url: str) -> Path:
    raw: dict[str, Any] = tomllib.loads(EXAMPLE.read_text())
    raw["storage"]["redis_url"] = redis_url
    raw["telegram"].update({"enabled": True, "api_server": api_server})
    path = tmp_path / "classpulse.toml"
    path.write_bytes(tomli_w.dumps(raw).encode())
    return path


async def classpulse_run(config: Path, token: str) -> asyncio.subprocess.Process:
    """`classpulse run --config FILE` in a process of its own, from this source tree."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        "run",
        "--config",
        str(config),
        cwd=ROOT,
        env={**os.environ, TOKEN_VAR: token, LINK_VAR: LINK_SECRET, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def until(check: Callable[[], Awaitable[bool]], process: asyncio.subprocess.Process) -> None:
    """Wait for `check`, or for the process to end (the asserts after it say why)."""
    for _ in range(600):
        if process.returncode is not None or await check():
            return
        await asyncio.sleep(0.05)


async def test_classpulse_run_serves_telegram_until_sigterm_and_exits_cleanly(
    tmp_path: Path, redis_url: str
) -> None:
    async with EmulatorProcess() as tg:
        [ann] = await tg.add_users(1, started=False)
        process = await classpulse_run(config_file(tmp_path, tg.base_url, redis_url), tg.token)
        try:

            async def polling() -> bool:
                return int((await tg.stats())["calls"].get("getUpdates", 0)) > 0

            await until(polling, process)
            await tg.send_text(ann, ann, "/start")

            async def answered() -> bool:
                return bool(await tg.messages(ann))

            await until(answered, process)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                out, err = await process.communicate()
        welcome = await tg.messages(ann)

    output = out.decode() + err.decode()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert tg.token not in output
    assert LINK_SECRET not in output
    assert "INFO bot.runtime: telegram started" in output
    assert "WARNING" not in output, output
    assert welcome[0]["text"].startswith("Welcome! I will send you class links and reminders.")


async def test_classpulse_run_with_a_rejected_token_ends_with_one_line_and_exit_code_2(
    tmp_path: Path, redis_url: str
) -> None:
    async with EmulatorProcess() as tg:
        process = await classpulse_run(config_file(tmp_path, tg.base_url, redis_url), "42:revoked-token")
        async with asyncio.timeout(60):
            out, err = await process.communicate()

    lines = (out.decode() + err.decode()).splitlines()
    assert process.returncode == 2
    assert not any("Traceback" in line or "revoked-token" in line for line in lines)
    assert lines[-1] == (
        "classpulse run: Telegram rejected the bot token in CLASSPULSE_TELEGRAM_TOKEN (401 Unauthorized): "
        "ask @BotFather for the bot's current token (/mybots, the bot, API Token) and put it in "
        "CLASSPULSE_TELEGRAM_TOKEN"
    )
