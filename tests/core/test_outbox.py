"""The outbox: each idempotency key is queued once."""

from __future__ import annotations

from adapters.redis import RedisStore
from bot.clock import ManualClock
from bot.domain import OutboundMessage, Platform


async def test_a_message_is_enqueued_once_per_idempotency_key(store: RedisStore, clock: ManualClock) -> None:
    message = OutboundMessage("campaign:step:c1:tg-1", Platform.TELEGRAM, "1", "hi")
    assert await store.outbox.enqueue([message, message], clock.now()) == 1
    assert await store.outbox.enqueue([message], clock.now()) == 0
    assert await store.outbox.pending() == 1
