"""The Discord bot as a service of `classpulse run`: log in, connect, serve, close cleanly.

`start` returns once the bot is connected and its messenger is registered with the dispatcher. Problems an
admin must fix — no token, a token Discord rejects, a privileged intent not switched on in the Developer
Portal, slash commands refused for a server — end it with a `ServiceError` whose one line says what to do.
The token is read from the environment variable the configuration names, and is never logged.

discord.py reads Discord's REST and gateway addresses from class attributes, so `discord.api_base` (and
the gateway address asked from it) apply to the whole process; `stop` puts them back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping

import discord
import yarl
from discord.gateway import DiscordWebSocket

from adapters.discord.bot import BotParts, ClassPulseBot, CommandsNotRegistered
from bot.app import App
from bot.config.discord import DiscordConfig
from bot.domain import Platform
from bot.runtime import Service, ServiceError
from bot.usecases.countdown import Sleep

log = logging.getLogger(__name__)

PORTAL = "Developer Portal (https://discord.com/developers/applications)"


def missing_intents(flags: discord.ApplicationFlags, settings: DiscordConfig) -> list[tuple[str, str]]:
    """The privileged intents the config asks for that the application does not have: (name, config key)."""
    wanted = []
    if settings.message_content_intent:
        on = flags.gateway_message_content or flags.gateway_message_content_limited
        wanted.append(("Message Content", "discord.message_content_intent", on))
    if settings.members_intent:
        on = flags.gateway_guild_members or flags.gateway_guild_members_limited
        wanted.append(("Server Members", "discord.members_intent", on))
    missing = [(name, key) for name, key, on in wanted if not on]
    # Discord refused, whatever the flags say: name every privileged intent asked for.
    return missing or [(name, key) for name, key, _ in wanted]


class DiscordService:
    name = "discord"

    def __init__(
        self,
        app: App,
        *,
        environ: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        ready_timeout: float = 60.0,
        guild_ready_timeout: float = 2.0,
    ) -> None:
        self.app = app
        self.settings = app.config.discord
        self._environ = os.environ if environ is None else environ
        self._sleep = sleep
        self._ready_timeout = ready_timeout
        self._guild_ready_timeout = guild_ready_timeout  # how long discord.py waits for more servers at start
        self.bot: ClassPulseBot | None = None
        self._connection: asyncio.Task[None] | None = None
        self._saved = (discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)

    async def start(self) -> None:
        var = self.settings.token_env
        token = self._environ.get(var, "").strip()
        if not token:
            raise ServiceError(
                f"the Discord bot token is missing: export {var}=<the bot's token from the {PORTAL}, "
                "Bot > Reset Token>, or set discord.enabled = false"
            )
        try:
            await self._start(token)
        except BaseException:
            await self._close()
            raise

    async def _start(self, token: str) -> None:
        var = self.settings.token_env
        discord.http.Route.BASE = self.settings.api_base
        parts = BotParts.from_app(self.app, sleep=self._sleep)
        self.bot = bot = ClassPulseBot(parts, guild_ready_timeout=self._guild_ready_timeout)
        try:
            await bot.login(token)
            _, gateway, _ = await bot.http.get_bot_gateway()
        except discord.LoginFailure:
            raise ServiceError(
                f"Discord rejected the bot token in {var} (401 Unauthorized): copy the bot's current token "
                f"from the {PORTAL}, Bot > Reset Token, into {var}"
            ) from None
        except CommandsNotRegistered as error:
            raise ServiceError(
                f"{error}; invite the bot to that server with the scopes bot and applications.commands "
                "(README, Run on Discord)"
            ) from None
        except (discord.DiscordException, OSError) as error:
            raise ServiceError(f"cannot reach Discord at {self.settings.api_base}: {error}") from None
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
        self._connection = connection = asyncio.create_task(
            bot.connect(reconnect=True), name="discord-gateway"
        )
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait(
            [connection, ready], timeout=self._ready_timeout, return_when="FIRST_COMPLETED"
        )
        ready.cancel()
        if connection in done:
            raise self._connect_failure(bot, connection.exception())
        if not done:
            raise ServiceError(
                f"Discord's gateway did not answer within {self._ready_timeout:g} s; try again later"
            )
        connection.add_done_callback(self._connection_ended)
        self.app.messengers[Platform.DISCORD] = bot.messenger
        log.info("Discord bot %s connected to %d server(s)", bot.user, len(bot.guilds))

    def _connect_failure(self, bot: ClassPulseBot, error: BaseException | None) -> ServiceError:
        if isinstance(error, discord.PrivilegedIntentsRequired):
            missing = missing_intents(bot.application_flags, self.settings)
            names = " and ".join(name for name, _ in missing)
            keys = " and ".join(f"{key} = false" for _, key in missing)
            return ServiceError(
                f"Discord refused the privileged intent {names}: switch it on in the {PORTAL}, "
                f"Bot > Privileged Gateway Intents, or set {keys}"
            )
        return ServiceError(f"cannot connect to Discord's gateway: {error or 'closed'}")

    def _connection_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None and self.bot and not self.bot.is_closed():
            log.error("the Discord connection ended and will not come back: %s", task.exception())

    async def stop(self) -> None:
        await self._close()

    async def _close(self) -> None:
        bot, self.bot = self.bot, None
        if bot is not None:
            if self.app.messengers.get(Platform.DISCORD) is bot.messenger:
                del self.app.messengers[Platform.DISCORD]
            await bot.close()  # unloads the cogs: countdowns stop, watch time is credited
        if self._connection is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._connection
            self._connection = None
        discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._saved


async def build(app: App) -> Service:
    """The factory `classpulse run` calls when `[discord] enabled = true`."""
    return DiscordService(app)
