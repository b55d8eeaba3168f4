"""The Discord service of `classpulse run`: a real login and gateway connection to the emulator, a clean stop,
and one line that says what to do for each problem an admin must fix."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
import tomli_w
import yarl
from discord.gateway import DiscordWebSocket
from typer.testing import CliRunner

from adapters.discord.service import DiscordService
from bot.app import App, build_app
from bot.cli import app as cli
from bot.clock import ManualClock
from bot.domain import Platform
from bot.runtime import ServiceError
from tests.discord.classroom import classroom_config, classroom_toml, register_channels
from tests.discord.scene import Scene
from tests.emulators.discord_api import DiscordEmulator, IssuedInteraction
from tests.emulators.discord_socket import PRIVILEGED

ROOT = Path(__file__).resolve().parents[2]
TOKEN_VAR = "CLASSPULSE_DISCORD_TOKEN"


@pytest.fixture
def scene(discord_api: DiscordEmulator) -> Scene:
    built = Scene.build()
    register_channels(discord_api, built)
    discord_api.gateway.add_guild(built.server.guild_create())
    return built


@pytest.fixture
async def app(
    discord_api: DiscordEmulator, scene: Scene, redis_url: str, clock: ManualClock
) -> AsyncIterator[App]:
    config = classroom_config(scene, enabled=True, api_base=discord.http.Route.BASE)
    built = await build_app(config, clock=clock, redis_url=redis_url, scheduler_mode="manual")
    yield built
    await built.close()


def service(app: App, token: str | None) -> DiscordService:
    environ = {TOKEN_VAR: token} if token is not None else {}
    return DiscordService(app, environ=environ, ready_timeout=10, guild_ready_timeout=0.05)


def answered(issued: IssuedInteraction, api: DiscordEmulator) -> bool:
    return issued.original_id is not None and api.message(issued.original_id).edited


# ------------------------------------------------------------------------------------------- in process


async def test_the_service_connects_serves_and_stops_cleanly(
    app: App, discord_api: DiscordEmulator, scene: Scene
) -> None:
    running = service(app, discord_api.token)
    await running.start()
    try:
        [session] = discord_api.gateway.live
        assert session.intents & PRIVILEGED["message_content"]
        assert session.intents & PRIVILEGED["members"]
        assert running.bot is not None
        assert app.messengers[Platform.DISCORD] is running.bot.messenger
        assert "class live" in discord_api.command_names(scene.server.id)

        press = scene.server.slash_command(discord_api.application_id, scene.general, scene.ada, "mycoupons")
        await discord_api.gateway.push("INTERACTION_CREATE", press)
        issued = discord_api.interactions[int(press["id"])]
        await discord_api.until(lambda: answered(issued, discord_api))
        assert discord_api.message(issued.original_id or 0).content == "You have no coupons yet."
    finally:
        await running.stop()

    assert discord_api.gateway.live == []
    assert Platform.DISCORD not in app.messengers
    assert yarl.URL("wss://gateway.discord.gg/") == DiscordWebSocket.DEFAULT_GATEWAY  # put back


async def test_a_missing_token_says_which_variable_to_set(app: App, discord_api: DiscordEmulator) -> None:
    with pytest.raises(ServiceError) as caught:
        await service(app, None).start()

    assert str(caught.value) == (
        "the Discord bot token is missing: export CLASSPULSE_DISCORD_TOKEN=<the bot's token from the "
        "Developer Portal (https://discord.com/developers/applications), Bot > Reset Token>, "
        "or set discord.enabled = false"
    )
    assert discord_api.requests == []


async def test_a_rejected_token_says_where_to_get_the_current_one_after_one_request(
    app: App, discord_api: DiscordEmulator
) -> None:
    with pytest.raises(ServiceError) as caught:
        await service(app, "an.old.token").start()

    assert str(caught.value) == (
        "Discord rejected the bot token in CLASSPULSE_DISCORD_TOKEN (401 Unauthorized): copy the bot's "
        "current token from the Developer Portal (https://discord.com/developers/applications), "
        "Bot > Reset Token, into CLASSPULSE_DISCORD_TOKEN"
    )
    assert discord_api.invalid_requests == 1
    assert "an.old.token" not in str(caught.value)


async def test_a_privileged_intent_not_switched_on_says_where_to_switch_it_on(
    app: App, discord_api: DiscordEmulator
) -> None:
    discord_api.privileged_intents = frozenset({"members"})  # Message Content is off in the portal
    attempt = service(app, discord_api.token)

    with pytest.raises(ServiceError) as caught:
        await attempt.start()

    assert str(caught.value) == (
        "Discord refused the privileged intent Message Content: switch it on in the Developer Portal "
        "(https://discord.com/developers/applications), Bot > Privileged Gateway Intents, "
        "or set discord.message_content_intent = false"
    )
    [refused] = discord_api.gateway.sessions
    assert refused.closed_with == 4014
    assert attempt.bot is None  # cleaned up: nothing left running
    assert Platform.DISCORD not in app.messengers


async def test_slash_commands_refused_for_a_server_say_which_scope_the_invite_needs(
    app: App, discord_api: DiscordEmulator, scene: Scene
) -> None:
    discord_api.fail(403, 50001, "Missing Access", route="commands")

    with pytest.raises(ServiceError) as caught:
        await service(app, discord_api.token).start()

    assert str(caught.value) == (
        f"Discord refused the slash commands for server {scene.server.id}: Missing Access; invite the bot to "
        "that server with the scopes bot and applications.commands (README, Run on Discord)"
    )


# ------------------------------------------------------------------------------------- classpulse run


def config_file(tmp_path: Path, scene: Scene, redis_url: str) -> Path:
    raw: dict[str, Any] = classroom_toml(scene, enabled=True, api_base=discord.http.Route.BASE)
    raw["storage"]["redis_url"] = redis_url
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
        env={**os.environ, TOKEN_VAR: token, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_classpulse_run_serves_discord_until_sigterm_and_exits_cleanly(
    tmp_path: Path, discord_api: DiscordEmulator, scene: Scene, redis_url: str
) -> None:
    process = await classpulse_run(config_file(tmp_path, scene, redis_url), discord_api.token)
    stop: dict[str, Any] = {}
    try:
        connected = asyncio.create_task(discord_api.gateway.wait_for(lambda gateway: bool(gateway.live)))
        ended = asyncio.create_task(process.wait())
        await asyncio.wait([connected, ended], return_when=asyncio.FIRST_COMPLETED)
        ended.cancel()
        if not connected.done():
            connected.cancel()  # the process ended before it connected; the asserts below say why
        elif connected.exception() is None:
            # Made now: Discord gives a bot 3 seconds from an interaction's creation to acknowledge it.
            stop = scene.server.slash_command(discord_api.application_id, scene.general, scene.ada, "stop")
            await discord_api.gateway.push("INTERACTION_CREATE", stop)
            await discord_api.until(lambda: answered(discord_api.interactions[int(stop["id"])], discord_api))
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            out, err = await process.communicate()

    output = out.decode() + err.decode()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert discord_api.token not in output
    assert "discord started" in output
    assert "WARNING" not in output, output
    issued = discord_api.interactions[int(stop["id"])]
    assert discord_api.message(issued.original_id or 0).content.startswith("Done: no more offers")
    assert discord_api.gateway.live == []


async def test_classpulse_run_with_a_rejected_token_ends_with_one_line_that_says_what_to_do(
    tmp_path: Path, discord_api: DiscordEmulator, scene: Scene, redis_url: str
) -> None:
    process = await classpulse_run(config_file(tmp_path, scene, redis_url), "an.old.token")
    async with asyncio.timeout(60):
        out, err = await process.communicate()

    lines = (out.decode() + err.decode()).splitlines()
    assert process.returncode == 2
    assert not any("Traceback" in line or "an.old.token" in line for line in lines)
    assert lines[-1] == (
        "classpulse run: Discord rejected the bot token in CLASSPULSE_DISCORD_TOKEN (401 Unauthorized): copy "
        "the bot's current token from the Developer Portal (https://discord.com/developers/applications), "
        "Bot > Reset Token, into CLASSPULSE_DISCORD_TOKEN"
    )


def test_classpulse_run_without_the_token_in_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scene = Scene.build()
    path = tmp_path / "classpulse.toml"
    path.write_bytes(tomli_w.dumps(classroom_toml(scene, enabled=True)).encode())
    monkeypatch.delenv(TOKEN_VAR, raising=False)

    result = CliRunner().invoke(cli, ["run", "--config", str(path)])

    assert result.exit_code == 2
    assert "discord.token_env: the environment variable CLASSPULSE_DISCORD_TOKEN is not set" in result.output
    assert "export CLASSPULSE_DISCORD_TOKEN=<your discord bot token>" in result.output
    assert "Traceback" not in result.output
