"""Who may run teacher commands in a course group: the configured teachers, optionally the group's admins.

With `telegram.teachers_include_group_admins`, a group's creator and administrators count as its course's
teachers. Telegram is asked (getChatMember) the first time someone runs a teacher command, and the answer is
kept for a minute: a teacher running several commands in a row costs one call, and an admin who is demoted
loses the right within that minute.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramAPIError

from bot.config import Config

log = logging.getLogger(__name__)

ADMIN_STATUSES = frozenset({ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR})
_MAX_REMEMBERED = 4096


class TeacherCheck:
    def __init__(self, bot: Bot, config: Config, remember_for: float = 60.0) -> None:
        self._bot = bot
        self._config = config
        self._remember_for = remember_for
        self._admins: dict[tuple[int, int], tuple[float, bool]] = {}  # (chat, user) -> (until, is admin)

    def is_configured_teacher(self, course_id: str, user_id: int) -> bool:
        course = self._config.courses.get(course_id)
        return course is not None and user_id in course.teachers.telegram

    async def is_admin_teacher(self, course_id: str, chat_id: int, user_id: int) -> bool:
        """True when the group's admins count as teachers and `user_id` is one of this group's admins."""
        if not self._config.telegram.teachers_include_group_admins or course_id not in self._config.courses:
            return False
        now = asyncio.get_running_loop().time()
        known = self._admins.get((chat_id, user_id))
        if known is not None and known[0] > now:
            return known[1]
        try:
            member = await self._bot.get_chat_member(chat_id, user_id)
        except TelegramAPIError as exc:
            log.warning("telegram: cannot tell whether %s is an admin of chat %s: %s", user_id, chat_id, exc)
            return False
        admin = member.status in ADMIN_STATUSES
        if len(self._admins) >= _MAX_REMEMBERED:
            self._admins = {key: value for key, value in self._admins.items() if value[0] > now}
        self._admins[(chat_id, user_id)] = (now + self._remember_for, admin)
        return admin
