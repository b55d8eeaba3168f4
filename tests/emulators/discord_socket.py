"""The Discord gateway (websocket, v10, JSON) of the emulator, for a bot that really connects.

Enough of the protocol for discord.py's `Client.connect`: HELLO, heartbeats answered with HEARTBEAT_ACK,
IDENTIFY checked like Discord checks it — a wrong token closes with 4004 "Authentication failed", a
privileged intent (members, presences, message content) the application has not been granted closes with
4014 "Disallowed intent(s)" — then READY and a GUILD_CREATE per server the test added. `push` dispatches
any event to every identified session, with its sequence number, as Discord would.

The emulator's `GET /gateway/bot` answers with this socket's address.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from tests.emulators.discord_api import DiscordEmulator

GATEWAY_PATH = "/gateway"
HEARTBEAT_INTERVAL_MS = 41_250
WAIT = 60.0  # seconds `wait_for` waits at most (a process may still be starting)
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 0, 1, 2, 6, 9, 10, 11
PRIVILEGED = {"members": 1 << 1, "presences": 1 << 8, "message_content": 1 << 15}


@dataclass
class Session:
    socket: web.WebSocketResponse
    url: str  # where it connected: the address to resume at
    intents: int = 0
    sequence: int = 0
    identified: bool = False
    closed_with: int | None = None
    heartbeats: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)


class GatewaySocket:
    def __init__(self, emulator: DiscordEmulator) -> None:
        self.emulator = emulator
        self.guilds: list[dict[str, Any]] = []  # GUILD_CREATE payloads sent after READY
        self.sessions: list[Session] = []
        self.session_changed = asyncio.Condition()

    def add_guild(self, guild_create: dict[str, Any]) -> None:
        self.guilds.append(guild_create)

    @property
    def live(self) -> list[Session]:
        return [s for s in self.sessions if s.identified and s.closed_with is None and not s.socket.closed]

    async def wait_for(self, predicate: Callable[[GatewaySocket], bool]) -> None:
        """Wait (60 s at most) until `predicate(self)` holds: a session identified, closed, ..."""
        async with asyncio.timeout(WAIT), self.session_changed:
            await self.session_changed.wait_for(lambda: predicate(self))

    async def push(self, event: str, data: dict[str, Any]) -> None:
        """Dispatch `event` to every identified session; an interaction is first made answerable."""
        if event == "INTERACTION_CREATE":
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
        for session in self.live:
            await self._dispatch(session, event, data)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        session = Session(socket, f"ws://{request.host}{GATEWAY_PATH}")
        await self._changed(lambda: self.sessions.append(session))
        await socket.send_json({"op": HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
        async for frame in socket:
            if frame.type is not WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            session.received.append(payload)
            op = payload.get("op")
            if op == HEARTBEAT:
                session.heartbeats += 1
                await socket.send_json({"op": HEARTBEAT_ACK})
            elif op == IDENTIFY:
                await self._identify(session, payload["d"])
            elif op == RESUME:
                await socket.send_json({"op": INVALID_SESSION, "d": False})
        await self._changed(lambda: None)
        return socket

    async def _identify(self, session: Session, data: dict[str, Any]) -> None:
        if data.get("token") != self.emulator.token:
            await self._close(session, 4004, "Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        granted = self.emulator.privileged_intents
        if any(intents & bit and name not in granted for name, bit in PRIVILEGED.items()):
            await self._close(session, 4014, "Disallowed intent(s).")
            return
        session.intents = intents
        user = self.emulator.bot_user
        ready = {
            "v": 10,
            "user": user,
            "guilds": [{"id": g["id"], "unavailable": True} for g in self.guilds],
            "session_id": f"session-{len(self.sessions)}",
            "resume_gateway_url": session.url,
            "shard": [0, 1],
            "application": {"id": str(self.emulator.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
        }
        await self._dispatch(session, "READY", ready)
        me: dict[str, Any] = {
            "user": user,
            "roles": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        for guild in self.guilds:
            # The bot is a member of every server it is in, and counted in it.
            members = [*guild["members"], me]
            await self._dispatch(
                session, "GUILD_CREATE", {**guild, "members": members, "member_count": len(members)}
            )
        await self._changed(lambda: setattr(session, "identified", True))

    async def _dispatch(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.sequence += 1
        await session.socket.send_json({"op": DISPATCH, "t": event, "s": session.sequence, "d": data})

    async def _close(self, session: Session, code: int, reason: str) -> None:
        await self._changed(lambda: setattr(session, "closed_with", code))
        await session.socket.close(code=code, message=reason.encode())

    async def _changed(self, change: Callable[[], object]) -> None:
        async with self.session_changed:
            change()
            self.session_changed.notify_all()
