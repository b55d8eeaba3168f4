"""Answering a command: a `Reply` goes out through the messenger, so every answer waits for the governor.

A reply goes to the chat the command came from, except:

- `private`: to the asker's private chat, never the group. A teacher who never started the bot cannot be
  written to (403); the group then hears, briefly and without the data, how to open the private chat.
- `poll`: a native non-anonymous poll is posted instead of text (the question is the poll's own).
- `offer`: the announcement is posted and its countdown kept current until the offer ends.
"""

from __future__ import annotations

import logging

from adapters.telegram.messenger import TelegramMessenger
from bot import formatting
from bot.domain import Button, Delivery, DeliveryStatus, OutboundMessage, Platform
from bot.usecases.countdown import OfferCountdowns
from bot.usecases.replies import Reply

log = logging.getLogger(__name__)


class Answers:
    def __init__(self, messenger: TelegramMessenger, countdowns: OfferCountdowns, bot_username: str) -> None:
        self._messenger = messenger
        self._countdowns = countdowns
        self._bot_username = bot_username

    async def send(self, chat_id: int, reply: Reply, key: str) -> Delivery:
        """`reply` into `chat_id` as it is (text and buttons)."""
        delivery = await self._messenger.send(
            OutboundMessage(
                key=key,
                platform=Platform.TELEGRAM,
                chat_id=str(chat_id),
                text=reply.text,
                private=chat_id > 0,
                buttons=reply.buttons,
            )
        )
        if delivery.status is not DeliveryStatus.DELIVERED:
            log.warning("telegram: a reply to chat %s was not delivered: %s", chat_id, delivery.reason)
        return delivery

    async def command(
        self, chat_id: int, asker_id: int, asker_name: str, command: str, reply: Reply, key: str
    ) -> Delivery:
        """The answer to `/command`, sent by `asker_id` in `chat_id`."""
        if reply.poll is not None:
            poll = reply.poll
            delivery = await self._messenger.send_poll(
                chat_id, poll.question, poll.options, course_id=poll.course_id, class_id=poll.class_id
            )
            if delivery.status is not DeliveryStatus.DELIVERED:
                log.warning("telegram: a poll for chat %s was not posted: %s", chat_id, delivery.reason)
                refusal = Reply.refusal(f"I could not post the poll here: {delivery.reason}.")
                await self.send(chat_id, refusal, f"{key}:failed")
            return delivery
        if reply.private and chat_id != asker_id:
            delivery = await self.send(asker_id, reply, key)
            if delivery.status is DeliveryStatus.UNREACHABLE:
                await self.send(
                    chat_id, self._open_private_chat(asker_id, asker_name, command), f"{key}:open"
                )
            return delivery
        delivery = await self.send(chat_id, reply, key)
        if reply.offer is not None and delivery.status is DeliveryStatus.DELIVERED:
            self._countdowns.start(reply.offer, str(chat_id), delivery.message_id, reply.buttons)
        return delivery

    def _open_private_chat(self, user_id: int, name: str, command: str) -> Reply:
        return Reply(
            f"{formatting.mention(str(user_id), name or 'there')}, I answer /{command} only in private, and "
            "you have not started a chat with me yet. Open it with the button, press Start, then send "
            f"/{command} here again.",
            buttons=(Button("Open a chat with me", url=f"https://t.me/{self._bot_username}"),),
        )
