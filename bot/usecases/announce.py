"""Relaying a live class to every chat of its course: one announcement per linked chat, on every platform,
pinned where the platform allows, and edited everywhere when the teacher changes the stream.

Announcements go through the outbox like every other message: rate limits, retries and the once-only
guarantee apply; the message id each platform gave back is what a later edit changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import formatting
from bot.config import Config, CourseConfig
from bot.domain import Button, ClassSession, OutboundMessage, Platform, callbacks
from bot.ports import Clock, Outbox


def linked_chats(course: CourseConfig) -> list[tuple[Platform, str]]:
    chats = [(Platform.TELEGRAM, str(c)) for c in course.telegram_chats]
    chats += [(Platform.DISCORD, str(c)) for c in course.discord_channels]
    return chats


def announcement_key(session: ClassSession, platform: Platform, chat_id: str) -> str:
    return f"announce:{session.course_id}:{session.id}:{platform.value}:{chat_id}"


@dataclass
class Announcer:
    config: Config
    outbox: Outbox
    clock: Clock
    # With the relay, learners get personal links from the button; without it, the stream URL is public.
    show_stream_url: bool = True

    def text(self, session: ClassSession, changed: bool = False) -> str:
        course = self.config.courses[session.course_id]
        headline = "🔴 Live now (new link)" if changed else "🔴 Live now"
        lines = [f"{headline}: {formatting.bold(session.title)} — {course.name}."]
        if self.show_stream_url and session.stream_url:
            lines.append(f"Stream: {formatting.link(session.stream_url, session.stream_url)}")
        lines.append("Press the button for your personal link.")
        return "\n".join(lines)

    def _message(
        self,
        session: ClassSession,
        platform: Platform,
        chat_id: str,
        key: str,
        *,
        pin: bool = False,
        edit_message_id: str = "",
    ) -> OutboundMessage:
        return OutboundMessage(
            key=key,
            platform=platform,
            chat_id=chat_id,
            text=self.text(session, changed=bool(edit_message_id)),
            private=False,
            course_id=session.course_id,
            step_id="announcement",
            class_id=session.id,
            buttons=(Button("Join the live class", callback=callbacks.join(session.course_id, session.id)),),
            pin=pin,
            edit_message_id=edit_message_id,
        )

    async def announce(self, session: ClassSession) -> int:
        """Post (and pin) the announcement in every chat of the course; returns how many were queued."""
        course = self.config.courses[session.course_id]
        messages = [
            self._message(session, platform, chat, announcement_key(session, platform, chat), pin=True)
            for platform, chat in linked_chats(course)
        ]
        return await self.outbox.enqueue(messages, self.clock.now())

    async def update(self, session: ClassSession, revision: str) -> int:
        """Edit every announcement already delivered to show the new stream; returns how many were queued."""
        course = self.config.courses[session.course_id]
        edits = []
        for platform, chat in linked_chats(course):
            key = announcement_key(session, platform, chat)
            message_id = await self.outbox.delivered_id(key)
            if message_id:
                edits.append(
                    self._message(session, platform, chat, f"{key}:r{revision}", edit_message_id=message_id)
                )
        return await self.outbox.enqueue(edits, self.clock.now())
