"""Inbound Discord events without a gateway: real gateway payloads fed through discord.py's own parsers.

`Server` builds coherent payload dicts for one guild (channels, roles, members, voice states) in the shapes
Discord sends over the gateway (READY, GUILD_CREATE, MESSAGE_CREATE, MESSAGE_REACTION_ADD,
MESSAGE_POLL_VOTE_ADD, INTERACTION_CREATE, VOICE_STATE_UPDATE, GUILD_MEMBER_ADD). `GatewayFeed` hands them
to the client's `ConnectionState` parsers, exactly where discord.py's websocket would, so listeners, cogs,
views and the app command tree receive real discord.py model objects; it then waits for the handlers that
the event scheduled. Interactions are registered with the REST emulator so that they can be answered.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord

from tests.emulators.discord_api import DiscordEmulator
from tests.emulators.snowflakes import snowflake

TEXT, DM, VOICE, PUBLIC_THREAD, STAGE = 0, 1, 2, 11, 13
ALL_PERMISSIONS = str((1 << 50) - 1)
# Handlers discord.py schedules for an event, by task name.
_HANDLER_TASKS = ("discord.py: ", "discord-ui-", "CommandTree-invoker")
_tokens = itertools.count(1)


def _iso(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).isoformat(timespec="microseconds")


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


@dataclass
class Person:
    """A member of the server: their user object and guild member fields."""

    id: int
    name: str
    roles: list[int] = field(default_factory=list)
    bot: bool = False
    joined_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def user(self) -> dict[str, Any]:
        return user_payload(self.id, self.name, bot=self.bot)

    def member(self, *, with_user: bool = True, permissions: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "joined_at": _iso(self.joined_at),
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user
        if permissions is not None:
            data["permissions"] = permissions
        return data


@dataclass
class Channel:
    id: int
    name: str
    type: int
    guild_id: int
    parent_id: int | None = None

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "flags": 0,
        }
        if self.type in (TEXT, PUBLIC_THREAD):
            data |= {"topic": None, "last_message_id": None, "rate_limit_per_user": 0}
        else:
            data |= {"bitrate": 64000, "user_limit": 0, "rtc_region": None}
        return data


@dataclass
class Server:
    """One Discord guild, and builders of the gateway payloads of what happens in it."""

    name: str = "Course server"
    id: int = field(default_factory=snowflake)
    owner_id: int = field(default_factory=snowflake)
    channels: list[Channel] = field(default_factory=list)
    roles: dict[int, str] = field(default_factory=dict)
    people: list[Person] = field(default_factory=list)
    voice: dict[int, tuple[int, str]] = field(
        default_factory=dict
    )  # user -> (channel, session) at GUILD_CREATE

    def text_channel(self, name: str) -> Channel:
        return self._channel(name, TEXT)

    def voice_channel(self, name: str) -> Channel:
        return self._channel(name, VOICE)

    def stage_channel(self, name: str) -> Channel:
        return self._channel(name, STAGE)

    def _channel(self, name: str, kind: int) -> Channel:
        channel = Channel(snowflake(), name, kind, self.id)
        self.channels.append(channel)
        return channel

    def thread(self, parent: Channel, owner: Person, name: str) -> tuple[Channel, dict[str, Any]]:
        """A public thread of `parent`, and its THREAD_CREATE payload."""
        thread = Channel(snowflake(), name, PUBLIC_THREAD, self.id, parent_id=parent.id)
        payload = {
            **thread.payload(),
            "owner_id": str(owner.id),
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": _iso(),
                "locked": False,
            },
            "member_count": 1,
            "message_count": 0,
            "rate_limit_per_user": 0,
            "newly_created": True,
        }
        return thread, payload

    def role(self, name: str) -> int:
        role_id = snowflake()
        self.roles[role_id] = name
        return role_id

    def person(self, name: str, *, roles: Sequence[int] = (), bot: bool = False) -> Person:
        person = Person(snowflake(), name, list(roles), bot)
        self.people.append(person)
        return person

    def newcomer(self, name: str) -> Person:
        """Someone not yet in the server (see `member_add`)."""
        return Person(snowflake(), name)

    # ----------------------------------------------------------------------------------- payloads

    def guild_create(self) -> dict[str, Any]:
        roles = [{"id": str(self.id), "name": "@everyone"}] + [
            {"id": str(role_id), "name": name} for role_id, name in self.roles.items()
        ]
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "owner_id": str(self.owner_id),
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "features": [],
            "mfa_level": 0,
            "system_channel_flags": 0,
            "preferred_locale": "en-US",
            "premium_tier": 0,
            "nsfw_level": 0,
            "joined_at": _iso(),
            "large": False,
            "unavailable": False,
            # member_count == len(members): the guild counts as chunked, so discord.py asks for no chunks.
            "member_count": len(self.people),
            "roles": [
                {
                    "id": r["id"],
                    "name": r["name"],
                    "color": 0,
                    "hoist": False,
                    "position": i,
                    "permissions": "0",
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
                for i, r in enumerate(roles)
            ],
            "emojis": [],
            "stickers": [],
            "channels": [c.payload() for c in self.channels],
            "threads": [],
            "members": [p.member() for p in self.people],
            "voice_states": [
                self._voice_state(user_id, channel_id, session, with_guild=False)
                for user_id, (channel_id, session) in self.voice.items()
            ],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _voice_state(
        self,
        user_id: int,
        channel_id: int | None,
        session_id: str,
        *,
        with_guild: bool = True,
        self_deaf: bool = False,
        member: Person | None = None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "channel_id": str(channel_id) if channel_id else None,
            "user_id": str(user_id),
            "session_id": session_id,
            "deaf": False,
            "mute": False,
            "self_deaf": self_deaf,
            "self_mute": True,
            "self_stream": False,
            "self_video": False,
            "suppress": False,
            "request_to_speak_timestamp": None,
        }
        if with_guild:
            data["guild_id"] = str(self.id)
        if member is not None:
            data["member"] = member.member()
        return data

    def voice_state(
        self, person: Person, channel: Channel | None, session_id: str, *, self_deaf: bool = False
    ) -> dict[str, Any]:
        """VOICE_STATE_UPDATE: `person` is in `channel` (None: left voice) on voice session `session_id`."""
        return self._voice_state(
            person.id, channel.id if channel else None, session_id, self_deaf=self_deaf, member=person
        )

    def message(
        self,
        channel: Channel,
        author: Person,
        content: str,
        *,
        message_id: int | None = None,
        poll: dict[str, Any] | None = None,
        content_intent: bool = True,
    ) -> dict[str, Any]:
        """MESSAGE_CREATE. Without the message-content intent Discord sends the message with empty content."""
        data: dict[str, Any] = {
            "id": str(message_id or snowflake()),
            "channel_id": str(channel.id),
            "guild_id": str(self.id),
            "author": author.user,
            "member": author.member(with_user=False),
            "content": content if content_intent else "",
            "timestamp": _iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": [],
            "nonce": str(snowflake()),
        }
        if poll is not None:
            data["poll"] = poll
        return data

    def reaction(
        self, channel: Channel, message_id: int, person: Person, emoji: str = "👍"
    ) -> dict[str, Any]:
        """MESSAGE_REACTION_ADD."""
        return {
            "user_id": str(person.id),
            "channel_id": str(channel.id),
            "message_id": str(message_id),
            "guild_id": str(self.id),
            "member": person.member(),
            "emoji": {"id": None, "name": emoji},
            "message_author_id": str(self.owner_id),
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }

    def poll_vote(self, channel: Channel, message_id: int, person: Person, answer_id: int) -> dict[str, Any]:
        """MESSAGE_POLL_VOTE_ADD."""
        return {
            "user_id": str(person.id),
            "channel_id": str(channel.id),
            "message_id": str(message_id),
            "guild_id": str(self.id),
            "answer_id": answer_id,
        }

    def member_add(self, person: Person) -> dict[str, Any]:
        """GUILD_MEMBER_ADD: `person` joins the server."""
        self.people.append(person)
        return {**person.member(), "guild_id": str(self.id)}

    def _interaction(
        self,
        application_id: int,
        kind: int,
        channel: Channel,
        person: Person,
        data: dict[str, Any],
        *,
        created: datetime | None,
        message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(snowflake(created)),
            "application_id": str(application_id),
            "type": kind,
            "data": data,
            "guild_id": str(self.id),
            "guild": {"id": str(self.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "member": person.member(permissions=ALL_PERMISSIONS),
            "token": f"interaction-token-{next(_tokens)}",
            "version": 1,
            "app_permissions": ALL_PERMISSIONS,
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.id)},
            "context": 0,
            "attachment_size_limit": 10_485_760,
        }
        if message is not None:
            payload["message"] = message
        return payload

    def slash_command(
        self,
        application_id: int,
        channel: Channel,
        person: Person,
        name: str,
        options: Iterable[dict[str, Any]] = (),
        *,
        created: datetime | None = None,
    ) -> dict[str, Any]:
        """INTERACTION_CREATE for `/name` (type 2); `name` may be "group sub"; options as Discord has them."""
        parts = name.split()
        nested: list[dict[str, Any]] = list(options)
        for sub in reversed(parts[1:]):
            nested = [{"type": 1 if sub == parts[-1] else 2, "name": sub, "options": nested}]
        data = {
            "id": str(snowflake()),
            "name": parts[0],
            "type": 1,
            "options": nested,
            "guild_id": str(self.id),
        }
        return self._interaction(application_id, 2, channel, person, data, created=created)

    def autocomplete(
        self,
        application_id: int,
        channel: Channel,
        person: Person,
        name: str,
        focused: str,
        typed: str,
        options: Iterable[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """INTERACTION_CREATE (type 4): `person` is typing `typed` into option `focused` of `/name`."""
        current = {"type": 3, "name": focused, "value": typed, "focused": True}
        data = {"id": str(snowflake()), "name": name, "type": 1, "options": [*options, current]}
        return self._interaction(application_id, 4, channel, person, data, created=None)

    def button_press(
        self,
        application_id: int,
        channel: Channel,
        person: Person,
        message: dict[str, Any],
        custom_id: str,
        *,
        created: datetime | None = None,
    ) -> dict[str, Any]:
        """INTERACTION_CREATE for a press (type 3) of button `custom_id` on `message` (a message payload)."""
        data = {"custom_id": custom_id, "component_type": 2}
        return self._interaction(application_id, 3, channel, person, data, created=created, message=message)


class GatewayFeed:
    """Delivers gateway events to a logged-in discord.py client, as its websocket would."""

    def __init__(
        self, client: discord.Client, emulator: DiscordEmulator | None = None, timeout: float = 5.0
    ) -> None:
        self.client = client
        self.emulator = emulator
        self.timeout = timeout
        self.errors: list[BaseException] = []
        # A handler that raises would only be logged by discord.py; here it fails the test.
        client.on_error = self._on_error  # type: ignore[method-assign]

    async def _on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        error = sys.exc_info()[1]
        if error is not None:
            self.errors.append(error)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Parse one event (e.g. "MESSAGE_CREATE") and wait until the handlers it scheduled have finished."""
        await self.burst([(event, data)])

    async def burst(self, events: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Events arriving one right after the other: each is parsed while the handlers of the ones before
        are still at work (started, waiting on I/O), as in a live bot; then wait for all of them."""
        before = asyncio.all_tasks()
        for i, (event, data) in enumerate(events):
            if i:
                await asyncio.sleep(0)  # the next frame: handlers scheduled so far take their first step
            if event == "INTERACTION_CREATE" and self.emulator is not None:
                self._register(data)
            self.client._connection.parsers[event](data)
        await self._settle(before)
        if self.errors:
            error, self.errors = self.errors[0], []
            raise AssertionError(f"a handler raised {error!r}") from error

    async def connect(self, *servers: Server) -> None:
        """READY (the guilds still unavailable), then GUILD_CREATE for each, then wait for on_ready."""
        user = self.client.user
        assert user is not None, "log the client in first (client.login)"
        application_id = self.client.application_id or user.id
        ready = {
            "v": 10,
            "user": user_payload(user.id, user.name, bot=True),
            "guilds": [{"id": str(s.id), "unavailable": True} for s in servers],
            "session_id": f"session-{snowflake()}",
            "resume_gateway_url": "wss://gateway.discord.gg",
            "shard": [0, 1],
            "application": {"id": str(application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
        }
        before = asyncio.all_tasks()
        self.client._connection.parsers["READY"](ready)
        for server in servers:
            self.client._connection.parsers["GUILD_CREATE"](server.guild_create())
        await asyncio.wait_for(self.client.wait_until_ready(), self.timeout)
        await self._settle(before)

    def _register(self, data: dict[str, Any]) -> None:
        assert self.emulator is not None
        user = data.get("member", {}).get("user") or data["user"]
        message = data.get("message")
        self.emulator.issue_interaction(
            int(data["id"]),
            data["token"],
            application_id=int(data["application_id"]),
            channel_id=int(data["channel_id"]),
            user_id=int(user["id"]),
            message_id=int(message["id"]) if message else None,
        )

    async def _settle(self, before: set[asyncio.Task[Any]]) -> None:
        """Wait for every handler task discord.py started since `before` (and the tasks those started)."""
        while True:
            pending = [
                t
                for t in asyncio.all_tasks()
                if t not in before and not t.done() and t.get_name().startswith(_HANDLER_TASKS)
            ]
            if not pending:
                return
            done, _ = await asyncio.wait(pending, timeout=self.timeout)
            if not done:
                names = ", ".join(t.get_name() for t in pending)
                raise AssertionError(f"event handlers still running after {self.timeout}s: {names}")
