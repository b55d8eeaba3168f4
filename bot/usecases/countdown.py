"""Flash-offer countdowns: the announcement in the chat is edited as time runs out, then closed.

Platform-neutral: each platform's bot keeps one `OfferCountdowns` over its own messenger.

One task per offer keeps the posted text equal to `flash_offer_text` at the current time: an edit when the
shown minute changes, every 15 seconds in the last minute, and a last edit that says the offer ended and
takes the "Claim offer" button away. Every edit counts against the chat's rate limit (Telegram allows 20
messages a minute in a group), so edits happen only when the text changes: a 15-minute offer costs about 18.
The tasks are cancelled when the bot stops; an offer that outlives the process keeps its last shown text,
and claims are still checked against the offer's end time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.config import Config
from bot.domain import Button, DeliveryStatus, FlashOffer, OutboundMessage
from bot.ports import Clock, Messenger
from bot.usecases.offers import flash_offer_text

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

CLOSING_TRIES = 3  # of the last edit, the one that takes the button away
RETRY_CLOSING_AFTER = 5.0


def seconds_to_next_change(left: int) -> int:
    """How long the shown countdown stays right: to the next whole minute, 15 s steps in the last one."""
    step = 60 if left > 60 else 15
    return left % step or step


class OfferCountdowns:
    def __init__(
        self, messenger: Messenger, config: Config, clock: Clock, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._messenger = messenger
        self._config = config
        self._clock = clock
        self._sleep = sleep
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}

    def start(self, offer: FlashOffer, chat_id: str, message_id: str, buttons: tuple[Button, ...]) -> None:
        """Keep the announcement `message_id` in `chat_id` (posted with `buttons`) up to date."""
        key = (offer.course_id, offer.id)
        task = asyncio.create_task(
            self._run(offer, chat_id, message_id, buttons),
            name=f"offer-countdown:{offer.course_id}:{offer.id}",
        )
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    def running(self, course_id: str, offer_id: str) -> asyncio.Task[None] | None:
        return self._tasks.get((course_id, offer_id))

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(
        self, offer: FlashOffer, chat_id: str, message_id: str, buttons: tuple[Button, ...]
    ) -> None:
        shown = flash_offer_text(offer, self._config, offer.starts_at)
        edits = closing_tries = 0
        while True:
            now = self._clock.now()
            running = offer.running(now)
            text = flash_offer_text(offer, self._config, now)
            if text != shown:
                edits += 1
                closing_tries += not running
                delivery = await self._messenger.send(
                    OutboundMessage(
                        key=f"offer:{offer.course_id}:{offer.id}:edit:{edits}",
                        platform=self._messenger.platform,
                        chat_id=chat_id,
                        text=text,
                        private=False,
                        course_id=offer.course_id,
                        class_id=offer.class_id,
                        buttons=buttons if running else (),
                        edit_message_id=message_id,
                    )
                )
                if delivery.status in (DeliveryStatus.DROPPED, DeliveryStatus.UNREACHABLE):
                    log.warning("flash offer %s: countdown stopped: %s", offer.id, delivery.reason)
                    return
                if delivery.status is DeliveryStatus.DELIVERED:
                    shown = text  # after a failed edit, the next turn tries again
            if not running:
                if shown == text or closing_tries >= CLOSING_TRIES:
                    return
                await self._sleep(RETRY_CLOSING_AFTER)
            else:
                await self._sleep(seconds_to_next_change(offer.seconds_left(now)))
