"""Which course a Discord channel, server or person belongs to, read once from the configuration."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.config import CourseConfig


@dataclass(frozen=True, slots=True)
class DiscordRoutes:
    chat_channels: Mapping[int, str]  # text channels (and the class channels' own chat) -> course
    class_channels: Mapping[int, str]  # voice and stage channels where classes are held -> course
    guild_courses: Mapping[int, tuple[str, ...]]  # server -> the courses it hosts
    teachers: Mapping[str, frozenset[int]]  # course -> teachers' user ids
    teacher_roles: Mapping[str, frozenset[int]]  # course -> roles whose members teach

    @classmethod
    def from_config(cls, courses: Mapping[str, CourseConfig]) -> DiscordRoutes:
        chat: dict[int, str] = {}
        voice: dict[int, str] = {}
        guilds: dict[int, list[str]] = defaultdict(list)
        for course_id, course in courses.items():
            for channel in course.discord_channels:
                chat[channel] = course_id
            for channel in course.discord.class_channels:
                voice[channel] = course_id
                chat.setdefault(channel, course_id)
            if course.discord.guild:
                guilds[course.discord.guild].append(course_id)
        return cls(
            chat_channels=chat,
            class_channels=voice,
            guild_courses={g: tuple(c) for g, c in guilds.items()},
            teachers={cid: frozenset(c.teachers.discord) for cid, c in courses.items()},
            teacher_roles={cid: frozenset(c.discord.teacher_roles) for cid, c in courses.items()},
        )

    def course_of_chat(self, channel_id: int, parent_id: int | None = None) -> str | None:
        """The course of a message's channel; a thread belongs to the course of its parent channel."""
        found = self.chat_channels.get(channel_id)
        if found is None and parent_id is not None:
            found = self.chat_channels.get(parent_id)
        return found

    def course_of_class_channel(self, channel_id: int) -> str | None:
        return self.class_channels.get(channel_id)

    def courses_of_guild(self, guild_id: int) -> tuple[str, ...]:
        return self.guild_courses.get(guild_id, ())

    def is_teacher(self, course_id: str, user_id: int, role_ids: Iterable[int] = ()) -> bool:
        return user_id in self.teachers.get(course_id, frozenset()) or self.has_teacher_role(
            course_id, role_ids
        )

    def has_teacher_role(self, course_id: str, role_ids: Iterable[int]) -> bool:
        return not self.teacher_roles.get(course_id, frozenset()).isdisjoint(role_ids)
