"""A course on Telegram for end-to-end tests: the emulated group and people, the real App and the real bot.

The App runs on simulated time (a ManualClock, the manual scheduler; `advance` fires due campaign steps and
drains the outbox); the bot is the `TelegramService` of `classpulse run`, its aiogram Bot talking HTTP to
the emulator, receiving updates by long polling (or by webhook through the emulator's stand-in proxy).
"""

from __future__ import annotations

import asyncio
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.telegram.bot import TelegramBot
from adapters.telegram.service import TelegramService
from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import parse_config
from bot.simulated_time import advance
from tests.emulators.telegram_api import SentMessage, TelegramEmulator, TgChat, TgUser

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
TOKEN_VAR = "CLASSPULSE_TELEGRAM_TOKEN"
LINK_VAR = "CLASSPULSE_TELEGRAM_LINK_SECRET"
HOOK_VAR = "CLASSPULSE_TELEGRAM_WEBHOOK_SECRET"
LINK_SECRET = "deep-link-secret-for-the-tests-0123456789"
HOOK_SECRET = "webhook-secret_for-the-tests-42"
PUBLIC_HOOK = "https://bot.example.com"
COURSE = "python101"
STREAM = "https://youtube.com/live/abc"


def classroom_toml(
    tg: TelegramEmulator, group: TgChat, teachers: list[TgUser], **telegram: Any
) -> dict[str, Any]:
    """The example configuration, with the emulated group as the course's chat and Telegram enabled."""
    raw: dict[str, Any] = tomllib.loads(EXAMPLE.read_text())
    course = raw["courses"][COURSE]
    course["telegram_chats"] = [group.id]
    course["discord_channels"] = []  # a Telegram-only course: nothing is queued for a Discord bot
    course["teachers"]["telegram"] = [t.id for t in teachers]
    raw["telegram"].update({"enabled": True, "api_server": tg.base_url, **telegram})
    return raw


def environ(tg: TelegramEmulator) -> dict[str, str]:
    return {TOKEN_VAR: tg.token, LINK_VAR: LINK_SECRET, HOOK_VAR: HOOK_SECRET}


class Classroom:
    """Tess teaches Python 101 in its group; Ann and Bob are in the group."""

    def __init__(
        self,
        tg: TelegramEmulator,
        app: App,
        clock: ManualClock,
        service: TelegramService,
        people: tuple[TgUser, TgUser, TgUser],
        group: TgChat,
    ) -> None:
        self.tg = tg
        self.app = app
        self.clock = clock
        self.service = service
        self.teacher, self.ann, self.bob = people
        self.group = group

    @classmethod
    async def open(
        cls, tg: TelegramEmulator, redis_url: str, clock: ManualClock, **telegram: Any
    ) -> Classroom:
        teacher = tg.add_user("Tess", username="tess", started=True)
        ann = tg.add_user("Ann")
        bob = tg.add_user("Bob")
        group = tg.add_group("Python 101", members=[ann, bob], admins=[teacher])
        config = parse_config(classroom_toml(tg, group, [teacher], **telegram), environ=environ(tg))
        app = await build_app(config, clock=clock, redis_url=redis_url, scheduler_mode="manual")
        service = TelegramService(app, environ=environ(tg), polling_timeout=1, sleep=_never)
        return cls(tg, app, clock, service, (teacher, ann, bob), group)

    async def start(self) -> None:
        await self.service.start()
        if self.service.webhook_address is not None:
            host, port = self.service.webhook_address
            self.tg.forward_webhook(PUBLIC_HOOK, f"http://{host}:{port}")

    async def close(self) -> None:
        await self.service.stop()
        await self.app.close()

    @property
    def bot(self) -> TelegramBot:
        assert self.service.telegram is not None, "the service is not running"
        return self.service.telegram

    async def settle(self) -> None:
        """Wait until the bot has taken every update and finished handling it (a bound, not a timing)."""
        quiet = 0
        for _ in range(1000):
            idle = not self.tg.pending_updates and self.bot.in_flight.count == 0
            quiet = quiet + 1 if idle else 0
            if quiet == 3:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the bot did not finish handling its updates")

    async def say(self, user: TgUser, text: str, chat: TgChat | TgUser | None = None) -> dict[str, Any]:
        """`user` writes `text` in `chat` (default: the course group); returns once the bot handled it."""
        update = await self.tg.send_text(chat if chat is not None else self.group, user, text)
        await self.settle()
        return update

    async def open_link(self, user: TgUser, url: str) -> None:
        """`user` follows a t.me deep link: the bot's private chat opens and they press Start."""
        prefix = f"https://t.me/{self.tg.bot_user.username}?start="
        assert url.startswith(prefix), url
        await self.tg.start_bot(user, url[len(prefix) :])
        await self.settle()

    async def deliver(self) -> None:
        """The dispatcher sends what is queued now (the live announcement in the group, say)."""
        await self.app.dispatcher.drain()

    async def go_live(self, title: str = "Decorators", stream: str = STREAM) -> SentMessage:
        """The teacher goes live; the announcement is delivered to the group. Returns it."""
        await self.say(self.teacher, f"/live {stream} {title}")
        await self.deliver()
        [announcement] = [m for m in self.tg.messages(self.group.id) if m.text.startswith("🔴 Live now")][-1:]
        return announcement

    async def advance(self, to: datetime) -> None:
        """Simulated time moves on: due campaign steps run and the outbox is delivered."""
        await advance(self.app, self.clock, to)

    def group_texts(self) -> list[str]:
        return [m.text for m in self.tg.messages(self.group.id)]

    def texts(self, user: TgUser) -> list[str]:
        return [m.text for m in self.tg.messages(user.id)]

    def last(self, chat: TgChat | TgUser) -> SentMessage:
        return self.tg.messages(chat.id)[-1]


async def _never(seconds: float) -> None:
    """The offer countdowns' sleep in these tests: simulated time does not pass by itself."""
    await asyncio.Event().wait()
