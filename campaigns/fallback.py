"""When a learner cannot be written to privately, a step may mention them in the course chat instead.

The mention carries no personal content (a coupon is never posted in a group): it invites the learner to
open the bot's private chat, through a button whose callback the platform adapter turns into its own way in
(a signed Telegram deep link; a Discord button answered ephemerally).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bot import formatting
from bot.config import Config, CourseConfig
from bot.domain import Button, Identity, OutboundMessage, Platform, callbacks
from bot.ports import Learners

Fallback = Callable[[OutboundMessage], Awaitable[Sequence[OutboundMessage]]]


def course_chat(course: CourseConfig, platform: Platform) -> str | None:
    """The chat where the course's learners on `platform` can be mentioned."""
    if platform is Platform.TELEGRAM and course.telegram_chats:
        return str(course.telegram_chats[0])
    if platform is Platform.DISCORD and course.discord_channels:
        return str(course.discord_channels[0])
    return None


def group_mention(
    original: OutboundMessage, identity: Identity, name: str, course: CourseConfig
) -> OutboundMessage | None:
    """The group message that stands in for `original`, or None when the course has no chat there."""
    chat = course_chat(course, identity.platform)
    if chat is None:
        return None
    text = (
        f"{formatting.mention(identity.user_id, name or 'there')}, I have a message for you about "
        f"{formatting.bold(course.name)} but cannot write to you privately. Press the button to open it."
    )
    return OutboundMessage(
        key=f"{original.key}:fallback:{identity.platform.value}",
        platform=identity.platform,
        chat_id=chat,
        text=text,
        private=False,
        learner_id=original.learner_id,
        course_id=original.course_id,
        campaign_id=original.campaign_id,
        step_id=original.step_id,
        class_id=original.class_id,
        promotional=original.promotional,
        variant=original.variant,
        buttons=(
            Button("Open my messages", callback=callbacks.start(original.course_id, original.class_id)),
        ),
    )


def dispatcher_fallback(config: Config, learners: Learners) -> Fallback:
    """What the dispatcher enqueues when a platform refuses a private message for good."""

    async def fallback(message: OutboundMessage) -> Sequence[OutboundMessage]:
        course = config.courses.get(message.course_id)
        if not (message.fallback_to_group and message.private and message.learner_id and course):
            return []
        learner = await learners.get(message.learner_id)
        identity = learner.identity_on(message.platform) if learner else None
        if learner is None or identity is None:
            return []
        mention = group_mention(message, identity, learner.display_name, course)
        return [mention] if mention else []

    return fallback
