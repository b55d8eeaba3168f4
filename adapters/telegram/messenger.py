"""The Telegram messenger: neutral messages out through an aiogram `Bot`, every failure told apart.

Text is rendered to Telegram HTML at send time (every user-supplied value is escaped) and split into parts
of at most 4096 characters (`bot.splitting`); each part waits for the rate governor. Buttons whose callback
needs the private chat (join a class, claim an offer, open the chat) become signed deep links into it when
the messenger has `DeepLinks`. A send never raises; its `Delivery` says what happened:

- 429: every send of the bot pauses for `retry_after` and this one is tried again (a few times, and only
  while the wait is short); `retry` only if Telegram still says no.
- 403 (blocked, never started, kicked): `unreachable`, never retried.
- 400 "chat not found" and other refusals of the request itself: `dropped`, logged with the chat id.
- 5xx, timeouts, network errors, a rejected token: `retry`, with the reason.

A message marked `pin` is pinned once sent, where the bot has the right to (a refused pin is only logged).

A long text is several messages; if a part fails after earlier parts went out, the parts sent are
remembered under the message's idempotency key, so that the retry sends only the rest.

`close` (at shutdown) lets the sends already talking to Telegram finish; a send still waiting for the
governor then gives up with `retry`, so its message stays in the outbox for the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import TypeVar

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from adapters.telegram.deeplink import DeepLinks
from adapters.telegram.governor import GovernorClosed, RateGovernor
from adapters.telegram.polls import PollRef, PollRegistry
from bot import formatting
from bot.domain import Button, Delivery, DeliveryStatus, OutboundMessage, Platform
from bot.domain.callbacks import Callback
from bot.ports import Clock
from bot.splitting import split_rendered

MAX_MESSAGE_CHARS = 4096
MAX_CALLBACK_BYTES = 64
SHUTTING_DOWN = "the Telegram bot is shutting down; the message was not sent"

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Refused(Exception):
    """A call ended without a result: carries the Delivery to report."""

    def __init__(self, delivery: Delivery) -> None:
        super().__init__(delivery.reason)
        self.delivery = delivery


class TelegramMessenger:
    def __init__(
        self,
        bot: Bot,
        governor: RateGovernor,
        *,
        polls: PollRegistry | None = None,
        links: DeepLinks | None = None,
        clock: Clock | None = None,
        link_valid_for: timedelta = timedelta(hours=12),
        rate_limit_attempts: int = 4,
        max_wait: float = 30.0,
        remember_partial: int = 4096,
    ) -> None:
        """`links` (with a `clock`): turn the core's join/claim/start buttons into deep links that last
        `link_valid_for`. `rate_limit_attempts`: calls per part while Telegram answers 429; `max_wait`:
        the longest retry_after waited for inside one send (a longer one pauses the bot, reports `retry`)."""
        if links is not None and clock is None:
            raise ValueError("deep links need a clock for their expiry")
        self._bot = bot
        self._governor = governor
        self._polls = polls
        self._links = links
        self._clock = clock
        self._link_valid_for = link_valid_for
        self._attempts = max(rate_limit_attempts, 1)
        self._max_wait = max_wait
        self._partial: OrderedDict[str, list[str]] = OrderedDict()
        self._remember_partial = remember_partial
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def platform(self) -> Platform:
        return Platform.TELEGRAM

    @property
    def governor(self) -> RateGovernor:
        return self._governor

    async def close(self, grace: float) -> None:
        """Admit no more sends; wait up to `grace` seconds for those under way."""
        self._governor.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace)

    @asynccontextmanager
    async def _tracked(self) -> AsyncIterator[None]:
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    async def send(self, message: OutboundMessage) -> Delivery:
        async with self._tracked():
            return await self._send(message)

    async def _send(self, message: OutboundMessage) -> Delivery:
        try:
            chat_id = int(message.chat_id)
        except ValueError:
            return Delivery.dropped(f"not a Telegram chat id: {message.chat_id!r}")
        try:
            markup = self._keyboard(message.buttons)
        except ValueError as exc:
            return Delivery.dropped(str(exc))
        parts = split_rendered(message.text, MAX_MESSAGE_CHARS, Platform.TELEGRAM)
        if not parts:
            return Delivery.dropped("the message is empty")
        if message.edit_message_id:
            return await self._edit(message, chat_id, parts, markup)
        return await self._send_parts(message, chat_id, parts, markup)

    async def send_poll(
        self, chat_id: int, question: str, options: Sequence[str], *, course_id: str, class_id: str
    ) -> Delivery:
        """Send a non-anonymous poll (so that answers arrive) and remember it for intake."""
        send = partial(self._bot.send_poll, chat_id, question, list(options), is_anonymous=False)
        async with self._tracked():
            try:
                sent = await self._call(chat_id, send)
            except _Refused as refused:
                return refused.delivery
            if self._polls is not None and sent.poll is not None:
                ref = PollRef(sent.poll.id, course_id, class_id, chat_id, sent.message_id)
                await self._polls.remember(ref)
            return Delivery.delivered(str(sent.message_id))

    async def _send_parts(
        self, message: OutboundMessage, chat_id: int, parts: list[str], markup: InlineKeyboardMarkup | None
    ) -> Delivery:
        done = self._partial.pop(message.key, []) if message.key else []
        for index in range(len(done), len(parts)):
            keys = markup if index == len(parts) - 1 else None
            send = partial(
                self._bot.send_message, chat_id, parts[index], parse_mode=ParseMode.HTML, reply_markup=keys
            )
            try:
                sent = await self._call(chat_id, send)
            except _Refused as refused:
                if not done:
                    return refused.delivery
                if message.key and refused.delivery.status is DeliveryStatus.RETRY:
                    self._remember(message.key, done)
                note = f" (after {len(done)} of {len(parts)} parts went out)"
                return replace(refused.delivery, reason=refused.delivery.reason + note)
            done.append(str(sent.message_id))
        if message.pin:
            await self._pin(chat_id, int(done[-1]))
        # The last part carries the buttons: it is the one to edit later.
        return Delivery.delivered(done[-1])

    async def _pin(self, chat_id: int, message_id: int) -> None:
        """Pin where the bot may (a group admin with the right to pin); a refused pin is only logged.

        Quietly: the message itself has just notified everyone."""
        pin = partial(self._bot.pin_chat_message, chat_id, message_id, disable_notification=True)
        try:
            await self._call(chat_id, pin)
        except _Refused as refused:
            # `_judge` has logged the refusal already; this line says what it was about.
            log.info(
                "telegram: message %s in chat %s not pinned: %s", message_id, chat_id, refused.delivery.reason
            )

    async def _edit(
        self, message: OutboundMessage, chat_id: int, parts: list[str], markup: InlineKeyboardMarkup | None
    ) -> Delivery:
        if len(parts) > 1:
            return Delivery.dropped(
                f"an edited message must fit in one message ({MAX_MESSAGE_CHARS} characters)"
            )
        try:
            message_id = int(message.edit_message_id)
        except ValueError:
            return Delivery.dropped(f"not a Telegram message id: {message.edit_message_id!r}")
        edit = partial(
            self._bot.edit_message_text,
            text=parts[0],
            chat_id=chat_id,
            message_id=message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
        )
        try:
            await self._call(chat_id, edit)
        except _Refused as refused:
            if "message is not modified" in refused.delivery.reason:
                return Delivery.delivered(message.edit_message_id)  # it already says this
            return refused.delivery
        return Delivery.delivered(message.edit_message_id)

    async def _call(self, chat_id: int, call: Callable[[], Awaitable[T]]) -> T:
        """One API call behind the governor, retried while Telegram answers 429 with a short wait."""
        for attempt in range(1, self._attempts + 1):
            try:
                async with self._governor.slot(chat_id, private=chat_id > 0):
                    return await call()
            except TelegramRetryAfter as exc:
                # Telegram's flood control is per bot: every send waits, not just this one.
                self._governor.pause(exc.retry_after)
                if exc.retry_after > self._max_wait or attempt == self._attempts:
                    raise _Refused(
                        Delivery.retry(
                            f"rate limited by Telegram (retry after {exc.retry_after}s)", exc.retry_after
                        )
                    ) from None
                log.info("telegram: 429 for chat %s, every send pauses %ss", chat_id, exc.retry_after)
            except TelegramAPIError as exc:
                raise _Refused(self._judge(exc, chat_id)) from None
            except GovernorClosed:
                raise _Refused(Delivery.retry(SHUTTING_DOWN)) from None
            except ClientDecodeError:
                # A proxy's HTML error page instead of Telegram's JSON: a server trouble, try later.
                raise _Refused(Delivery.retry("undecodable answer from the Bot API server")) from None
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _judge(self, exc: TelegramAPIError, chat_id: int) -> Delivery:
        reason = self._redact(exc.message)
        if isinstance(exc, TelegramForbiddenError):
            log.info("telegram: chat %s refuses the bot: %s", chat_id, reason)
            return Delivery.unreachable(reason)
        if isinstance(exc, TelegramMigrateToChat):
            reason = f"the group became supergroup {exc.migrate_to_chat_id}: update telegram_chats"
            log.warning("telegram: chat %s: %s", chat_id, reason)
            return Delivery.dropped(reason)
        if isinstance(exc, TelegramBadRequest):
            if "chat not found" in reason.lower():
                log.warning("telegram: chat %s not found; message dropped", chat_id)
                return Delivery.dropped("chat not found")
            if "message is not modified" not in reason:
                log.warning("telegram: chat %s: request refused: %s", chat_id, reason)
            return Delivery.dropped(reason)
        if isinstance(exc, TelegramServerError):
            return Delivery.retry(f"Telegram server error: {reason}")
        if isinstance(exc, TelegramNetworkError):
            return Delivery.retry(f"network: {reason}")
        if isinstance(exc, TelegramUnauthorizedError):
            log.error(
                "telegram: the Bot API rejects the bot token (401); check the token's environment variable"
            )
            return Delivery.retry("the bot token was rejected (401 Unauthorized)")
        return Delivery.retry(f"unexpected answer from Telegram: {reason}")

    def _redact(self, text: str) -> str:
        # aiohttp may put a request URL, which holds the token, into an error message.
        return text.replace(self._bot.token, "<token>")

    def _remember(self, key: str, done: list[str]) -> None:
        self._partial[key] = done
        while len(self._partial) > self._remember_partial:
            self._partial.popitem(last=False)

    def _keyboard(self, buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
        """One button a row; raises ValueError for a button Telegram would refuse."""
        if not buttons:
            return None
        rows: list[list[InlineKeyboardButton]] = []
        for button in buttons:
            label = formatting.plain(button.label).strip()
            if not label:
                raise ValueError("a button has an empty label")
            url = button.url or self._deep_link(button.callback)
            if url:
                rows.append([InlineKeyboardButton(text=label, url=url)])
                continue
            if len(button.callback.encode()) > MAX_CALLBACK_BYTES:
                raise ValueError(f"button {label!r}: callback data longer than {MAX_CALLBACK_BYTES} bytes")
            rows.append([InlineKeyboardButton(text=label, callback_data=button.callback)])
        return InlineKeyboardMarkup(inline_keyboard=rows)

    def _deep_link(self, data: str) -> str:
        """The t.me link that opens the private chat for a join/claim/start callback ("" for others)."""
        callback = Callback.parse(data)
        if self._links is None or self._clock is None or callback is None:
            return ""
        return self._links.link(self._links.make(callback, self._clock.now() + self._link_valid_for))
