"""The relay's HTTP server (aiohttp): personal links, the watch page, heartbeats and a health check.

GET  /j/<token>   the personal class link: records a link_click, then redirects to the watch page
                  (embeddable streams) or to the stream itself (Zoom, Meet, anything unknown)
GET  /w/<token>   the watch page (records nothing: reloading it is not another click)
GET  /o/<token>   the live offer's button: records an offer_click, then redirects to the offer
POST /hb          a heartbeat; the body is the token; counted as watched seconds when in time
GET  /healthz     200 while the store answers
GET  /static/...  the page's script, style and player library
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot.batching import MicroBatcher
from bot.config import Config
from bot.domain import ClassSession, ClassState, FlashOffer, Interaction, InteractionKind, LinkGrant, Platform
from bot.ports import Clock
from stream_relay.accesslog import redact
from stream_relay.clientip import ClientIps
from stream_relay.hosts import Stream, StreamKind, UnsafeStreamUrl, classify
from stream_relay.links import ClassCache, ClassView, TrackedLinks
from stream_relay.live_detect import LiveDetector
from stream_relay.pages import OfferView, offer_text, refused_page, watch_page
from stream_relay.ports import RelayBackend
from stream_relay.ratelimit import IpRateLimiter
from stream_relay.tokens import LinkSigner, Rejection, TokenRejected

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
OnLive = Callable[[ClassSession], Awaitable[None]]
# Batched writes to the store that may be under way at once: while one waits for Redis, the next is built.
FLUSHES_IN_FLIGHT = 4


class HeartbeatOutcome(StrEnum):
    COUNTED = "counted"
    TOO_SOON = "too_soon"  # less than the interval after the learner's last counted heartbeat
    NOT_LIVE = "not_live"  # the class has not started
    ENDED = "ended"  # the class ended more than one interval ago
    UNKNOWN = "unknown"  # the store no longer knows the link


@dataclass(frozen=True, slots=True)
class HeartbeatAnswer:
    outcome: HeartbeatOutcome
    offer: FlashOffer | None = None  # the running offer, so an open page shows one the teacher just started


@dataclass(frozen=True, slots=True)
class _Beat:
    grant_id: str
    at: datetime


def heartbeat_min_gap(interval: timedelta) -> timedelta:
    """How soon after a counted heartbeat the next one counts: the interval, less some slack for timer and
    network jitter (10 %, at least 0.25 s), so a page that is on time is never refused."""
    slack = max(interval * 0.1, timedelta(seconds=0.25))
    return interval - min(slack, interval / 2)


def _group(path: str) -> str:
    """Which rate limit a path falls under."""
    if path.startswith(("/j/", "/o/")):
        return "links"
    if path == "/hb":
        return "heartbeats"
    if path == "/healthz":
        return "health"
    return "pages"


class RelayServer:
    def __init__(
        self,
        config: Config,
        backend: RelayBackend,
        clock: Clock,
        signer: LinkSigner,
        *,
        on_live: OnLive | None = None,
        class_cache_ttl: float = 1.0,
    ) -> None:
        self._config = config
        self._relay = relay = config.relay
        self._backend = backend
        self._clock = clock
        self._signer = signer
        self._state = backend.relay
        self._course_ids = tuple(sorted(config.courses))
        self._on_live = on_live
        self.links = TrackedLinks(signer, backend.relay, relay, clock)
        self._classes = ClassCache(backend.classes, backend.offers, clock, class_cache_ttl)
        limits = relay.rate_limits
        self._limiter = IpRateLimiter(
            {
                "links": limits.links,
                "pages": limits.pages,
                "heartbeats": limits.heartbeats,
                "health": limits.health,
            },
            limits.tracked_ips,
        )
        self._client_ip = ClientIps(relay.proxy_networks, limits.tracked_ips)
        self._parent_host = urlsplit(relay.public_base_url).hostname or "localhost"
        self._interval = relay.heartbeat_interval
        self._seconds = int(relay.heartbeat_interval.total_seconds())
        self._min_gap = heartbeat_min_gap(relay.heartbeat_interval)
        window = relay.batch_window_ms / 1000
        self._heartbeats: MicroBatcher[_Beat, HeartbeatAnswer] = MicroBatcher(
            self._count_heartbeats, window, in_flight=FLUSHES_IN_FLIGHT, name="heartbeats"
        )
        # Clicks, offer clicks and counted heartbeats, on their way to intake.
        self._events: MicroBatcher[Interaction, None] = MicroBatcher(
            self._ingest, window, in_flight=FLUSHES_IN_FLIGHT, name="relay intake"
        )
        self._http: aiohttp.ClientSession | None = None
        self._detector: LiveDetector | None = None

    # --- lifecycle ---
    async def start(self, app: web.Application) -> None:
        if self._relay.live_detection and self._course_ids:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
            self._detector = LiveDetector(
                self._backend.classes,
                self._course_ids,
                self._on_live or self._mark_live,
                self._http,
                self._relay.probe_interval.total_seconds(),
            )
            self._detector.start()

    async def close(self, app: web.Application) -> None:
        if self._detector is not None:
            await self._detector.stop()
        if self._http is not None:
            await self._http.close()
        await self.flushed()

    async def flushed(self) -> None:
        """Wait until every heartbeat and click received so far is in the store."""
        await self._heartbeats.flushed()
        await self._events.flushed()

    async def _mark_live(self, session: ClassSession) -> None:
        """Without a go-live use case wired in, live detection at least marks the class live."""
        await self._backend.classes.save(session.go_live(session.stream_url, self._clock.now()))

    # --- middleware: rate limits, security headers, store failures ---
    @web.middleware
    async def guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        group = _group(request.path)
        ip = self._client_ip(request.remote, request.headers.get("X-Forwarded-For"))
        if not self._limiter.allow(group, ip):
            refused = web.Response(
                status=429,
                text="Too many requests: please wait a moment and try again.\n",
                headers={"Retry-After": str(self._limiter.retry_after(group))},
            )
            _harden(refused.headers, request.path)
            return refused
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # redirects and errors: aiohttp wants them raised, not returned
            _harden(exc.headers, request.path)
            raise
        except Exception:
            # The store is down or slow: say so, keep the token out of the log, let the client retry.
            log.exception("relay: %s %s failed", request.method, redact(request.path))
            response = web.Response(status=503, text="Temporarily unavailable, please try again.\n")
        _harden(response.headers, request.path)
        return response

    # --- resolving a token ---
    async def _resolve(self, token: str, now: datetime) -> tuple[LinkGrant, ClassView] | Rejection:
        try:
            verified = self._signer.verify(token, now)
        except TokenRejected as exc:
            return exc.reason
        grant = await self.links.grant(verified.grant_id)
        if grant is None:
            return Rejection.UNKNOWN
        view = await self._classes.get(grant.course_id, grant.class_id)
        if view is None:
            return Rejection.UNKNOWN
        ended = view.session.ended_at
        if (
            view.session.state is ClassState.ENDED
            and ended is not None
            and now >= ended + self._relay.link_grace
        ):
            return Rejection.EXPIRED
        return grant, view

    def _stream(self, session: ClassSession) -> Stream | None:
        if not session.stream_url:
            return None
        try:
            return classify(session.stream_url, self._parent_host)
        except UnsafeStreamUrl:
            log.warning("relay: class %s/%s has an unusable stream address", session.course_id, session.id)
            return None

    @staticmethod
    def _refuse(reason: Rejection) -> web.Response:
        return web.Response(status=403, text=refused_page(reason), content_type="text/html")

    # --- GET /j/<token> ---
    async def click(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        now = self._clock.now()
        found = await self._resolve(token, now)
        if isinstance(found, Rejection):
            return self._refuse(found)
        grant, view = found
        await self._events.submit(
            self._event(InteractionKind.LINK_CLICK, f"click-{uuid.uuid4().hex}", grant, now)
        )
        stream = self._stream(view.session)
        if stream is not None and not stream.kind.embeddable:
            raise web.HTTPFound(stream.url)
        raise web.HTTPSeeOther(f"../w/{token}")

    # --- GET /w/<token> ---
    async def watch(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        now = self._clock.now()
        found = await self._resolve(token, now)
        if isinstance(found, Rejection):
            return self._refuse(found)
        _grant, view = found
        session = view.session
        stream = self._stream(session) if session.state is not ClassState.SCHEDULED else None
        if stream is not None and not stream.kind.embeddable:
            raise web.HTTPFound(stream.url)  # the teacher moved the class to a host we cannot embed
        offer = view.offer if view.offer is not None and view.offer.running(now) else None
        html = watch_page(session.title, token, stream, self._interval, self._offer_view(offer, now))
        return web.Response(
            text=html,
            content_type="text/html",
            headers={"Content-Security-Policy": _page_policy(stream), "Referrer-Policy": "strict-origin"},
        )

    # --- GET /o/<token> ---
    async def offer_click(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        now = self._clock.now()
        found = await self._resolve(token, now)
        if isinstance(found, Rejection):
            return self._refuse(found)
        grant, view = found
        offer = view.offer
        shop = self._shop(grant.course_id)
        if offer is None or not offer.running(now) or not shop:
            raise web.HTTPSeeOther(f"../w/{token}")
        event = self._event(
            InteractionKind.OFFER_CLICK, f"offer-{uuid.uuid4().hex}", grant, now, {"offer": offer.id}
        )
        await self._events.submit(event)
        raise web.HTTPFound(shop)

    def _shop(self, course_id: str) -> str:
        course = self._config.courses.get(course_id)
        url = course.buy_url if course else ""
        return url if url.startswith(("https://", "http://")) else ""

    def _offer_view(self, offer: FlashOffer | None, now: datetime) -> OfferView | None:
        if offer is None:
            return None
        return OfferView(offer_text(offer, self._config, now), bool(self._shop(offer.course_id)))

    # --- POST /hb ---
    async def heartbeat(self, request: web.Request) -> web.StreamResponse:
        # Tokens are ASCII; anything else is replaced, so it fails verification as malformed, never crashes.
        token = (await request.read()).decode("ascii", "replace").strip()
        now = self._clock.now()
        try:
            verified = self._signer.verify(token, now)
        except TokenRejected as exc:
            return web.json_response({"counted": False, "reason": exc.reason.value}, status=403)
        answer = await self._heartbeats.submit(_Beat(verified.grant_id, now))
        if answer.outcome is HeartbeatOutcome.UNKNOWN:
            return web.json_response({"counted": False, "reason": Rejection.UNKNOWN.value}, status=403)
        view = self._offer_view(answer.offer, now)
        offer = {"text": view.text, "url": view.has_link} if view else None
        return web.json_response(
            {
                "counted": answer.outcome is HeartbeatOutcome.COUNTED,
                "reason": answer.outcome.value,
                "offer": offer,
            }
        )

    # --- GET /healthz ---
    async def health(self, request: web.Request) -> web.StreamResponse:
        try:
            await self._backend.ping()
        except Exception as exc:
            log.warning("relay: health check: the store does not answer: %s", type(exc).__name__)
            return web.json_response({"status": "store unavailable"}, status=503)
        return web.json_response({"status": "ok"})

    # --- the batched writes ---
    def _event(
        self,
        kind: InteractionKind,
        event_id: str,
        grant: LinkGrant,
        at: datetime,
        payload: dict[str, str | int | float] | None = None,
    ) -> Interaction:
        return Interaction(
            kind,
            Platform.WEB,
            event_id,
            grant.course_id,
            grant.learner_id,
            at,
            class_id=grant.class_id,
            payload=payload or {},
        )

    async def _ingest(self, events: Sequence[Interaction]) -> list[None]:
        await self._backend.intake.ingest(events)
        return [None] * len(events)

    def _window(self, session: ClassSession, at: datetime) -> HeartbeatOutcome | None:
        """Why a heartbeat at `at` falls outside the class, or None when it is inside."""
        if session.state is ClassState.SCHEDULED:
            return HeartbeatOutcome.NOT_LIVE
        if session.state is ClassState.ENDED and (
            session.ended_at is None or at - session.ended_at >= self._interval
        ):
            return HeartbeatOutcome.ENDED
        return None

    async def _count_heartbeats(self, beats: Sequence[_Beat]) -> list[HeartbeatAnswer]:
        grants = await self.links.grants([beat.grant_id for beat in beats])
        views = await self._classes.get_many({(g.course_id, g.class_id) for g in grants.values()})
        answers: list[HeartbeatAnswer] = [HeartbeatAnswer(HeartbeatOutcome.UNKNOWN)] * len(beats)
        candidates: list[tuple[int, str, LinkGrant, datetime, FlashOffer | None]] = []
        for i, beat in enumerate(beats):
            grant = grants.get(beat.grant_id)
            view = views.get((grant.course_id, grant.class_id)) if grant else None
            if grant is None or view is None:
                continue
            offer = view.offer if view.offer is not None and view.offer.running(beat.at) else None
            outside = self._window(view.session, beat.at)
            if outside is not None:
                answers[i] = HeartbeatAnswer(outside, offer)
            else:
                candidates.append((i, beat.grant_id, grant, beat.at, offer))
        if not candidates:
            return answers
        admitted = await self._state.admit_heartbeats(
            [(g, at) for _, _, g, at, _ in candidates], self._min_gap
        )
        for (i, grant_id, grant, at, offer), ok in zip(candidates, admitted, strict=True):
            if ok:
                # One counted heartbeat per link and gap: (link, time) names it uniquely, and redelivery-safe.
                event_id = f"hb-{grant_id}-{int(at.timestamp() * 1000)}"
                self._events.put(
                    self._event(
                        InteractionKind.WATCH_HEARTBEAT, event_id, grant, at, {"seconds": self._seconds}
                    )
                )
            answers[i] = HeartbeatAnswer(HeartbeatOutcome.COUNTED if ok else HeartbeatOutcome.TOO_SOON, offer)
        # The answer goes back once the heartbeat is admitted; its event is written with the next intake
        # batch (a round trip less per heartbeat). The page does nothing with the answer but show the offer,
        # so a write lost to a failing store loses exactly what a failed request would.
        return answers


def _harden(headers: MutableMapping[str, str], path: str) -> None:
    """Safe defaults for every answer; the watch page sets its own policy and referrer rule first."""
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault(
        "Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors 'none'"
    )
    # Personal answers are never cached (a cached redirect would hide the next click); our static files are.
    headers.setdefault("Cache-Control", "public, max-age=3600" if path.startswith("/static/") else "no-store")


def _page_policy(stream: Stream | None) -> str:
    """The watch page's Content-Security-Policy: our own scripts only, the one player it embeds."""
    origin = stream.player_origin if stream else ""
    parts = [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
    if stream is not None and stream.kind is StreamKind.HLS:
        parts += [f"connect-src 'self' {origin}", f"media-src 'self' blob: {origin}", "worker-src blob:"]
    else:
        parts.append("connect-src 'self'")
        if stream is not None:
            parts.append(f"frame-src {origin}")
    return "; ".join(parts)


RELAY_SERVER = web.AppKey("relay_server", RelayServer)


def create_app(
    config: Config,
    backend: RelayBackend,
    clock: Clock,
    secret: bytes,
    *,
    on_live: OnLive | None = None,
    class_cache_ttl: float = 1.0,
) -> web.Application:
    """The relay as an aiohttp app; live detection (of every configured course) starts and stops with it.

    `on_live` is called once per class whose HLS playlist starts serving segments; by default the class is
    just marked live. `class_cache_ttl` bounds how stale a class's state may be, in seconds.
    """
    server = RelayServer(
        config,
        backend,
        clock,
        LinkSigner(secret),
        on_live=on_live,
        class_cache_ttl=class_cache_ttl,
    )
    # Nothing the relay accepts is larger than a token; refuse big bodies before reading them.
    app = web.Application(middlewares=[server.guard], client_max_size=4096)
    app[RELAY_SERVER] = server
    app.router.add_get("/j/{token}", server.click)
    app.router.add_get("/w/{token}", server.watch)
    app.router.add_get("/o/{token}", server.offer_click)
    app.router.add_post("/hb", server.heartbeat)
    app.router.add_get("/healthz", server.health)
    app.router.add_static("/static", STATIC_DIR)
    app.on_startup.append(server.start)
    app.on_cleanup.append(server.close)
    return app


__all__ = ["RELAY_SERVER", "HeartbeatOutcome", "RelayServer", "create_app", "heartbeat_min_gap"]
