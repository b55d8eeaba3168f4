"""What the command handlers work with: the core's use cases and the adapter's own pieces.

The dispatcher hands it to every handler as `parts` (aiogram's workflow data), so that handlers are plain
functions of (update, parts) and tests can build a bot around any App.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from adapters.telegram.answers import Answers
from adapters.telegram.deeplink import DeepLinks
from bot.config import Config
from bot.ports import Classes, Clock
from bot.usecases.learner import LearnerCommands
from bot.usecases.linking import Linking
from bot.usecases.teacher import TeacherCommands


@dataclass(frozen=True)
class TelegramParts:
    config: Config
    clock: Clock
    teacher: TeacherCommands
    learner: LearnerCommands
    linking: Linking
    classes: Classes
    links: DeepLinks
    answers: Answers

    @property
    def courses_by_chat(self) -> Mapping[int, str]:
        return {chat: course_id for course_id, c in self.config.courses.items() for chat in c.telegram_chats}
