"""The inbound context built from configuration and the stores: courses of chats, learners, live classes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from adapters.telegram.inbound import Event, Sender, place
from adapters.telegram.polls import PollRef, PollRegistry
from bot.config import Config
from bot.domain import ClassState, Identity, Platform
from bot.ports import Classes, Learners, Offers


@dataclass(frozen=True, slots=True)
class ResolvedContext:
    """An `InboundContext` holding exactly what a batch of events needs, looked up beforehand."""

    courses_by_chat: Mapping[int, str] = field(default_factory=dict)
    learners: Mapping[int, str] = field(default_factory=dict)  # Telegram user id -> learner id
    live_classes: Mapping[str, str] = field(default_factory=dict)  # course id -> live class id
    polls: Mapping[str, PollRef] = field(default_factory=dict)
    classes: frozenset[tuple[str, str]] = frozenset()  # (course, class) pairs known to exist
    offers: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (course, offer) -> class

    def course_of_chat(self, chat_id: int) -> str | None:
        return self.courses_by_chat.get(chat_id)

    def learner_of(self, sender: Sender) -> str | None:
        return self.learners.get(sender.user_id)

    def live_class(self, course_id: str) -> str:
        return self.live_classes.get(course_id, "")

    def poll(self, poll_id: str) -> PollRef | None:
        return self.polls.get(poll_id)

    def knows_class(self, course_id: str, class_id: str) -> bool:
        return (course_id, class_id) in self.classes

    def offer_class(self, course_id: str, offer_id: str) -> str | None:
        return self.offers.get((course_id, offer_id))


class ContextResolver:
    def __init__(
        self, config: Config, learners: Learners, classes: Classes, polls: PollRegistry, offers: Offers
    ) -> None:
        self._courses = frozenset(config.courses)
        self._courses_by_chat = {
            chat: course_id for course_id, course in config.courses.items() for chat in course.telegram_chats
        }
        # Teachers talk in their groups all class long; that is teaching, not a learner's engagement.
        self._teachers = {uid for course in config.courses.values() for uid in course.teachers.telegram}
        self._learners = learners
        self._classes = classes
        self._polls = polls
        self._offers = offers

    async def resolve(self, events: Sequence[Event]) -> ResolvedContext:
        polls: dict[str, PollRef] = {}
        for poll_id in {e.poll_id for e in events if e.poll_id}:
            ref = await self._polls.get(poll_id)
            if ref is not None:
                polls[poll_id] = ref
        # Button data comes back from the user's side: only classes and offers that exist count.
        known: set[tuple[str, str]] = set()
        offers: dict[tuple[str, str], str] = {}
        for course_id, class_id, offer_id in {
            (e.course_id, e.class_id, e.offer_id) for e in events if e.course_id
        }:
            if course_id not in self._courses:
                continue
            if offer_id:
                offer = await self._offers.get(course_id, offer_id)
                if offer is not None:
                    offers[course_id, offer_id] = offer.class_id
            elif await self._classes.get(course_id, class_id) is not None:
                known.add((course_id, class_id))
        live: dict[str, str] = {}
        for chat_id in {e.chat_id for e in events if not e.poll_id and not e.course_id}:
            chat_course = self._courses_by_chat.get(chat_id)
            if chat_course is not None and chat_course not in live:
                session = await self._classes.current(chat_course)
                is_live = session is not None and session.state is ClassState.LIVE
                live[chat_course] = session.id if session is not None and is_live else ""
        context = ResolvedContext(self._courses_by_chat, {}, live, polls, frozenset(known), offers)
        # Learners are looked up (and created on first sight) only for what counts in some course.
        learners: dict[int, str] = {}
        for event in events:
            sender = event.sender
            if (
                sender.user_id in self._teachers
                or sender.user_id in learners
                or place(event, context) is None
            ):
                continue
            identity = Identity(Platform.TELEGRAM, str(sender.user_id))
            learners[sender.user_id] = await self._learners.resolve(identity, sender.name, sender.language)
        return replace(context, learners=learners)
