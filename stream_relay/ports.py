"""What the relay needs from the store, beside the core's Intake, Classes, Activity and Offers ports.

`adapters.redis.relay.RedisRelay` implements RelayState; `adapters.redis.RedisStore` satisfies RelayBackend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain import LinkGrant
from bot.ports import Activity, Classes, Intake, Offers


class RelayState(Protocol):
    async def put_grants(self, grants: Mapping[str, LinkGrant], ttl: timedelta) -> None: ...

    async def get_grants(self, grant_ids: Sequence[str]) -> dict[str, LinkGrant]: ...

    async def admit_heartbeats(
        self, beats: Sequence[tuple[LinkGrant, datetime]], min_gap: timedelta
    ) -> list[bool]:
        """Per heartbeat: True when it comes at least min_gap after the learner's last admitted one in
        that class (across every relay process); admitted ones also mark the learner a live viewer."""
        ...

    async def live_viewers(self, course_id: str, class_id: str, since: datetime) -> int: ...


class RelayBackend(Protocol):
    """The store parts the relay runs on (read-only properties, so the concrete store's types fit)."""

    @property
    def intake(self) -> Intake: ...

    @property
    def classes(self) -> Classes: ...

    @property
    def activity(self) -> Activity: ...

    @property
    def offers(self) -> Offers: ...

    @property
    def relay(self) -> RelayState: ...

    async def ping(self) -> None:
        """Raise when the store does not answer."""
        ...
