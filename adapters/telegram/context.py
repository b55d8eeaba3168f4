"""The inbound context built from configuration and the stores: courses of chats, learners, live classes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from adapters.telegram.inbound import Event, Sender
from adapters.telegram.polls import PollRef, PollRegistry
from bot.config import Config
from bot.domain import ClassState, Identity, Platform
from bot.ports import Classes, Learners


@dataclass(frozen=True, slots=True)
class ResolvedContext:
    """An `InboundContext` holding exactly what a batch of events needs, looked up beforehand."""

    courses_by_chat: Mapping[int, str] = field(default_factory=dict)
    learners: Mapping[int, str] = field(default_factory=dict)  # Telegram user id -> learner id
    live_classes: Mapping[str, str] = field(default_factory=dict)  # course id -> live class id
    polls: Mapping[str, PollRef] = field(default_factory=dict)

    def course_of_chat(self, chat_id: int) -> str | None:
        return self.courses_by_chat.get(chat_id)

    def learner_of(self, sender: Sender) -> str | None:
        return self.learners.get(sender.user_id)

    def live_class(self, course_id: str) -> str:
        return self.live_classes.get(course_id, "")

    def poll(self, poll_id: str) -> PollRef | None:
        return self.polls.get(poll_id)


class ContextResolver:
    def __init__(self, config: Config, learners: Learners, classes: Classes, polls: PollRegistry) -> None:
        self._courses_by_chat = {
            chat: course_id for course_id, course in config.courses.items() for chat in course.telegram_chats
        }
        # Teachers talk in their groups all class long; that is teaching, not a learner's engagement.
        self._teachers = {uid for course in config.courses.values() for uid in course.teachers.telegram}
        self._learners = learners
        self._classes = classes
        self._polls = polls

    async def resolve(self, events: Sequence[Event]) -> ResolvedContext:
        polls: dict[str, PollRef] = {}
        for event in events:
            if event.poll_id and event.poll_id not in polls:
                ref = await self._polls.get(event.poll_id)
                if ref is not None:
                    polls[event.poll_id] = ref
        courses = {
            self._courses_by_chat.get(e.chat_id, "") for e in events if not e.poll_id and not e.course_id
        }
        live: dict[str, str] = {}
        for course_id in sorted(courses - {""}):
            session = await self._classes.current(course_id)
            if session is not None and session.state is ClassState.LIVE:
                live[course_id] = session.id
        learners: dict[int, str] = {}
        for event in events:
            sender = event.sender
            if sender.user_id in self._teachers or sender.user_id in learners:
                continue
            identity = Identity(Platform.TELEGRAM, str(sender.user_id))
            learners[sender.user_id] = await self._learners.resolve(identity, sender.name, sender.language)
        return ResolvedContext(self._courses_by_chat, learners, live, polls)
