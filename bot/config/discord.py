"""The Discord part of the configuration: the bot (`[discord]`), each course's server (`[courses.X.discord]`).

Kept apart from `schema.py` so that the Discord adapter owns its keys; `schema.py` only plugs them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Protocol
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from bot.config.problems import Invalid
from bot.config.types import Duration, EnvName

_SNOWFLAKE_MAX = 2**63 - 1
DISCORD_API = "https://discord.com/api/v10"


def _snowflakes(ids: list[int]) -> list[int]:
    for value in ids:
        if not 0 < value <= _SNOWFLAKE_MAX:
            raise Invalid(f"{value} is not a Discord id", "a positive id, copied with Developer Mode on")
    if len(set(ids)) != len(ids):
        raise Invalid("an id is listed twice", "each id once")
    return ids


def _flush_period(value: timedelta) -> timedelta:
    if value < timedelta(seconds=10):
        raise Invalid(f"{value.total_seconds():g}s is too frequent", "at least 10s")
    return value


def _api_base(value: str) -> str:
    parsed = urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise Invalid(f"{value!r} is not an API address", f"a URL such as {DISCORD_API}")
    return value.rstrip("/")


# Discord ids are snowflakes: positive 64-bit integers (TOML integers hold them exactly); 0 means "none".
Snowflake = Annotated[int, Field(ge=0, le=_SNOWFLAKE_MAX)]
Snowflakes = Annotated[list[int], AfterValidator(_snowflakes)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DiscordConfig(_Section):
    """`[discord]`: the bot account, its intents, and where its slash commands are registered."""

    enabled: bool = False
    token_env: EnvName = "CLASSPULSE_DISCORD_TOKEN"
    # 0: take the application id from the token at login (it is the bot user's application).
    application_id: Snowflake = 0
    # Servers whose slash commands are synced at start (immediate); global_sync registers them everywhere
    # instead (and removes the listed servers' own copies, so that none shows twice).
    guilds: Snowflakes = []
    global_sync: bool = False
    # Privileged intents, to be switched on in the Developer Portal too (Bot > Privileged Gateway Intents).
    message_content_intent: bool = True
    members_intent: bool = True
    # How often watch time is credited to people still in a class voice/stage channel (what a crash can lose).
    watch_flush: Annotated[Duration, AfterValidator(_flush_period)] = timedelta(seconds=60)
    # Requests per second ClassPulse allows itself, under Discord's global limit of 50 per second.
    requests_per_second: float = Field(default=40.0, gt=0, le=50)
    # Discord's REST API; another base only for a REST proxy (one that shares rate limits between processes)
    # or a local emulator. The gateway address is asked from this API at start.
    api_base: Annotated[str, AfterValidator(_api_base)] = DISCORD_API

    @model_validator(mode="after")
    def _commands_registered_somewhere(self) -> DiscordConfig:
        if self.enabled and not self.guilds and not self.global_sync:
            raise Invalid(
                "the bot is enabled but its slash commands are registered nowhere",
                "list server ids in discord.guilds, or set discord.global_sync = true",
            )
        return self


class CourseDiscordConfig(_Section):
    """`[courses.X.discord]`: the course's Discord server, its class voice/stage channels and teacher roles.

    The course's text channels stay in `courses.X.discord_channels`, its teachers' user ids in
    `courses.X.teachers.discord`.
    """

    guild: Snowflake = 0  # 0: the course has no Discord server
    class_channels: Snowflakes = []
    teacher_roles: Snowflakes = []

    @model_validator(mode="after")
    def _server_named(self) -> CourseDiscordConfig:
        if (self.class_channels or self.teacher_roles) and not self.guild:
            raise Invalid(
                "class channels or teacher roles are set but not their server", "guild = <server id>"
            )
        return self


class _DiscordCourse(Protocol):
    @property
    def discord_channels(self) -> list[int]: ...

    @property
    def discord(self) -> CourseDiscordConfig: ...


def check_discord_routes(courses: Mapping[str, _DiscordCourse]) -> None:
    """Every Discord channel belongs to one course at most: an event in it must have one meaning."""
    owner: dict[int, tuple[str, str]] = {}
    for course_id, course in courses.items():
        claims = [("discord_channels", c) for c in course.discord_channels]
        claims += [("discord.class_channels", c) for c in course.discord.class_channels]
        for key, channel in claims:
            here = f"courses.{course_id}.{key}"
            if channel in owner and owner[channel][0] != course_id:
                other, where = owner[channel]
                raise Invalid(
                    f"{here}: channel {channel} is already used by course {other!r} ({where})",
                    "one course per channel",
                )
            owner.setdefault(channel, (course_id, here))
