"""A local Discord REST API (v10) that discord.py's real `HTTPClient` talks to in tests.

Point discord.py at it by setting `discord.http.Route.BASE` to `emulator.base_url(server)`: every REST call
of discord.py (the bot's own requests, and interaction responses and follow-ups, which use the same session)
builds its URL from that class attribute.

What it checks, like Discord does:
- the bot token (`Authorization: Bot <token>`): a wrong one gets 401;
- per-route rate-limit buckets (per channel, per guild, per webhook) with `X-RateLimit-Limit`, `-Remaining`,
  `-Reset`, `-Reset-After`, `-Bucket` headers, and a global limit (50 requests per second by default, not
  applied to interaction endpoints); over a limit: 429 with `retry_after` and `global` in the body and a
  `Via` header (discord.py treats a 429 without one as a Cloudflare ban);
- messages: unknown channel (10003), closed DMs (403, 50007), empty (50006) or over 2,000 characters or with
  malformed buttons or a poll outside Discord's limits (50035), edits of unknown messages (10008) or of
  someone else's (50005); `nonce` + `enforce_nonce` return the message already created with that nonce
  instead of a duplicate;
- interactions: one initial response, within 3 seconds of the interaction's creation (its snowflake),
  else 404 Unknown interaction (10062) / 400 already acknowledged (40060); follow-ups and edits of the
  original response only after it, and within 15 minutes;
- application commands: bulk overwrite per guild and global, with Discord's name and description rules;
- the gateway (`discord_socket`): a websocket that checks IDENTIFY's token (4004) and privileged intents
  (4014) against the application's, then sends READY and the servers; `GET /gateway/bot` points at it.

It records every request (for counting invalid requests: 401, 403, 429), every message sent or edited per
channel with its components, every interaction callback, and the synced command trees. Faults can be injected:
the next N calls (optionally to one route or one channel) answer 429, 403/50007, 5xx, or any status.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from hashlib import sha1
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.emulators.discord_socket import GATEWAY_PATH, GatewaySocket
from tests.emulators.snowflakes import created_at, snowflake

API_PREFIX = "/api/v10"
MESSAGE_LIMIT = 2000
EPHEMERAL = 1 << 6
LOADING = 1 << 7

# Route buckets: name -> (requests, seconds), like Discord's (messages: 5 per 5 s per channel).
DEFAULT_ROUTE_LIMITS: Mapping[str, tuple[int, float]] = {
    "me": (5, 5.0),
    "application": (5, 5.0),
    "gateway": (5, 5.0),
    "dm": (5, 5.0),
    "messages": (5, 5.0),
    "edit": (5, 5.0),
    "pins": (5, 5.0),
    "commands": (5, 20.0),
    "callback": (5, 1.0),
    "webhook": (5, 2.0),
}
_NAME = re.compile(r"^[-_\w]{1,32}$")
_NONCE_WINDOW = 300.0
WAIT = (
    60.0  # seconds `until` waits at most  # seconds during which an enforced nonce returns the first message
)


class ApiError(Exception):
    """An error answer, shaped like Discord's: {"message": ..., "code": ...}."""

    def __init__(self, status: int, code: int, message: str, errors: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = dict(errors or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


@dataclass
class RecordedMessage:
    id: int
    channel_id: int
    content: str
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    flags: int
    author_id: int
    nonce: str | None = None
    interaction_id: int | None = None
    poll: dict[str, Any] | None = None  # as Discord returns it: answers with their ids, expiry
    pinned: bool = False
    edited: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier versions, oldest first

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [c for row in self.components for c in row.get("components", []) if c.get("type") == 2]


@dataclass
class Callback:
    """One initial response to an interaction, as Discord received it."""

    type: int
    flags: int
    data: dict[str, Any]
    status: int

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)


@dataclass
class IssuedInteraction:
    id: int
    token: str
    application_id: int
    channel_id: int
    user_id: int
    message_id: int | None  # the message whose component was pressed
    callbacks: list[Callback] = field(default_factory=list)
    original_id: int | None = None
    followups: list[int] = field(default_factory=list)

    @property
    def created(self) -> datetime:
        return created_at(self.id)

    @property
    def acknowledged(self) -> Callback | None:
        return next((c for c in self.callbacks if c.status < 300), None)


@dataclass
class Fault:
    status: int
    code: int = 0
    message: str = ""
    times: int | None = 1  # None: until removed
    route: str | None = None  # a bucket name ("messages", "dm", ...), None: any route
    channel_id: int | None = None
    retry_after: float = 0.05
    is_global: bool = False

    def matches(self, route: str, channel_id: int | None) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.route is not None and self.route != route:
            return False
        return self.channel_id is None or self.channel_id == channel_id


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    route: str
    status: int
    code: int
    scope: str  # for 429s: "user", "global" or "shared"
    at: float  # time.monotonic()


class _Window:
    """A fixed window of `limit` requests that opens with its first request and lasts `period` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.used = 0
        self.resets_at = 0.0

    def take(self, now: float) -> bool:
        if now >= self.resets_at:
            self.used = 0
            self.resets_at = now + self.period
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def reset_after(self, now: float) -> float:
        # Rounded up to the millisecond: a client that waits this long never comes back early.
        return math.ceil(max(self.resets_at - now, 0.0) * 1000) / 1000


@dataclass
class _Route:
    name: str
    major: str | None  # the path parameter that splits the bucket (channel, guild, webhook)
    auth: bool
    global_limit: bool


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    # Exactly "application/json", as Discord sends it: discord.py reads the body as JSON only then.
    body = json.dumps(data, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, headers=headers, content_type="application/json")


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


class DiscordEmulator:
    def __init__(
        self,
        *,
        token: str = "emulator.bot.token",
        bot_name: str = "ClassPulse",
        route_limits: Mapping[str, tuple[int, float]] | None = None,
        time_scale: float = 1.0,
        global_limit: tuple[int, float] = (50, 1.0),
        interaction_deadline: float = 3.0,
        privileged_intents: frozenset[str] = frozenset({"message_content", "members"}),
    ) -> None:
        self.token = token
        self.application_id = snowflake()
        self.bot_user: dict[str, Any] = self._user_json(self.application_id, bot_name, bot=True)
        limits = {**DEFAULT_ROUTE_LIMITS, **(route_limits or {})}
        self._limits = {name: (n, period * time_scale) for name, (n, period) in limits.items()}
        self._global = _Window(*global_limit)
        self._windows: dict[tuple[str, str], _Window] = {}
        self.interaction_deadline = timedelta(seconds=interaction_deadline)
        self.privileged_intents = privileged_intents

        self.users: dict[int, dict[str, Any]] = {}
        self.closed_dms: set[int] = set()
        self.channels: dict[int, dict[str, Any]] = {}
        self._dm_by_user: dict[int, int] = {}
        self._messages: dict[int, list[RecordedMessage]] = defaultdict(list)
        self._by_id: dict[int, RecordedMessage] = {}
        self.interactions: dict[int, IssuedInteraction] = {}
        self._by_token: dict[str, IssuedInteraction] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}  # guild id (None: global) -> command tree
        self.faults: list[Fault] = []
        self.requests: list[RequestRecord] = []
        self.nonce_hits = 0

        self._changed = asyncio.Condition()  # notified after every request
        self.app = web.Application()
        self._routes()
        self.gateway = GatewaySocket(self)
        self.app.router.add_get(GATEWAY_PATH, self.gateway.handle)

    # ----------------------------------------------------------------------------------------- test API

    def base_url(self, server: TestServer) -> str:
        return str(server.make_url(API_PREFIX))

    def set_global_limit(self, limit: int, period: float) -> None:
        """Change the global limit (requests per period), starting a fresh window."""
        self._global = _Window(limit, period)

    def add_channel(self, channel_id: int, *, guild_id: int = 0, name: str = "", type: int = 0) -> None:
        self.channels[channel_id] = {
            "id": str(channel_id),
            "type": type,
            "name": name or f"channel-{channel_id}",
            **({"guild_id": str(guild_id)} if guild_id else {}),
        }

    def add_user(self, user_id: int, name: str = "") -> dict[str, Any]:
        self.users[user_id] = self._user_json(user_id, name or f"user{user_id}")
        return self.users[user_id]

    def close_dms(self, user_id: int) -> None:
        """The user allows no direct messages from this bot: sends to their DM channel get 403 / 50007."""
        self.closed_dms.add(user_id)

    def fail(
        self,
        status: int,
        code: int = 0,
        message: str = "",
        *,
        times: int | None = 1,
        route: str | None = None,
        channel_id: int | None = None,
        retry_after: float = 0.05,
        is_global: bool = False,
    ) -> Fault:
        """Answer the next `times` matching calls (None: every one until removed) with this error."""
        fault = Fault(status, code, message, times, route, channel_id, retry_after, is_global)
        self.faults.append(fault)
        return fault

    def issue_interaction(
        self,
        interaction_id: int,
        token: str,
        *,
        application_id: int,
        channel_id: int,
        user_id: int,
        message_id: int | None = None,
    ) -> IssuedInteraction:
        """Discord created an interaction (the gateway sends INTERACTION_CREATE): it may now be answered.

        The same interaction delivered again by the gateway is the same interaction (its answers so far stay).
        """
        if interaction_id in self.interactions:
            return self.interactions[interaction_id]
        issued = IssuedInteraction(interaction_id, token, application_id, channel_id, user_id, message_id)
        self.interactions[interaction_id] = issued
        self._by_token[token] = issued
        return issued

    async def until(self, check: Callable[[], bool]) -> None:
        """Wait (60 s at most) until `check()` holds, checking after each request: for what a bot running
        elsewhere (another task, another process) does meanwhile."""
        async with asyncio.timeout(WAIT), self._changed:
            await self._changed.wait_for(check)

    def messages(self, channel_id: int) -> list[RecordedMessage]:
        return list(self._messages.get(channel_id, []))

    def message(self, message_id: int) -> RecordedMessage:
        return self._by_id[message_id]

    def dms(self, user_id: int) -> list[RecordedMessage]:
        channel = self._dm_by_user.get(user_id)
        return self.messages(channel) if channel else []

    def count(self, status: int, route: str | None = None) -> int:
        return sum(1 for r in self.requests if r.status == status and (route is None or r.route == route))

    def calls(self, route: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.route == route]

    @property
    def invalid_requests(self) -> int:
        """What Discord counts towards its invalid-request ban: 401, 403, 429 (but shared-scope 429s)."""
        return sum(
            1 for r in self.requests if r.status in (401, 403) or (r.status == 429 and r.scope != "shared")
        )

    # --------------------------------------------------------------------------------------- machinery

    def _routes(self) -> None:
        add = self._add
        add("GET", "/users/@me", self._get_me, _Route("me", None, auth=True, global_limit=True))
        add("GET", "/oauth2/applications/@me", self._get_application, _Route("application", None, True, True))
        add("GET", "/gateway/bot", self._get_gateway_bot, _Route("gateway", None, True, True))
        add("POST", "/users/@me/channels", self._open_dm, _Route("dm", None, True, True))
        add(
            "POST",
            "/channels/{channel_id}/messages",
            self._send,
            _Route("messages", "channel_id", True, True),
        )
        add(
            "PATCH",
            "/channels/{channel_id}/messages/{message_id}",
            self._edit,
            _Route("edit", "channel_id", True, True),
        )
        pins = _Route("pins", "channel_id", True, True)
        add("PUT", "/channels/{channel_id}/pins/{message_id}", self._pin, pins)
        add("PUT", "/channels/{channel_id}/messages/pins/{message_id}", self._pin, pins)
        add(
            "POST",
            "/interactions/{interaction_id}/{token}/callback",
            self._callback,
            _Route("callback", "interaction_id", auth=False, global_limit=False),
        )
        webhook = _Route("webhook", "token", auth=False, global_limit=False)
        add("POST", "/webhooks/{application_id}/{token}", self._followup, webhook)
        add(
            "GET",
            "/webhooks/{application_id}/{token}/messages/{message_id}",
            self._get_webhook_message,
            webhook,
        )
        add(
            "PATCH",
            "/webhooks/{application_id}/{token}/messages/{message_id}",
            self._edit_webhook_message,
            webhook,
        )
        commands = _Route("commands", "guild_id", True, True)
        add("PUT", "/applications/{application_id}/commands", self._sync_commands, commands)
        add("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self._sync_commands, commands)

    def _add(self, method: str, path: str, handler: Handler, route: _Route) -> None:
        async def serve(request: web.Request) -> web.StreamResponse:
            response = await self._serve(request, route, handler)
            self._record(request, route, response)
            async with self._changed:
                self._changed.notify_all()
            return response

        self.app.router.add_route(method, API_PREFIX + path, serve)

    async def _serve(self, request: web.Request, route: _Route, handler: Handler) -> web.StreamResponse:
        now = time.monotonic()
        if route.auth and request.headers.get("Authorization") != f"Bot {self.token}":
            return self._error(ApiError(401, 0, "401: Unauthorized"))
        if route.global_limit and not self._global.take(now):
            return self._too_many(self._global.reset_after(now), scope="global")
        major = request.match_info.get(route.major, "") if route.major else ""
        window = self._window(route.name, major)
        if not window.take(now):
            return self._too_many(
                window.reset_after(now), scope="user", headers=self._bucket_headers(route, window)
            )
        headers = self._bucket_headers(route, window)
        channel = request.match_info.get("channel_id")
        fault = next(
            (f for f in self.faults if f.matches(route.name, int(channel) if channel else None)), None
        )
        if fault is not None:
            if fault.times is not None:
                fault.times -= 1
            if fault.status == 429:
                scope = "global" if fault.is_global else "user"
                return self._too_many(
                    fault.retry_after, scope=scope, headers=headers, is_global=fault.is_global
                )
            return self._error(
                ApiError(fault.status, fault.code, fault.message or f"{fault.status}"), headers
            )
        try:
            response = await handler(request)
        except ApiError as error:
            return self._error(error, headers)
        response.headers.update(headers)
        return response

    def _window(self, name: str, major: str) -> _Window:
        key = (name, major)
        if key not in self._windows:
            self._windows[key] = _Window(*self._limits[name])
        return self._windows[key]

    def _bucket_headers(self, route: _Route, window: _Window) -> dict[str, str]:
        now = time.monotonic()
        reset_after = window.reset_after(now)
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(max(window.limit - window.used, 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": sha1(route.name.encode()).hexdigest()[:16],
            "Via": "1.1 google",
        }

    def _too_many(
        self,
        retry_after: float,
        *,
        scope: str,
        headers: Mapping[str, str] | None = None,
        is_global: bool = False,
    ) -> web.Response:
        is_global = is_global or scope == "global"
        extra = {
            **(headers or {"Via": "1.1 google"}),
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Scope": scope,
        }
        if is_global:
            extra["X-RateLimit-Global"] = "true"
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        return _json(body, status=429, headers=extra)

    def _error(self, error: ApiError, headers: Mapping[str, str] | None = None) -> web.Response:
        return _json(error.body(), status=error.status, headers={"Via": "1.1 google", **(headers or {})})

    def _record(self, request: web.Request, route: _Route, response: web.StreamResponse) -> None:
        code = 0
        body = getattr(response, "text", None)
        if response.status >= 400 and isinstance(body, str) and '"code"' in body:
            match = re.search(r'"code":\s*(\d+)', body)
            code = int(match.group(1)) if match else 0
        self.requests.append(
            RequestRecord(
                request.method,
                request.path,
                route.name,
                response.status,
                code,
                response.headers.get("X-RateLimit-Scope", ""),
                time.monotonic(),
            )
        )

    # ----------------------------------------------------------------------------------------- models

    @staticmethod
    def _user_json(user_id: int, name: str, bot: bool = False) -> dict[str, Any]:
        return {
            "id": str(user_id),
            "username": name,
            "discriminator": "0",
            "global_name": name,
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
        }

    def _message_json(self, message: RecordedMessage) -> dict[str, Any]:
        channel = self.channels.get(message.channel_id, {})
        data: dict[str, Any] = {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "author": self.bot_user,
            "content": message.content,
            "timestamp": _iso(created_at(message.id)),
            "edited_timestamp": _iso(datetime.now(UTC)) if message.edited else None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": message.embeds,
            "pinned": message.pinned,
            "type": 0,
            "flags": message.flags,
            "components": message.components,
        }
        if "guild_id" in channel:
            data["guild_id"] = channel["guild_id"]
        if message.nonce is not None:
            data["nonce"] = message.nonce
        if message.poll is not None:
            data["poll"] = message.poll
        if message.interaction_id is not None:
            data["webhook_id"] = str(self.application_id)
        return data

    @staticmethod
    def _poll_json(poll: Mapping[str, Any], created: datetime) -> dict[str, Any]:
        expiry = created + timedelta(hours=float(poll.get("duration", 24)))
        return {
            "question": {"text": poll["question"]["text"]},
            "answers": [
                {"answer_id": i, "poll_media": {"text": a["poll_media"]["text"]}}
                for i, a in enumerate(poll["answers"], 1)
            ],
            "expiry": _iso(expiry),
            "allow_multiselect": bool(poll.get("allow_multiselect", False)),
            "layout_type": int(poll.get("layout_type", 1)),
            "results": {"is_finalized": False, "answer_counts": []},
        }

    def _channel(self, request: web.Request) -> int:
        channel_id = int(request.match_info["channel_id"])
        if channel_id not in self.channels:
            raise ApiError(404, 10003, "Unknown Channel")
        return channel_id

    def _stored(self, channel_id: int, message_id: str) -> RecordedMessage:
        message = self._by_id.get(int(message_id)) if message_id.isdigit() else None
        if message is None or message.channel_id != channel_id:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    @staticmethod
    def _check_content(payload: Mapping[str, Any], *, creating: bool) -> None:
        content = payload.get("content") or ""
        if len(content) > MESSAGE_LIMIT:
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "content": {
                        "_errors": [
                            {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}
                        ]
                    }
                },
            )
        components = payload.get("components") or []
        if (
            creating
            and not content
            and not payload.get("embeds")
            and not components
            and not payload.get("poll")
        ):
            raise ApiError(400, 50006, "Cannot send an empty message")
        if payload.get("poll") is not None:
            DiscordEmulator._check_poll(payload["poll"])
        if len(components) > 5:
            raise ApiError(400, 50035, "Invalid Form Body", {"components": "at most 5 action rows"})
        custom_ids = [
            c["custom_id"] for row in components for c in row.get("components", []) if "custom_id" in c
        ]
        if len(set(custom_ids)) != len(custom_ids):
            raise ApiError(400, 50035, "Invalid Form Body", {"components": "custom_id values must be unique"})
        for row in components:
            buttons = row.get("components", [])
            if row.get("type") != 1 or not 1 <= len(buttons) <= 5:
                raise ApiError(
                    400, 50035, "Invalid Form Body", {"components": "an action row holds 1 to 5 buttons"}
                )
            for button in buttons:
                DiscordEmulator._check_button(button)

    @staticmethod
    def _check_poll(poll: Mapping[str, Any]) -> None:
        """Discord's poll rules: a question of 1-300, 1-10 answers of 1-55 characters, 1-768 whole hours."""
        problems = []
        question = (poll.get("question") or {}).get("text") or ""
        if not 1 <= len(question) <= 300:
            problems.append("question.text must be 1 to 300 characters")
        answers = poll.get("answers") or []
        if not 1 <= len(answers) <= 10:
            problems.append("1 to 10 answers")
        for answer in answers:
            if not 1 <= len((answer.get("poll_media") or {}).get("text") or "") <= 55:
                problems.append("an answer's text must be 1 to 55 characters")
        duration = poll.get("duration", 24)
        if not (float(duration).is_integer() and 1 <= duration <= 768):
            problems.append("duration must be 1 to 768 whole hours")
        if problems:
            raise ApiError(400, 50035, "Invalid Form Body", {"poll": problems})

    @staticmethod
    def _check_button(button: Mapping[str, Any]) -> None:
        label = button.get("label") or ""
        problems = []
        if len(label) > 80:
            problems.append("label longer than 80")
        if button.get("style") == 5:
            if not button.get("url") or "custom_id" in button:
                problems.append("a link button needs a url and no custom_id")
        elif not 1 <= len(button.get("custom_id") or "") <= 100:
            problems.append("custom_id must be 1 to 100 characters")
        if problems:
            raise ApiError(400, 50035, "Invalid Form Body", {"components": problems})

    def _create(
        self,
        channel_id: int,
        payload: Mapping[str, Any],
        *,
        flags: int = 0,
        interaction_id: int | None = None,
    ) -> RecordedMessage:
        message = RecordedMessage(
            id=snowflake(),
            channel_id=channel_id,
            content=payload.get("content") or "",
            embeds=list(payload.get("embeds") or []),
            components=list(payload.get("components") or []),
            flags=flags | (int(payload.get("flags") or 0) & EPHEMERAL),
            author_id=self.application_id,
            nonce=str(payload["nonce"]) if payload.get("nonce") is not None else None,
            interaction_id=interaction_id,
        )
        if payload.get("poll") is not None:
            message.poll = self._poll_json(payload["poll"], created_at(message.id))
        self._messages[channel_id].append(message)
        self._by_id[message.id] = message
        return message

    def _update(self, message: RecordedMessage, payload: Mapping[str, Any]) -> None:
        self._check_content(payload, creating=False)
        message.history.append({"content": message.content, "components": message.components})
        if "content" in payload:
            message.content = payload["content"] or ""
        if "components" in payload:
            message.components = list(payload["components"] or [])
        if "embeds" in payload:
            message.embeds = list(payload["embeds"] or [])
        message.flags &= ~LOADING
        message.edited = True

    # --------------------------------------------------------------------------------------- handlers

    async def _get_me(self, request: web.Request) -> web.Response:
        return _json(self.bot_user)

    async def _get_application(self, request: web.Request) -> web.Response:
        flags = 0
        if "members" in self.privileged_intents:
            flags |= 1 << 14  # GATEWAY_GUILD_MEMBERS
        if "message_content" in self.privileged_intents:
            flags |= 1 << 18  # GATEWAY_MESSAGE_CONTENT
        owner = self._user_json(snowflake(), "owner")
        return _json(
            {
                "id": str(self.application_id),
                "name": self.bot_user["username"],
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": owner,
                "team": None,
                "verify_key": "0" * 64,
                "flags": flags,
            }
        )

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        url = f"ws://{request.host}{GATEWAY_PATH}"  # this emulator's own gateway
        return _json({"url": url, "shards": 1, "session_start_limit": limit})

    async def _open_dm(self, request: web.Request) -> web.Response:
        payload = await request.json()
        user_id = int(payload["recipient_id"])
        user = self.users.get(user_id) or self.add_user(user_id)
        if user_id not in self._dm_by_user:
            channel_id = snowflake()
            self._dm_by_user[user_id] = channel_id
            self.channels[channel_id] = {"id": str(channel_id), "type": 1, "recipient_id": user_id}
        channel_id = self._dm_by_user[user_id]
        return _json(
            {"id": str(channel_id), "type": 1, "last_message_id": None, "flags": 0, "recipients": [user]}
        )

    async def _send(self, request: web.Request) -> web.Response:
        channel_id = self._channel(request)
        payload = await request.json()
        recipient = self.channels[channel_id].get("recipient_id")
        if recipient in self.closed_dms:
            raise ApiError(403, 50007, "Cannot send messages to this user")
        self._check_content(payload, creating=True)
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            horizon = datetime.now(UTC) - timedelta(seconds=_NONCE_WINDOW)
            for earlier in self._messages[channel_id]:
                if earlier.nonce == str(nonce) and created_at(earlier.id) >= horizon:
                    self.nonce_hits += 1
                    return _json(self._message_json(earlier))
        message = self._create(channel_id, payload)
        return _json(self._message_json(message))

    async def _edit(self, request: web.Request) -> web.Response:
        channel_id = self._channel(request)
        message = self._stored(channel_id, request.match_info["message_id"])
        if message.author_id != self.application_id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        self._update(message, await request.json())
        return _json(self._message_json(message))

    async def _pin(self, request: web.Request) -> web.Response:
        channel_id = self._channel(request)
        self._stored(channel_id, request.match_info["message_id"]).pinned = True
        return web.Response(status=204)

    async def _callback(self, request: web.Request) -> web.Response:
        issued = self.interactions.get(int(request.match_info["interaction_id"]))
        if issued is None or issued.token != request.match_info["token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        payload = await request.json()
        kind = int(payload["type"])
        data = dict(payload.get("data") or {})
        flags = int(data.get("flags") or 0)
        late = datetime.now(UTC) - issued.created > self.interaction_deadline
        if late or issued.acknowledged is not None:
            status = 404 if late else 400
            issued.callbacks.append(Callback(kind, flags, data, status))
            if late:
                raise ApiError(404, 10062, "Unknown interaction")
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if kind in (4, 7):
            self._check_content(data, creating=kind == 4)
        issued.callbacks.append(Callback(kind, flags, data, 200))
        message: RecordedMessage | None = None
        if kind == 4:
            message = self._create(issued.channel_id, data, interaction_id=issued.id)
        elif kind == 5:
            message = self._create(
                issued.channel_id, {}, flags=LOADING | (flags & EPHEMERAL), interaction_id=issued.id
            )
        elif kind == 7 and issued.message_id in self._by_id:
            message = self._by_id[issued.message_id]
            self._update(message, data)
        if message is not None and kind in (4, 5):
            issued.original_id = message.id
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        interaction: dict[str, Any] = {"id": str(issued.id), "type": 3 if issued.message_id else 2}
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            interaction["response_message_id"] = str(message.id)
            interaction["response_message_loading"] = bool(message.flags & LOADING)
            interaction["response_message_ephemeral"] = message.ephemeral
            resource["message"] = self._message_json(message)
        return _json({"interaction": interaction, "resource": resource})

    def _webhook_interaction(self, request: web.Request) -> IssuedInteraction:
        issued = self._by_token.get(request.match_info["token"])
        if issued is None or int(request.match_info["application_id"]) != issued.application_id:
            raise ApiError(404, 10015, "Unknown Webhook")
        if datetime.now(UTC) - issued.created > timedelta(minutes=15):
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if issued.acknowledged is None:
            raise ApiError(
                404, 10015, "Unknown Webhook"
            )  # nothing to follow up: the interaction was never answered
        return issued

    def _webhook_message(self, issued: IssuedInteraction, message_id: str) -> RecordedMessage:
        wanted = issued.original_id if message_id == "@original" else int(message_id)
        if wanted is None or wanted not in self._by_id:
            raise ApiError(404, 10008, "Unknown Message")
        message = self._by_id[wanted]
        if message.interaction_id != issued.id:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def _followup(self, request: web.Request) -> web.Response:
        issued = self._webhook_interaction(request)
        payload = await request.json()
        self._check_content(payload, creating=True)
        message = self._create(issued.channel_id, payload, interaction_id=issued.id)
        issued.followups.append(message.id)
        if request.query.get("wait") in ("1", "true", "True"):
            return _json(self._message_json(message))
        return web.Response(status=204)

    async def _get_webhook_message(self, request: web.Request) -> web.Response:
        issued = self._webhook_interaction(request)
        return _json(self._message_json(self._webhook_message(issued, request.match_info["message_id"])))

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        issued = self._webhook_interaction(request)
        message = self._webhook_message(issued, request.match_info["message_id"])
        self._update(message, await request.json())
        return _json(self._message_json(message))

    async def _sync_commands(self, request: web.Request) -> web.Response:
        if int(request.match_info["application_id"]) != self.application_id:
            raise ApiError(404, 10002, "Unknown Application")
        guild = request.match_info.get("guild_id")
        guild_id = int(guild) if guild else None
        payload = await request.json()
        if len(payload) > 100:
            raise ApiError(400, 30032, "Maximum number of application commands reached (100)")
        tree = [self._command_json(c, guild_id) for c in payload]
        self.commands[guild_id] = tree
        return _json(tree)

    def _command_json(self, command: Mapping[str, Any], guild_id: int | None) -> dict[str, Any]:
        name = command.get("name", "")
        kind = command.get("type", 1)
        description = command.get("description", "")
        if not _NAME.match(name) or (kind == 1 and name != name.lower()):
            raise ApiError(
                400, 50035, "Invalid Form Body", {"name": f"{name!r}: 1-32 lower-case letters, - or _"}
            )
        if kind == 1 and not 1 <= len(description) <= 100:
            raise ApiError(400, 50035, "Invalid Form Body", {"description": f"{name}: 1 to 100 characters"})
        out = {
            **command,
            "id": str(snowflake()),
            "application_id": str(self.application_id),
            "version": str(snowflake()),
            "type": kind,
        }
        if guild_id is not None:
            out["guild_id"] = str(guild_id)
        return out

    def command_names(self, guild_id: int | None = None) -> list[str]:
        """The synced tree, flattened: "class", "class schedule", "poll", ..."""
        names: list[str] = []

        def walk(prefix: str, options: list[dict[str, Any]]) -> Iterator[str]:
            for option in options:
                if option.get("type") in (1, 2):  # sub-command, sub-command group
                    yield f"{prefix} {option['name']}"
                    yield from walk(f"{prefix} {option['name']}", option.get("options", []))

        for command in self.commands.get(guild_id, []):
            names.append(command["name"])
            names.extend(walk(command["name"], command.get("options", [])))
        return names
