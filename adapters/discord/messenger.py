"""The messenger port on Discord: channel messages, direct messages, buttons and edits, through discord.py.

`send` never raises: every outcome is a `Delivery` the dispatcher acts on.
- delivered;
- retry: rate limited for longer than discord.py waits by itself, a Discord server error (5xx, after
  discord.py's own retries), a network failure or timeout, or a token Discord rejected;
- unreachable: the person does not accept direct messages from the bot (50007), or is unknown to Discord;
- dropped: the channel or message is gone, the bot may not post there, or Discord refused the message itself.

Rate limits: discord.py reads the `X-RateLimit-*` headers and waits on each route's bucket before sending,
so a burst into one channel is paced rather than answered with 429s. Discord's global limit (50 requests a
second) is not paced by discord.py, so every request made here first passes a smooth pacer below it.

Each message part carries a nonce derived from the message's idempotency key, with `enforce_nonce`: a send
retried after it had in fact reached Discord returns the first message instead of posting it again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

import aiohttp
import discord
from aiolimiter import AsyncLimiter

from bot.domain import Button, Delivery, OutboundMessage, Platform
from bot.splitting import split_rendered

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 2000
BUTTONS_PER_ROW = 5
MAX_BUTTONS = 25
LABEL_LIMIT = 80
CUSTOM_ID_LIMIT = 100

# Discord JSON error codes that mean "never retry".
CLOSED_DMS = 50007
UNKNOWN_USER = 10013
CANNOT_DM_RECIPIENT = 50033  # "Invalid Recipient(s)"
GONE = {10003: "unknown channel", 10008: "unknown message"}
NOT_ALLOWED = {
    50001: "missing access",
    50013: "missing permissions",
    50005: "message authored by someone else",
}
# Mentions a message may make: people yes (a campaign may mention a learner), never @everyone or roles.
ALLOWED_MENTIONS = discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False)


def nonce_for(key: str, part: int) -> str:
    """A nonce (at most 25 characters), the same each time the same part of the same message is sent."""
    return hashlib.blake2b(f"{key}#{part}".encode(), digest_size=12).hexdigest()


def build_view(buttons: tuple[Button, ...]) -> discord.ui.View | None:
    """The buttons as a view: url buttons open a link, the others send their callback as custom_id."""
    if not buttons:
        return None
    if len(buttons) > MAX_BUTTONS:
        raise ValueError(f"{len(buttons)} buttons; Discord shows at most {MAX_BUTTONS}")
    callbacks = [b.callback for b in buttons if b.callback]
    if len(set(callbacks)) != len(callbacks):
        raise ValueError("two buttons send the same callback; Discord needs each custom_id once per message")
    view = discord.ui.View(timeout=None)
    for i, button in enumerate(buttons):
        if len(button.label) > LABEL_LIMIT or not button.label:
            raise ValueError(f"button label {button.label!r} must be 1 to {LABEL_LIMIT} characters")
        row = i // BUTTONS_PER_ROW
        if button.url:
            view.add_item(discord.ui.Button(label=button.label, url=button.url, row=row))
        else:
            if len(button.callback) > CUSTOM_ID_LIMIT:
                raise ValueError(
                    f"button callback {button.callback!r} is longer than {CUSTOM_ID_LIMIT} characters"
                )
            view.add_item(
                discord.ui.Button(
                    label=button.label, custom_id=button.callback, style=discord.ButtonStyle.primary, row=row
                )
            )
    # Presses are answered by the handlers the bot registers for custom_ids (persistent across restarts);
    # a stopped view is only a description of the buttons, which discord.py then does not keep in memory.
    view.stop()
    return view


class OneAtATime:
    """One send at a time per chat, in the order they came.

    discord.py paces each route bucket from Discord's headers, but when more requests wait on one bucket than
    its window holds, the waiters' own refreshes can reset the bucket early and let one request too many
    through (a 429). Handing it one request per chat at a time leaves it nothing to race on, and keeps a
    channel's messages and edits in order. A channel takes 5 messages per 5 s, so nothing is slower for it.
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: Counter[str] = Counter()

    def busy(self) -> set[str]:
        """The chats a send holds or waits for."""
        return set(self._locks)

    @asynccontextmanager
    async def turn(self, chat_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._waiting[chat_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[chat_id] -= 1
            if not self._waiting[chat_id]:  # nobody else holds or waits: forget the chat
                del self._waiting[chat_id], self._locks[chat_id]


class DiscordMessenger:
    def __init__(
        self, client: discord.Client, *, requests_per_second: float = 40.0, timeout: float = 30.0
    ) -> None:
        self._client = client
        # One request at a time at a steady rate: at most rate + 1 requests in any one second.
        self._pace = AsyncLimiter(1, 1 / requests_per_second)
        self._chats = OneAtATime()
        self._timeout = timeout
        self._token_rejected = False

    @property
    def platform(self) -> Platform:
        return Platform.DISCORD

    async def send(self, message: OutboundMessage) -> Delivery:
        if message.platform is not Platform.DISCORD:
            return Delivery.dropped(f"a {message.platform.value} message given to the Discord messenger")
        if self._token_rejected:
            # Every request would be another 401; Discord bans bots that keep making invalid requests.
            return Delivery.retry("Discord rejected the bot token earlier; check the token and restart")
        if not message.chat_id.isdigit():
            return Delivery.dropped(f"chat id {message.chat_id!r} is not a Discord id")
        try:
            parts = split_rendered(message.text, MESSAGE_LIMIT, Platform.DISCORD)
            view = build_view(message.buttons)
        except ValueError as error:
            return Delivery.dropped(f"cannot be shown on Discord: {error}")
        if not parts and view is None:
            return Delivery.dropped("empty message")
        try:
            async with self._chats.turn(message.chat_id), asyncio.timeout(self._timeout):
                if message.edit_message_id:
                    return await self._edit(message, parts, view)
                return await self._post(message, parts, view)
        except Exception as error:  # the port promises a Delivery, whatever went wrong
            return self._failed(message, error)

    async def post_poll(
        self, chat_id: str, question: str, answers: Sequence[str], *, key: str, hours: int = 1
    ) -> Delivery:
        """A native Discord poll (one answer each, open `hours`) in a channel; never raises, like `send`."""
        where = OutboundMessage(key, Platform.DISCORD, chat_id, question, private=False)
        if self._token_rejected:
            return Delivery.retry("Discord rejected the bot token earlier; check the token and restart")
        if not chat_id.isdigit():
            return Delivery.dropped(f"chat id {chat_id!r} is not a Discord id")
        poll = discord.Poll(question=question, duration=timedelta(hours=hours), multiple=False)
        for answer in answers:
            poll.add_answer(text=answer)
        try:
            async with self._chats.turn(chat_id), asyncio.timeout(self._timeout), self._pace:
                sent = await self._client.get_partial_messageable(int(chat_id)).send(
                    poll=poll, nonce=nonce_for(key, 0), allowed_mentions=ALLOWED_MENTIONS
                )
        except Exception as error:  # a Delivery, whatever went wrong
            return self._failed(where, error)
        return Delivery.delivered(str(sent.id))

    async def _channel(self, message: OutboundMessage) -> discord.abc.Messageable:
        target = int(message.chat_id)
        if message.private:
            # chat_id of a private message is the person's Discord user id; their DM channel is opened once.
            async with self._pace:
                return await self._client.create_dm(discord.Object(id=target))
        return self._client.get_partial_messageable(target)

    async def _post(
        self, message: OutboundMessage, parts: list[str], view: discord.ui.View | None
    ) -> Delivery:
        channel = await self._channel(message)
        key = message.key or secrets.token_hex(8)  # without a key, no two sends are the same message
        sent: discord.Message | None = None
        last = max(len(parts), 1) - 1
        for i, text in enumerate(parts or [""]):
            async with self._pace:
                sent = await channel.send(
                    content=text or None,
                    view=view if i == last and view is not None else discord.utils.MISSING,
                    nonce=nonce_for(key, i),
                    allowed_mentions=ALLOWED_MENTIONS,
                )
        assert sent is not None
        if message.pin:
            await self._pin(sent, message)
        # The part with the buttons is the one later edits change (e.g. closing a "Join" button).
        return Delivery.delivered(str(sent.id))

    async def _pin(self, sent: discord.Message, message: OutboundMessage) -> None:
        """Pin where the bot may; a refused pin is worth a log line, not a failed delivery."""
        try:
            async with self._pace:
                await sent.pin()
        except discord.HTTPException as error:
            log.warning("could not pin message %s in channel %s: %s", sent.id, message.chat_id, error.text)

    async def _edit(
        self, message: OutboundMessage, parts: list[str], view: discord.ui.View | None
    ) -> Delivery:
        if len(parts) > 1:
            return Delivery.dropped(f"the new text is longer than Discord's {MESSAGE_LIMIT} characters")
        channel = await self._channel(message)
        if not isinstance(channel, discord.DMChannel | discord.PartialMessageable):
            return Delivery.dropped("the channel cannot hold messages")
        target = channel.get_partial_message(int(message.edit_message_id))
        async with self._pace:
            edited = await target.edit(
                content=parts[0] if parts else "",
                view=view,
                allowed_mentions=ALLOWED_MENTIONS,
            )
        return Delivery.delivered(str(edited.id))

    def _failed(self, message: OutboundMessage, error: Exception) -> Delivery:
        where = f"{'user' if message.private else 'channel'} {message.chat_id}"
        if isinstance(error, discord.RateLimited):
            return Delivery.retry(
                f"rate limited by Discord for {error.retry_after:.0f}s", after=error.retry_after
            )
        if isinstance(error, discord.HTTPException):
            return self._http_failure(where, error)
        if isinstance(error, TimeoutError | aiohttp.ClientError | OSError):
            log.warning("Discord send to %s failed: %s", where, type(error).__name__)
            return Delivery.retry(f"network: {type(error).__name__} {error}".strip())
        log.exception("Discord send to %s failed unexpectedly", where)
        return Delivery.retry(f"unexpected {type(error).__name__}: {error}")

    def _http_failure(self, where: str, error: discord.HTTPException) -> Delivery:
        status, code = error.status, error.code
        said = (
            f"Discord {status} (code {code}): {error.text}"
            if error.text
            else f"Discord {status} (code {code})"
        )
        if code in (CLOSED_DMS, CANNOT_DM_RECIPIENT):
            return Delivery.unreachable(f"does not accept direct messages from the bot ({code})")
        if code == UNKNOWN_USER:
            return Delivery.unreachable(f"unknown Discord user ({code})")
        if status == 401:
            self._token_rejected = True
            log.error("Discord rejected the bot token (401); no further sends until it is fixed")
            return Delivery.retry("Discord rejected the bot token (401)")
        if status == 429:
            after = float(error.response.headers.get("Retry-After", 1) or 1)
            return Delivery.retry(f"rate limited by Discord ({said})", after=after)
        if status >= 500:
            log.warning("Discord server error sending to %s: %s", where, said)
            return Delivery.retry(f"Discord server error: {said}")
        log.warning("Discord message to %s dropped: %s", where, said)
        return Delivery.dropped(f"{GONE.get(code) or NOT_ALLOWED.get(code) or said} ({where})")
