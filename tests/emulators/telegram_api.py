"""A local Telegram Bot API server for tests: the real aiogram `Bot` talks HTTP to it.

    async with TelegramEmulator() as tg:
        bot = tg.bot()                         # aiogram Bot, session pointed at this server
        ann = tg.add_user("Ann", started=True)
        group = tg.add_group("Python 101", members=[ann])
        await bot.send_message(ann.id, "hi")   # recorded: tg.messages(ann.id)
        await tg.send_text(group, ann, "what is a list?")   # an update, via getUpdates or the webhook

It behaves like api.telegram.org where ClassPulse depends on it: the JSON shapes of the Bot API, HTML parse
mode validated (malformed HTML is a 400 "can't parse entities"), 4096-character texts, 403 for users who never
started the bot or blocked it, 400 "chat not found", getUpdates with offsets and long polling, webhooks with a
secret token, and the flood limits (per bot, per private chat, per group) answered with 429 and retry_after.
Tests inject faults (429, 403, 5xx, hangs) and updates, and read back every message sent, edited or pinned.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
from aiohttp import web

from tests.emulators.telegram_html import HtmlError, parse_html

if TYPE_CHECKING:
    from aiogram import Bot

# Shaped as aiogram checks a token (digits, colon, secret), and plainly not a real one.
DEFAULT_TOKEN = "123456789:fake-token-for-the-emulator"
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "callback_query",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "message_reaction",
        "message_reaction_count",
    }
)
# Update types Telegram leaves out unless a bot asks for them in allowed_updates.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_JSON_FIELDS = frozenset(
    {"reply_markup", "allowed_updates", "options", "commands", "scope", "link_preview_options"}
)

# A fixture's factory: `tg = await make_tg(limits=EmulatorLimits(...))`.
MakeEmulator = Callable[..., Awaitable["TelegramEmulator"]]

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a "
    "current content and reply markup of the message"
)

Json = dict[str, Any]


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: Json | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> Json:
        body: Json = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


# --------------------------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class EmulatorLimits:
    """Flood limits of the emulated server (Telegram's defaults).

    Each limit is a rate with a burst allowance, checked with the generic cell rate algorithm: after a quiet
    spell up to `burst` messages pass at once, then no more than the rate. `jitter` seconds of earliness are
    forgiven, as network delay makes a well-paced client's requests arrive a little bunched.
    """

    per_bot_per_second: float = 30.0
    bot_burst: int | None = None  # default: one second's worth
    per_private_chat_per_second: float = 1.0
    per_group_per_minute: float = 20.0
    group_burst: int | None = None  # default: one minute's worth
    jitter: float = 0.05


class _Gcra:
    def __init__(self, rate_per_second: float, burst: int, jitter: float) -> None:
        self.interval = 1.0 / rate_per_second
        self.tolerance = (max(burst, 1) - 1) * self.interval + jitter
        self.tat = 0.0  # theoretical arrival time of the next conforming message

    def wait_needed(self, now: float) -> float:
        """0 when a message may pass now, else how long until it may."""
        tat = max(self.tat, now)
        return max(tat - self.tolerance - now, 0.0)

    def take(self, now: float) -> None:
        self.tat = max(self.tat, now) + self.interval


# --------------------------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class Fault:
    """A wrong answer the emulator gives instead of doing the call."""

    status: int
    description: str
    retry_after: int | None = None
    hang: float = 0.0  # seconds to wait before answering (past the client's timeout)
    deliver: bool = False  # with hang: still perform the call (the client timed out, the message went out)

    @classmethod
    def rate_limited(cls, retry_after: int) -> Fault:
        return cls(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)

    @classmethod
    def blocked(cls) -> Fault:
        return cls(403, "Forbidden: bot was blocked by the user")

    @classmethod
    def forbidden(cls, description: str = "Forbidden: bot was blocked by the user") -> Fault:
        return cls(403, description)

    @classmethod
    def server_error(cls, status: int = 500, description: str = "Internal Server Error") -> Fault:
        return cls(status, description)

    @classmethod
    def bad_request(cls, description: str) -> Fault:
        return cls(400, f"Bad Request: {description}")

    @classmethod
    def timeout(cls, seconds: float, deliver: bool = False) -> Fault:
        return cls(504, "Gateway Timeout", hang=seconds, deliver=deliver)


@dataclass
class _FaultRule:
    fault: Fault
    remaining: int | None  # None: for ever
    chat_id: int | None
    method: str | None
    skip: int  # matching calls to let through first

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self.chat_id is not None:
            return chat_id == self.chat_id
        # Without a chat, a rule hits calls that target some chat (never getUpdates or getMe).
        return self.method is not None or chat_id is not None


# --------------------------------------------------------------------------------------------- state


@dataclass
class TgUser:
    id: int
    first_name: str
    last_name: str = ""
    username: str = ""
    language_code: str = "en"
    is_bot: bool = False
    started: bool = False  # sent /start to the bot: the bot may write to them
    blocked: bool = False  # blocked the bot

    def as_json(self) -> Json:
        data: Json = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        return data

    def private_chat_json(self) -> Json:
        data: Json = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


MemberStatus = Literal["creator", "administrator", "member", "restricted", "left", "kicked"]


@dataclass
class TgChat:
    id: int
    title: str
    type: Literal["group", "supergroup"] = "supergroup"
    members: dict[int, MemberStatus] = field(default_factory=dict)
    bot_status: MemberStatus = "administrator"

    def as_json(self) -> Json:
        return {"id": self.id, "type": self.type, "title": self.title}


@dataclass
class TgPoll:
    id: str
    chat_id: int
    message_id: int
    question: str
    options: list[str]
    is_anonymous: bool
    allows_multiple_answers: bool
    type: str = "regular"
    is_closed: bool = False
    votes: dict[int, list[int]] = field(default_factory=dict)

    def as_json(self) -> Json:
        counts = Counter(option for chosen in self.votes.values() for option in chosen)
        return {
            "id": self.id,
            "question": self.question,
            "options": [
                {"persistent_id": f"{self.id}-{i}", "text": text, "voter_count": counts[i]}
                for i, text in enumerate(self.options)
            ],
            "total_voter_count": sum(1 for chosen in self.votes.values() if chosen),
            "is_closed": self.is_closed,
            "is_anonymous": self.is_anonymous,
            "type": self.type,
            "allows_multiple_answers": self.allows_multiple_answers,
            "allows_revoting": True,
            "members_only": False,
        }


@dataclass
class SentMessage:
    """A message the bot sent, as the emulator keeps it for assertions."""

    chat_id: int
    message_id: int
    text: str  # what the user sees (entities parsed)
    raw: str  # what the bot sent
    parse_mode: str
    entities: list[Json]
    reply_markup: Json | None
    date: int
    poll_id: str = ""
    pinned: bool = False
    deleted: bool = False
    history: list[str] = field(default_factory=list)  # earlier raw texts, oldest first

    @property
    def buttons(self) -> list[Json]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    @property
    def edits(self) -> int:
        return len(self.history)


@dataclass
class Stats:
    calls: Counter[str] = field(default_factory=Counter)
    too_many_requests: int = 0  # every 429 answered, from the limits or injected
    limited: Counter[str] = field(default_factory=Counter)  # 429s from the limits: "bot", "private", "group"
    faults: int = 0  # injected faults served


@dataclass
class WebhookDelivery:
    update_id: int
    status: int  # HTTP status the bot's server answered (0: no answer)


# --------------------------------------------------------------------------------------------- server


class TelegramEmulator:
    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = "classpulse_test_bot",
        limits: EmulatorLimits | None = None,
        privacy_mode: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """`clock`: seconds, for the flood limits (default: the event loop's clock); a fixed one makes
        every request arrive at the same instant."""
        self.token = token
        self._clock = clock
        bot_id = int(token.split(":", maxsplit=1)[0])
        self.bot_user = TgUser(bot_id, "ClassPulse", username=username, is_bot=True)
        self.privacy_mode = privacy_mode
        self.limits = limits or EmulatorLimits()
        self.users: dict[int, TgUser] = {}
        self.chats: dict[int, TgChat] = {}
        self.stats = Stats()
        self.commands: dict[str, list[Json]] = {}
        self.callback_answers: dict[str, Json] = {}  # callback query id -> what the bot answered
        self._open_queries: set[str] = set()
        self.webhook_deliveries: list[WebhookDelivery] = []
        self._sent: list[SentMessage] = []
        self._messages: dict[int, dict[int, SentMessage]] = defaultdict(dict)
        self._chat_log: dict[int, dict[int, Json]] = defaultdict(dict)  # every message in a chat, as JSON
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._polls: dict[str, TgPoll] = {}
        self._poll_ids = itertools.count(5_100_000_000_000_000_001)
        self._callback_ids = itertools.count(7_300_000_001)
        self._user_ids = itertools.count(700_000_001)
        self._group_ids = itertools.count(1_001_900_000_001)
        self._update_ids = itertools.count(400_000_001)
        self._updates: list[Json] = []
        self._arrived = asyncio.Event()
        self._poller: asyncio.Future[None] | None = None
        self._allowed_updates: frozenset[str] | None = None  # None: Telegram's default set
        self._webhook: Json | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._forwards: dict[str, str] = {}  # public webhook address prefix -> local address
        self._faults: list[_FaultRule] = []
        self._bot_limit = self._gcra(self.limits.per_bot_per_second, self.limits.bot_burst)
        self._chat_limits: dict[int, _Gcra] = {}
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.base_url = ""
        self.app = web.Application(client_max_size=4 * 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle)

    # ----------------------------------------------------------------------------------- lifecycle

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def close(self) -> None:
        self._closing.set()
        self._arrived.set()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> TelegramEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def bot(self, timeout: float = 5.0) -> Bot:
        """A real aiogram Bot talking to this server; close it with `await bot.session.close()`."""
        # Imported here so that the emulator process of benchmarks starts without loading aiogram.
        from aiogram import Bot

        from tests.emulators.local_session import LocalSession

        return Bot(self.token, session=LocalSession(self.base_url, timeout))

    # ----------------------------------------------------------------------------------- the world

    def add_user(
        self,
        first_name: str = "Learner",
        *,
        user_id: int | None = None,
        username: str = "",
        last_name: str = "",
        language_code: str = "en",
        started: bool = False,
    ) -> TgUser:
        user = TgUser(
            user_id if user_id is not None else next(self._user_ids),
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            started=started,
        )
        self.users[user.id] = user
        return user

    def add_group(
        self,
        title: str = "Course group",
        *,
        chat_id: int | None = None,
        members: Iterable[TgUser] = (),
        admins: Iterable[TgUser] = (),
        owner: TgUser | None = None,
        bot_status: MemberStatus = "administrator",
        type: Literal["group", "supergroup"] = "supergroup",
    ) -> TgChat:
        chat = TgChat(
            chat_id if chat_id is not None else -next(self._group_ids), title, type, bot_status=bot_status
        )
        for user in members:
            chat.members[user.id] = "member"
        for user in admins:
            chat.members[user.id] = "administrator"
        if owner is not None:
            chat.members[owner.id] = "creator"
        self.chats[chat.id] = chat
        return chat

    def bot_message(self, chat: TgChat | TgUser, text: str, reply_markup: Json | None = None) -> SentMessage:
        """A message as if the bot had sent it (no HTTP, no limits): for tests of what users do with it."""
        sent = SentMessage(
            chat.id, next(self._message_ids[chat.id]), text, text, "", [], reply_markup, int(time.time())
        )
        self._record(chat, sent)
        return sent

    def bot_poll(
        self, chat: TgChat, question: str, options: Sequence[str], *, anonymous: bool = False
    ) -> TgPoll:
        """A poll as if the bot had sent it (no HTTP, no limits)."""
        message_id = next(self._message_ids[chat.id])
        poll = TgPoll(
            str(next(self._poll_ids)), chat.id, message_id, question, list(options), anonymous, False
        )
        self._polls[poll.id] = poll
        self._record(
            chat,
            SentMessage(chat.id, message_id, question, question, "", [], None, int(time.time()), poll.id),
        )
        return poll

    def block(self, user: TgUser) -> None:
        user.blocked = True

    def kick_bot(self, chat: TgChat) -> None:
        chat.bot_status = "kicked"

    def inject_fault(
        self,
        fault: Fault,
        *,
        times: int | None = 1,
        chat_id: int | None = None,
        method: str | None = None,
        after: int = 0,
    ) -> None:
        """Answer `times` matching calls (None: every one) with `fault` instead of doing them, once `after`
        matching calls have gone through normally.

        Matching: calls to `chat_id` if given, calls of `method` if given; with neither, any call that
        targets a chat.
        """
        self._faults.append(_FaultRule(fault, times, chat_id, method, after))

    def clear_faults(self) -> None:
        self._faults.clear()

    # ----------------------------------------------------------------------------------- assertions

    @property
    def sent(self) -> list[SentMessage]:
        """Every message the bot sent, in order (edits change these records in place)."""
        return list(self._sent)

    def messages(self, chat_id: int) -> list[SentMessage]:
        """Messages the bot sent to a chat and did not delete, oldest first."""
        return [m for m in self._messages[chat_id].values() if not m.deleted]

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        return self._messages[chat_id][message_id]

    def poll(self, poll_id: str) -> TgPoll:
        return self._polls[poll_id]

    @property
    def pending_updates(self) -> list[Json]:
        return list(self._updates)

    # ----------------------------------------------------------------------------------- updates

    async def send_text(
        self, chat: TgChat | TgUser, user: TgUser, text: str, *, reply_to: int | None = None
    ) -> Json:
        """`user` writes `text` in `chat` (a group, or their private chat with the bot)."""
        message = self._user_message(chat, user)
        message["text"] = text
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            if isinstance(chat, TgUser) and command == "/start":
                user.started = True
                user.blocked = False
        if reply_to is not None:
            message["reply_to_message"] = self._chat_log[chat.id][reply_to]
        return await self._emit({"message": message})

    async def start_bot(self, user: TgUser, payload: str = "") -> Json:
        """`user` opens the bot (through a deep link when `payload` is given) and presses Start."""
        return await self.send_text(user, user, f"/start {payload}".strip())

    async def press_button(self, user: TgUser, message: SentMessage, data: str) -> Json:
        """`user` presses the callback button carrying `data` under one of the bot's messages."""
        if not any(b.get("callback_data") == data for b in message.buttons):
            raise ValueError(f"message {message.message_id} has no button with callback data {data!r}")
        query_id = str(next(self._callback_ids))
        self._open_queries.add(query_id)
        query = {
            "id": query_id,
            "from": user.as_json(),
            "message": self._chat_log[message.chat_id][message.message_id],
            "chat_instance": str(abs(message.chat_id) * 7 + 3),
            "data": data,
        }
        return await self._emit({"callback_query": query})

    async def answer_poll(self, user: TgUser, poll_id: str, option_ids: Sequence[int]) -> Json:
        """`user` votes; the bot hears of it only for its own non-anonymous polls (a poll_answer)."""
        poll = self._polls[poll_id]
        if poll.is_closed:
            raise ValueError("the poll is closed")
        if any(not 0 <= i < len(poll.options) for i in option_ids):
            raise ValueError(f"no such option in {poll.options}")
        poll.votes[user.id] = list(option_ids)
        if poll.is_anonymous:
            return await self._emit({"poll": poll.as_json()})
        answer = {
            "poll_id": poll.id,
            "user": user.as_json(),
            "option_ids": list(option_ids),
            "option_persistent_ids": [f"{poll.id}-{i}" for i in option_ids],
        }
        return await self._emit({"poll_answer": answer})

    async def react(
        self,
        chat: TgChat,
        user: TgUser,
        message_id: int,
        emoji: Sequence[str] = ("👍",),
        old: Sequence[str] = (),
    ) -> Json:
        reaction = {
            "chat": chat.as_json(),
            "message_id": message_id,
            "user": user.as_json(),
            "date": int(time.time()),
            "old_reaction": [{"type": "emoji", "emoji": e} for e in old],
            "new_reaction": [{"type": "emoji", "emoji": e} for e in emoji],
        }
        return await self._emit({"message_reaction": reaction})

    async def join(self, chat: TgChat, user: TgUser, *, service_message: bool = True) -> list[Json]:
        """`user` joins: a chat_member update (for bots that asked for them) and the service message."""
        old = chat.members.get(user.id, "left")
        chat.members[user.id] = "member"
        updates = [await self._emit({"chat_member": self._member_change(chat, user, old, "member")})]
        if service_message:
            message = self._user_message(chat, user)
            message["new_chat_members"] = [user.as_json()]
            updates.append(await self._emit({"message": message}))
        return updates

    async def leave(self, chat: TgChat, user: TgUser, *, service_message: bool = True) -> list[Json]:
        old = chat.members.get(user.id, "member")
        chat.members[user.id] = "left"
        updates = [await self._emit({"chat_member": self._member_change(chat, user, old, "left")})]
        if service_message:
            message = self._user_message(chat, user)
            message["left_chat_member"] = user.as_json()
            updates.append(await self._emit({"message": message}))
        return updates

    async def inject(self, body: Json) -> Json:
        """Any update body (without update_id), e.g. {"edited_message": {...}}."""
        return await self._emit(body)

    async def redeliver(self, update: Json) -> None:
        """Deliver an update again, same update_id: Telegram delivers at least once."""
        await self._deliver(dict(update))

    def forward_webhook(self, public_base: str, local_base: str) -> None:
        """Post webhook updates for `public_base...` to `local_base...` instead, as the bot's reverse proxy
        would (the public address is https://, the bot's own server plain HTTP on localhost)."""
        self._forwards[public_base] = local_base

    @property
    def webhook(self) -> Json | None:
        """The webhook the bot set (url, secret_token, allowed_updates), or None."""
        return dict(self._webhook) if self._webhook is not None else None

    async def deliver_pending_webhook(self) -> list[WebhookDelivery]:
        """Retry the webhook for every update it has not yet accepted, as Telegram keeps doing."""
        pending, self._updates = self._updates, []
        return [await self._post_webhook(u) for u in pending]

    def _user_message(self, chat: TgChat | TgUser, user: TgUser) -> Json:
        chat_id = chat.id
        message_id = next(self._message_ids[chat_id])
        message: Json = {
            "message_id": message_id,
            "from": user.as_json(),
            "chat": chat.private_chat_json() if isinstance(chat, TgUser) else chat.as_json(),
            "date": int(time.time()),
        }
        self._chat_log[chat_id][message_id] = message
        return message

    def _member_change(self, chat: TgChat, user: TgUser, old: str, new: str) -> Json:
        return {
            "chat": chat.as_json(),
            "from": user.as_json(),
            "date": int(time.time()),
            "old_chat_member": self._member_json(user, old),
            "new_chat_member": self._member_json(user, new),
        }

    async def _emit(self, body: Json) -> Json:
        update = {"update_id": next(self._update_ids), **body}
        await self._deliver(update)
        return update

    async def _deliver(self, update: Json) -> None:
        if self._webhook is not None:
            if self._kind(update) in self._wanted(self._webhook.get("allowed_updates")):
                await self._post_webhook(update)
            return
        self._updates.append(update)
        self._arrived.set()

    async def _post_webhook(self, update: Json) -> WebhookDelivery:
        assert self._webhook is not None
        if self._client is None:
            self._client = aiohttp.ClientSession()
        url = str(self._webhook["url"])
        for public, local in self._forwards.items():
            if url.startswith(public):
                url = local + url[len(public) :]
        headers = {"Content-Type": "application/json"}
        if self._webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self._webhook["secret_token"]
        try:
            async with self._client.post(
                url,
                data=json.dumps(update),
                headers=headers,
                timeout=aiohttp.ClientTimeout(10),
            ) as response:
                status = response.status
                reason = response.reason or ""
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, reason = 0, type(exc).__name__
        delivery = WebhookDelivery(update["update_id"], status)
        self.webhook_deliveries.append(delivery)
        if not 200 <= status < 300:
            self._webhook_error = (
                int(time.time()),
                f"Wrong response from the webhook: {status} {reason}".strip(),
            )
            self._updates.append(update)  # kept for a later attempt, as Telegram does
        return delivery

    @staticmethod
    def _kind(update: Json) -> str:
        return next(k for k in update if k != "update_id")

    @staticmethod
    def _wanted(allowed: Iterable[str] | None) -> frozenset[str]:
        return frozenset(allowed or ()) or UPDATE_TYPES - OPT_IN_UPDATES

    # ----------------------------------------------------------------------------------- HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.stats.calls[method] += 1
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            params = await self._params(request)
            fault = self._fault_for(method, params)
            if fault is not None:
                await self._serve_fault(fault)
            result = await handler(params)
        except ApiError as error:
            if error.status == 429:
                self.stats.too_many_requests += 1
            return web.json_response(error.body(), status=error.status)
        return web.json_response({"ok": True, "result": result})

    async def _params(self, request: web.Request) -> Json:
        params: Json = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, str):
                    params[key] = value
                elif isinstance(value, bytes | bytearray):
                    params[key] = bytes(value).decode()
                else:  # an uploaded part
                    params[key] = value.file.read().decode()
        for key in _JSON_FIELDS & params.keys():
            if isinstance(params[key], str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    raise _bad(f"can't parse {key} JSON object") from None
        return params

    def _fault_for(self, method: str, params: Json) -> Fault | None:
        chat_id = self._maybe_int(params.get("chat_id"))
        for rule in self._faults:
            if rule.matches(method, chat_id):
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._faults.remove(rule)
                return rule.fault
        return None

    async def _serve_fault(self, fault: Fault) -> None:
        self.stats.faults += 1
        if fault.hang:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.hang)
            if fault.deliver:
                return
        parameters = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
        raise ApiError(fault.status, fault.description, parameters)

    @staticmethod
    def _maybe_int(value: Any) -> int | None:
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    # ----------------------------------------------------------------------------------- checks

    def _target(self, params: Json) -> TgChat | TgUser:
        """The chat a call writes to, or the error Telegram gives for it."""
        chat_id = self._maybe_int(params.get("chat_id"))
        if chat_id is None:
            raise _bad("chat not found")
        if chat_id > 0:
            user = self.users.get(chat_id)
            if user is None:
                raise _bad("chat not found")
            if user.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not user.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            return user
        chat = self.chats.get(chat_id)
        if chat is None:
            raise _bad("chat not found")
        if chat.bot_status in ("kicked", "left"):
            what = "supergroup chat" if chat.type == "supergroup" else "group chat"
            raise ApiError(403, f"Forbidden: bot was kicked from the {what}")
        return chat

    def _check_limits(self, chat: TgChat | TgUser) -> None:
        """Count a message against the flood limits (sends and edits count; a refused call does not)."""
        now = self._clock() if self._clock is not None else asyncio.get_running_loop().time()
        if chat.id not in self._chat_limits:
            if isinstance(chat, TgUser):
                self._chat_limits[chat.id] = _Gcra(
                    self.limits.per_private_chat_per_second, 1, self.limits.jitter
                )
            else:
                per_second = self.limits.per_group_per_minute / 60.0
                burst = self.limits.group_burst or math.ceil(self.limits.per_group_per_minute)
                self._chat_limits[chat.id] = _Gcra(per_second, burst, self.limits.jitter)
        chat_limit = self._chat_limits[chat.id]
        for scope, limit in (("bot", self._bot_limit), ("private" if chat.id > 0 else "group", chat_limit)):
            wait = limit.wait_needed(now)
            if wait > 0:
                self.stats.limited[scope] += 1
                retry_after = max(1, math.ceil(wait))
                raise ApiError(
                    429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
                )
        self._bot_limit.take(now)
        chat_limit.take(now)

    def _gcra(self, per_second: float, burst: int | None) -> _Gcra:
        return _Gcra(per_second, burst or max(1, math.ceil(per_second)), self.limits.jitter)

    def _text(self, params: Json, key: str = "text") -> tuple[str, list[Json], str]:
        raw = str(params.get(key, ""))
        parse_mode = str(params.get("parse_mode", ""))
        if parse_mode.upper() == "HTML":
            try:
                parsed = parse_html(raw)
            except HtmlError as error:
                raise _bad(str(error)) from None
            text, entities = parsed.text, parsed.entities
            for entity in entities:
                if entity["type"] == "text_mention":
                    user = self.users.get(entity["user"]["id"])
                    if user is None:
                        entity.clear()
                        continue
                    entity["user"] = user.as_json()
            entities = [e for e in entities if e]
        elif parse_mode:
            raise _bad(f"unsupported parse_mode {parse_mode!r} in this emulator")
        else:
            text, entities = raw, []
        if not text.strip():
            raise _bad("message text is empty")
        if len(text) > MAX_TEXT:
            raise _bad("message is too long")
        return text, entities, parse_mode

    @staticmethod
    def _markup(params: Json) -> Json | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard"), list):
            raise _bad("unsupported reply markup")
        for row in markup["inline_keyboard"]:
            for button in row:
                if not button.get("text"):
                    raise _bad("text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                    raise _bad("BUTTON_DATA_INVALID")
                url = button.get("url")
                if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
                    raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
                if data is None and url is None:
                    raise _bad('can\'t find field "callback_data"')
        return markup

    def _message_json(self, sent: SentMessage, chat: TgChat | TgUser) -> Json:
        data: Json = {
            "message_id": sent.message_id,
            "from": self.bot_user.as_json(),
            "chat": chat.private_chat_json() if isinstance(chat, TgUser) else chat.as_json(),
            "date": sent.date,
        }
        if sent.poll_id:
            data["poll"] = self._polls[sent.poll_id].as_json()
        else:
            data["text"] = sent.text
            if sent.entities:
                data["entities"] = sent.entities
        if sent.history:
            data["edit_date"] = int(time.time())
        if sent.reply_markup:
            data["reply_markup"] = sent.reply_markup
        return data

    def _record(self, chat: TgChat | TgUser, sent: SentMessage) -> Json:
        self._messages[chat.id][sent.message_id] = sent
        self._sent.append(sent)
        body = self._message_json(sent, chat)
        self._chat_log[chat.id][sent.message_id] = body
        return body

    def _own_message(self, chat: TgChat | TgUser, params: Json, missing: str) -> SentMessage:
        message_id = self._maybe_int(params.get("message_id"))
        sent = self._messages[chat.id].get(message_id or 0)
        if sent is None or sent.deleted:
            raise _bad(missing)
        return sent

    def _member_json(self, user: TgUser, status: str) -> Json:
        member: Json = {"status": status, "user": user.as_json()}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                    "can_send_welcome_messages": False,
                    "can_pin_messages": True,
                }
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member

    # ----------------------------------------------------------------------------------- methods

    async def _api_getMe(self, params: Json) -> Json:
        return {
            **self.bot_user.as_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
        }

    async def _api_getUpdates(self, params: Json) -> list[Json]:
        if self._webhook is not None:
            raise self._webhook_conflict()
        if self._poller is not None and not self._poller.done():
            self._poller.set_result(None)  # the earlier request ends with a conflict
        poller: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._poller = poller
        offset = self._maybe_int(params.get("offset"))
        limit = min(max(self._maybe_int(params.get("limit")) or 100, 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"] or ()) or None
        if offset is not None:
            # Confirmation: every update below the offset is forgotten.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if poller.done():  # ended early by a newer getUpdates or by setWebhook
                if self._webhook is not None:
                    raise self._webhook_conflict()
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            # Updates of types the bot did not ask for are never delivered (Telegram does not keep them).
            wanted = self._wanted(self._allowed_updates)
            self._updates = [u for u in self._updates if self._kind(u) in wanted]
            remaining = deadline - asyncio.get_running_loop().time()
            if self._updates or self._closing.is_set() or remaining <= 0:
                return self._updates[:limit]
            self._arrived.clear()
            arrived: asyncio.Future[Any] = asyncio.ensure_future(self._arrived.wait())
            ending: list[asyncio.Future[Any]] = [arrived, poller]
            await asyncio.wait(ending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            arrived.cancel()

    @staticmethod
    def _webhook_conflict() -> ApiError:
        return ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )

    async def _api_setWebhook(self, params: Json) -> bool:
        url = str(params.get("url", ""))
        if not url:
            self._webhook = None
            return True
        if not url.startswith(("https://", "http://")):
            raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = str(params.get("secret_token", ""))
        if secret and (len(secret) > 256 or not all(c.isalnum() or c in "_-" for c in secret)):
            raise _bad("secret token contains unallowed characters")
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": params.get("allowed_updates") or None,
        }
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._updates.clear()
        if self._poller is not None and not self._poller.done():
            self._poller.set_result(None)
        return True

    async def _api_deleteWebhook(self, params: Json) -> bool:
        self._webhook = None
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._updates.clear()
        return True

    async def _api_getWebhookInfo(self, params: Json) -> Json:
        info: Json = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}
        if self._webhook is not None:
            info.update(url=self._webhook["url"], max_connections=40)
            if self._webhook["allowed_updates"]:
                info["allowed_updates"] = list(self._webhook["allowed_updates"])
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _api_setMyCommands(self, params: Json) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or not all(isinstance(c, dict) for c in commands):
            raise _bad("can't parse commands JSON object")
        for command in commands:
            name = str(command.get("command", ""))
            if not (1 <= len(name) <= 32 and name.islower() and name.replace("_", "").isalnum()):
                raise _bad("BOT_COMMAND_INVALID")
            if not command.get("description"):
                raise _bad("command description is empty")
        scope = params.get("scope") or {"type": "default"}
        self.commands[json.dumps(scope, sort_keys=True)] = commands
        return True

    async def _api_getMyCommands(self, params: Json) -> list[Json]:
        scope = params.get("scope") or {"type": "default"}
        return self.commands.get(json.dumps(scope, sort_keys=True), [])

    async def _api_sendMessage(self, params: Json) -> Json:
        chat = self._target(params)
        text, entities, parse_mode = self._text(params)
        markup = self._markup(params)
        self._check_limits(chat)
        raw = str(params["text"])
        sent = SentMessage(
            chat.id,
            next(self._message_ids[chat.id]),
            text,
            raw,
            parse_mode,
            entities,
            markup,
            int(time.time()),
        )
        return self._record(chat, sent)

    async def _api_editMessageText(self, params: Json) -> Json:
        chat = self._target(params)
        sent = self._own_message(chat, params, "message to edit not found")
        text, entities, parse_mode = self._text(params)
        markup = self._markup(params)
        if text == sent.text and entities == sent.entities and markup == sent.reply_markup:
            raise _bad(_NOT_MODIFIED)
        self._check_limits(chat)
        sent.history.append(sent.raw)
        sent.text, sent.raw, sent.entities, sent.parse_mode, sent.reply_markup = (
            text,
            str(params["text"]),
            entities,
            parse_mode,
            markup,
        )
        body = self._message_json(sent, chat)
        self._chat_log[chat.id][sent.message_id] = body
        return body

    async def _api_editMessageReplyMarkup(self, params: Json) -> Json:
        chat = self._target(params)
        sent = self._own_message(chat, params, "message to edit not found")
        markup = self._markup(params)
        if markup == sent.reply_markup:
            raise _bad(_NOT_MODIFIED)
        self._check_limits(chat)
        sent.history.append(sent.raw)
        sent.reply_markup = markup
        body = self._message_json(sent, chat)
        self._chat_log[chat.id][sent.message_id] = body
        return body

    async def _api_sendPoll(self, params: Json) -> Json:
        chat = self._target(params)
        question = str(params.get("question", ""))
        if not 1 <= len(question) <= 300:
            raise _bad(
                "poll question length must not exceed 300" if question else "poll question must be non-empty"
            )
        options = [o["text"] if isinstance(o, dict) else str(o) for o in params.get("options") or []]
        if not 2 <= len(options) <= 12:
            raise _bad(
                "poll must have at least 2 option"
                if len(options) < 2
                else "poll can't have more than 12 options"
            )
        if any(not 1 <= len(o) <= 100 for o in options):
            raise _bad("poll options length must not exceed 100")
        anonymous = str(params.get("is_anonymous", "true")).lower() not in ("false", "0")
        markup = self._markup(params)
        self._check_limits(chat)
        message_id = next(self._message_ids[chat.id])
        poll = TgPoll(
            str(next(self._poll_ids)),
            chat.id,
            message_id,
            question,
            options,
            anonymous,
            str(params.get("allows_multiple_answers", "false")).lower() in ("true", "1"),
            type=str(params.get("type") or "regular"),
        )
        self._polls[poll.id] = poll
        sent = SentMessage(
            chat.id, message_id, question, question, "", [], markup, int(time.time()), poll_id=poll.id
        )
        return self._record(chat, sent)

    async def _api_stopPoll(self, params: Json) -> Json:
        chat = self._target(params)
        sent = self._own_message(chat, params, "message with poll to stop not found")
        if not sent.poll_id:
            raise _bad("message with poll to stop not found")
        poll = self._polls[sent.poll_id]
        if poll.is_closed:
            raise _bad("poll has already been closed")
        poll.is_closed = True
        return poll.as_json()

    async def _api_answerCallbackQuery(self, params: Json) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_queries:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._open_queries.discard(query_id)
        self.callback_answers[query_id] = {
            k: params[k] for k in ("text", "show_alert", "url", "cache_time") if k in params
        }
        return True

    async def _api_getChatMember(self, params: Json) -> Json:
        chat_id = self._maybe_int(params.get("chat_id"))
        user_id = self._maybe_int(params.get("user_id"))
        user = self.users.get(user_id or 0)
        if chat_id is not None and chat_id > 0:
            if chat_id not in self.users:
                raise _bad("chat not found")
            if user is None or user_id != chat_id:
                raise _bad("member not found")
            return self._member_json(user, "member")
        chat = self.chats.get(chat_id or 0)
        if chat is None:
            raise _bad("chat not found")
        if user_id == self.bot_user.id:
            return self._member_json(self.bot_user, chat.bot_status)
        if user is None:
            raise _bad("user not found")
        return self._member_json(user, chat.members.get(user.id, "left"))

    async def _api_getChatAdministrators(self, params: Json) -> list[Json]:
        chat_id = self._maybe_int(params.get("chat_id"))
        if chat_id is not None and chat_id in self.users:
            raise _bad("there are no administrators in the private chat")
        chat = self.chats.get(chat_id or 0)
        if chat is None:
            raise _bad("chat not found")
        admins = [
            self._member_json(self.users[uid], status)
            for uid, status in chat.members.items()
            if status in ("creator", "administrator") and uid in self.users
        ]
        if chat.bot_status == "administrator":
            admins.append(self._member_json(self.bot_user, "administrator"))
        return admins

    async def _api_pinChatMessage(self, params: Json) -> bool:
        chat = self._target(params)
        if isinstance(chat, TgChat) and chat.bot_status != "administrator":
            raise _bad("not enough rights to manage pinned messages in the chat")
        message_id = self._maybe_int(params.get("message_id")) or 0
        sent = self._messages[chat.id].get(message_id)
        if sent is None and message_id not in self._chat_log[chat.id]:
            raise _bad("message to pin not found")
        if sent is not None:
            sent.pinned = True
        return True

    async def _api_unpinChatMessage(self, params: Json) -> bool:
        chat = self._target(params)
        if isinstance(chat, TgChat) and chat.bot_status != "administrator":
            raise _bad("not enough rights to manage pinned messages in the chat")
        message_id = self._maybe_int(params.get("message_id"))
        pinned = [m for m in self._messages[chat.id].values() if m.pinned]
        if message_id is not None:
            pinned = [m for m in pinned if m.message_id == message_id]
        if not pinned:
            raise _bad("message to unpin not found")
        pinned[-1].pinned = False
        return True

    async def _api_deleteMessage(self, params: Json) -> bool:
        chat = self._target(params)
        sent = self._own_message(chat, params, "message to delete not found")
        sent.deleted = True
        sent.pinned = False
        return True
