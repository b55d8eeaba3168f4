"""The countdown of a flash offer: its announcement edited as time runs out, then closed.

One task per offer keeps the posted text equal to `flash_offer_text` at the current time: every minute while
minutes are left, every 15 seconds in the last minute, and a last edit that says the offer ended and takes
the "Claim offer" button away. An edit is made only when the text changes. The tasks stop with the bot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.config import Config
from bot.domain import Button, DeliveryStatus, FlashOffer, OutboundMessage, Platform
from bot.ports import Clock, Messenger
from bot.usecases.offers import flash_offer_text

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

CLOSING_TRIES = 3  # of the last edit, the one that takes the button away
RETRY_AFTER = 5.0


def seconds_to_next_update(left: int) -> int:
    """How long the shown countdown stays right: to the next whole minute, or 15 s steps in the last one."""
    step = 60 if left > 60 else 15
    return left % step or step


class OfferCountdowns:
    def __init__(self, messenger: Messenger, config: Config, clock: Clock, sleep: Sleep) -> None:
        self._messenger = messenger
        self._config = config
        self._clock = clock
        self._sleep = sleep
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}

    def start(self, offer: FlashOffer, channel_id: str, message_id: str, buttons: tuple[Button, ...]) -> None:
        """Keep the announcement `message_id` in `channel_id` (posted with `buttons`) up to date."""
        key = (offer.course_id, offer.id)
        task = asyncio.create_task(
            self._run(offer, channel_id, message_id, buttons),
            name=f"offer-countdown:{offer.course_id}:{offer.id}",
        )
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    def task(self, course_id: str, offer_id: str) -> asyncio.Task[None] | None:
        return self._tasks.get((course_id, offer_id))

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(
        self, offer: FlashOffer, channel_id: str, message_id: str, buttons: tuple[Button, ...]
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
                        platform=Platform.DISCORD,
                        chat_id=channel_id,
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
                await self._sleep(RETRY_AFTER)  # the closing edit failed for now: try it again soon
            else:
                await self._sleep(seconds_to_next_update(offer.seconds_left(now)))
