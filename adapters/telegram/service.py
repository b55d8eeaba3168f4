"""The Telegram bot as a service of `classpulse run`: check the token, serve updates, stop cleanly.

`start` returns once the bot is serving and its messenger is registered with the dispatcher. Problems an
admin must fix — no token, a token Telegram rejects, a missing deep-link or webhook secret, a Bot API
server that cannot be reached, a webhook Telegram refuses — end it with a `ServiceError` whose one line
says what to do. Secrets are read from the environment variables the configuration names, and never logged.

Updates arrive by long polling (the default) or by webhook on ClassPulse's own web server
(`telegram.mode`). `stop` first takes no more updates, lets the updates under way finish, stops the offer
countdowns, then closes the messenger: sends already talking to Telegram finish, those still waiting for
the rate governor come back as `retry` and stay in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping

from aiogram import Bot
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramUnauthorizedError
from aiogram.utils.token import TokenValidationError
from aiohttp import web

from adapters.telegram.bot import TelegramBot, assemble
from adapters.telegram.client import make_bot
from adapters.telegram.deeplink import DeepLinks, DeepLinkSecretMissing
from adapters.telegram.intake import INTAKE_UPDATES
from adapters.telegram.webhook import webhook_app
from bot.app import App
from bot.config.telegram import WEBHOOK_SECRET
from bot.domain import Platform
from bot.runtime import Service, ServiceError
from bot.usecases.countdown import Sleep

log = logging.getLogger(__name__)

PRIVACY_MODE_ON = (
    "Telegram privacy mode is on for @%s: in groups it sees only commands and replies to it, so ordinary "
    "messages and questions are not counted. Turn it off with @BotFather: /setprivacy, choose the bot, "
    "Disable (then remove the bot from each course group and add it again)."
)


class TelegramService:
    name = "telegram"

    def __init__(
        self,
        app: App,
        *,
        environ: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        polling_timeout: int = 10,
        grace: float = 10.0,
    ) -> None:
        """`polling_timeout`: seconds one getUpdates call waits for updates; `grace`: how long `stop` waits
        for the updates and sends under way."""
        self.app = app
        self.settings = app.config.telegram
        self._environ = os.environ if environ is None else environ
        self._sleep = sleep
        self._polling_timeout = polling_timeout
        self._grace = grace
        self.telegram: TelegramBot | None = None
        self.webhook_address: tuple[str, int] | None = None  # where the webhook server listens
        self._bot: Bot | None = None
        self._polling: asyncio.Task[None] | None = None
        self._webhook: web.AppRunner | None = None

    def _secret(self, variable: str) -> str:
        return self._environ.get(variable, "").strip()

    async def start(self) -> None:
        var = self.settings.token_env
        token = self._secret(var)
        if not token:
            raise ServiceError(
                f"the Telegram bot token is missing: export {var}=<the token @BotFather gave you>, "
                "or set telegram.enabled = false"
            )
        try:
            links = DeepLinks.from_env(self._environ, self.settings.link_secret_env, self.app.config.courses)
        except DeepLinkSecretMissing as exc:
            raise ServiceError(str(exc)) from None
        webhook_secret = ""
        if self.settings.mode == "webhook":
            secret_var = self.settings.webhook.secret_env
            webhook_secret = self._secret(secret_var)
            if not WEBHOOK_SECRET.fullmatch(webhook_secret):
                raise ServiceError(
                    f"the webhook secret in {secret_var} is missing or not 1-256 characters of A-Z, a-z, "
                    f'0-9, _ and -: export {secret_var}="$(openssl rand -hex 32)"'
                )
        try:
            self._bot = make_bot(token, self.settings)
        except TokenValidationError:  # aiogram checks the shape before any request
            raise ServiceError(
                f"the value of {var} is not a Telegram bot token (digits, a colon, then letters, with no "
                f"spaces): copy the bot's token from @BotFather (/mybots, the bot, API Token) into {var}"
            ) from None
        try:
            await self._start(self._bot, links, webhook_secret)
        except BaseException:
            await self._close()
            raise

    async def _start(self, bot: Bot, links: DeepLinks, webhook_secret: str) -> None:
        var, server = self.settings.token_env, self.settings.api_server
        try:
            me = await bot.me()
        except TelegramUnauthorizedError:
            raise ServiceError(
                f"Telegram rejected the bot token in {var} (401 Unauthorized): ask @BotFather for the "
                f"bot's current token (/mybots, the bot, API Token) and put it in {var}"
            ) from None
        except (TelegramAPIError, ClientDecodeError) as exc:
            reason = str(exc).replace(bot.token, "<token>")
            raise ServiceError(f"cannot reach the Telegram Bot API at {server}: {reason}") from None
        links.bot_username = self.settings.bot_username or me.username or ""
        if not me.can_read_all_group_messages:
            log.warning(PRIVACY_MODE_ON, links.bot_username)
        self.telegram = telegram = assemble(self.app, bot, links, sleep=self._sleep)
        await telegram.publish_commands()
        if self.settings.mode == "webhook":
            await self._serve_webhook(telegram, webhook_secret)
        else:
            await self._poll(telegram)
        self.app.messengers[Platform.TELEGRAM] = telegram.messenger
        log.info("Telegram bot @%s serving updates by %s", links.bot_username, self.settings.mode)

    async def _poll(self, telegram: TelegramBot) -> None:
        try:
            # A webhook left over from an earlier webhook-mode run would make getUpdates fail (409).
            await telegram.bot.delete_webhook(drop_pending_updates=False)
        except TelegramAPIError as exc:
            raise ServiceError(f"Telegram refused to switch the bot to polling: {exc.message}") from None
        self._polling = asyncio.create_task(
            telegram.dispatcher.start_polling(
                telegram.bot,
                polling_timeout=self._polling_timeout,
                handle_signals=False,  # `classpulse run` owns the signals and stops the services
                close_bot_session=False,
                allowed_updates=list(INTAKE_UPDATES),
                tasks_concurrency_limit=64,
            ),
            name="telegram-polling",
        )

    async def _serve_webhook(self, telegram: TelegramBot, secret: str) -> None:
        hook = self.settings.webhook
        app = webhook_app(telegram.dispatcher, telegram.bot, hook.path, secret)
        self._webhook = runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=self._grace
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, hook.host, hook.port).start()
        except OSError as exc:
            raise ServiceError(
                f"cannot listen on {hook.listen} for Telegram's webhook (telegram.webhook.listen): "
                f"{exc.strerror or exc}"
            ) from None
        host, port = runner.addresses[0][:2]
        self.webhook_address = (str(host), int(port))
        try:
            await telegram.bot.set_webhook(
                hook.url,
                secret_token=secret,
                allowed_updates=list(INTAKE_UPDATES),
                drop_pending_updates=False,
            )
        except TelegramAPIError as exc:
            raise ServiceError(
                f"Telegram refused the webhook {hook.url} (telegram.webhook.url): {exc.message}"
            ) from None
        log.info("Telegram webhook: %s arrives at %s:%s%s", hook.url, host, port, hook.path)

    async def stop(self) -> None:
        await self._close()

    async def _close(self) -> None:
        telegram, self.telegram = self.telegram, None
        polling, self._polling = self._polling, None
        if polling is not None and telegram is not None:
            with contextlib.suppress(RuntimeError):  # polling had not started yet
                await telegram.dispatcher.stop_polling()
            polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
        webhook, self._webhook = self._webhook, None
        if webhook is not None:
            await webhook.cleanup()  # takes no more updates; the requests under way finish
        if telegram is not None:
            if not await telegram.in_flight.idle(self._grace):
                log.warning(
                    "telegram: %d updates were still being handled at shutdown", telegram.in_flight.count
                )
            await telegram.countdowns.stop()
            # The messenger stays registered: what the dispatcher still hands it comes back as `retry`.
            await telegram.messenger.close(self._grace)
        bot, self._bot = self._bot, None
        if bot is not None:
            await bot.session.close()


async def build(app: App) -> Service:
    """The factory `classpulse run` calls when `[telegram] enabled = true`."""
    return TelegramService(app)
