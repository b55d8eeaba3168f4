"""Issuing personal class links, and finding the grant and class behind a token again (cached)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.batching import MicroBatcher
from bot.config.relay import RelayConfig
from bot.domain import ClassSession, ClassState, FlashOffer, LinkGrant
from bot.ports import Classes, Clock, Offers
from stream_relay.lru import Lru
from stream_relay.ports import RelayState
from stream_relay.tokens import LinkSigner

# A grant record outlives its last link a little, so an old token reads as expired rather than unknown.
_RECORD_MARGIN = timedelta(days=1)


class TrackedLinks:
    """Personal links: `class_link`/`class_links` for the campaigns and commands, `grant` for the server."""

    def __init__(
        self,
        signer: LinkSigner,
        state: RelayState,
        relay: RelayConfig,
        clock: Clock,
        cache_size: int = 100_000,
    ) -> None:
        self._signer = signer
        self._state = state
        self._relay = relay
        self._clock = clock
        # Grants never change once written, so caching them is always right; only memory bounds the cache.
        # Kept as plain tuples of strings, which the garbage collector skips (thousands of learners).
        self._cache: Lru[str, tuple[str, str, str]] = Lru(cache_size)
        # Misses of concurrent requests (many learners clicking at once) are read together, in one MGET.
        self._misses: MicroBatcher[str, LinkGrant | None] = MicroBatcher(self._fetch)

    def expiry(self, session: ClassSession, now: datetime) -> datetime:
        """A link works until the class ended `link_grace` ago, and at most `link_max_lifetime` after the
        class started (or, before it starts, after it is scheduled to)."""
        start = session.started_at or session.scheduled_at or now
        expires = start + self._relay.link_max_lifetime
        if session.state is ClassState.ENDED and session.ended_at is not None:
            expires = min(expires, session.ended_at + self._relay.link_grace)
        return expires

    def url(self, token: str) -> str:
        return f"{self._relay.public_base_url}/j/{token}"

    async def class_link(self, learner_id: str, session: ClassSession) -> str:
        """The learner's personal link to the class, `<public_base_url>/j/<token>`."""
        return await self.issue(session, learner_id, self._clock.now())

    async def class_links(self, learner_ids: Iterable[str], session: ClassSession) -> dict[str, str]:
        """Personal links of many learners to one class, in one write: what a campaign step needs."""
        return await self.issue_many(session, learner_ids, self._clock.now())

    async def issue(self, session: ClassSession, learner_id: str, now: datetime) -> str:
        return (await self.issue_many(session, [learner_id], now))[learner_id]

    async def issue_many(
        self, session: ClassSession, learner_ids: Iterable[str], now: datetime
    ) -> dict[str, str]:
        """Personal links for a class, one per learner, in one write to the store."""
        expires = self.expiry(session, now)
        grants = {lid: LinkGrant(session.course_id, session.id, lid) for lid in dict.fromkeys(learner_ids)}
        ids = {lid: self._signer.grant_id(grant) for lid, grant in grants.items()}
        await self._state.put_grants(
            {ids[lid]: grant for lid, grant in grants.items()},
            max(expires - now, timedelta(0)) + _RECORD_MARGIN,
        )
        return {lid: self.url(self._signer.sign(ids[lid], expires)) for lid in grants}

    async def grant(self, grant_id: str) -> LinkGrant | None:
        known = self._cache.get(grant_id)
        return LinkGrant(*known) if known is not None else await self._misses.submit(grant_id)

    async def _fetch(self, grant_ids: Sequence[str]) -> list[LinkGrant | None]:
        found = await self.grants(grant_ids)
        return [found.get(grant_id) for grant_id in grant_ids]

    async def grants(self, grant_ids: Sequence[str]) -> dict[str, LinkGrant]:
        found: dict[str, LinkGrant] = {}
        missing: list[str] = []
        for grant_id in grant_ids:
            known = self._cache.get(grant_id)
            if known is None:
                missing.append(grant_id)
            else:
                found[grant_id] = LinkGrant(*known)
        if missing:
            fetched = await self._state.get_grants(list(dict.fromkeys(missing)))
            for grant_id, grant in fetched.items():
                self._cache.put(grant_id, (grant.course_id, grant.class_id, grant.learner_id))
            found.update(fetched)
        return found


@dataclass(frozen=True, slots=True)
class ClassView:
    session: ClassSession
    offer: FlashOffer | None  # the class's flash offer running when the view was read (check `running`)


class ClassCache:
    """Classes and their running flash offers, each read from the store at most once per `ttl` seconds.

    A class changes a few times in its life (live, a flash offer, ended) while thousands of heartbeats ask
    about it; a second of staleness moves the end of the heartbeat window, or an offer's start, by a second.
    Entries are few (one per class ever asked about), so they are kept without a bound.
    """

    def __init__(self, classes: Classes, offers: Offers, clock: Clock, ttl: float) -> None:
        self._classes = classes
        self._offers = offers
        self._clock = clock
        self._ttl = ttl
        self._entries: dict[tuple[str, str], tuple[float, ClassView | None]] = {}
        # Loads under way, so that a burst of requests for a stale class reads it from the store once.
        self._loading: dict[tuple[str, str], asyncio.Future[ClassView | None]] = {}

    async def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ClassView]:
        now = time.monotonic()
        wanted = set(keys)
        stale = [k for k in wanted if (entry := self._entries.get(k)) is None or now - entry[0] >= self._ttl]
        if stale:
            await asyncio.gather(*(self._load_once(key, now) for key in stale))
        out: dict[tuple[str, str], ClassView] = {}
        for key in wanted:
            view = self._entries[key][1]
            if view is not None:
                out[key] = view
        return out

    async def get(self, course_id: str, class_id: str) -> ClassView | None:
        return (await self.get_many([(course_id, class_id)])).get((course_id, class_id))

    async def _load_once(self, key: tuple[str, str], now: float) -> None:
        loading = self._loading.get(key)
        if loading is not None:
            await loading
            return
        future: asyncio.Future[ClassView | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            view = await self._load(*key)
            self._entries[key] = (now, view)
            future.set_result(view)
        except Exception as exc:
            future.set_exception(exc)
            raise
        finally:
            del self._loading[key]

    async def _load(self, course_id: str, class_id: str) -> ClassView | None:
        session, offer = await asyncio.gather(
            self._classes.get(course_id, class_id), self._offers.running(course_id, self._clock.now())
        )
        if session is None:
            return None
        return ClassView(session, offer if offer is not None and offer.class_id == class_id else None)
