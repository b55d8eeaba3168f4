"""The composition root: the one place that builds every part and wires them together."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from apscheduler.jobstores.redis import RedisJobStore

from adapters.redis import RedisStore
from adapters.web.purchase_webhook import PurchaseWebhook
from bot.clock import SystemClock
from bot.config import Config
from bot.config.relay import link_secret
from bot.domain import Platform
from bot.ports import Clock, LinkMaker, Messenger
from bot.usecases.announce import Announcer
from bot.usecases.learner import LearnerCommands
from bot.usecases.linking import Linking
from bot.usecases.purchases import Purchases
from bot.usecases.rescore import Rescorer
from bot.usecases.teacher import StatsExtra, TeacherCommands
from campaigns import jobs
from campaigns.coupons import PoolIssuer
from campaigns.dispatcher import Dispatcher
from campaigns.engine import CampaignEngine
from campaigns.fallback import dispatcher_fallback
from campaigns.guards import Guards
from campaigns.runner import StepRunner, StreamLinks
from campaigns.scheduler import CampaignScheduler, Mode
from scoring.model_scorer import ModelScorer, load_scorer
from scoring.service import ScoringService
from stream_relay.links import TrackedLinks
from stream_relay.stats import ViewerLines
from stream_relay.tokens import LinkSigner

log = logging.getLogger(__name__)


@dataclass
class App:
    config: Config
    clock: Clock
    store: RedisStore
    scorer: ModelScorer
    scoring: ScoringService
    scheduler: CampaignScheduler
    runner: StepRunner
    engine: CampaignEngine
    dispatcher: Dispatcher
    rescorer: Rescorer
    teacher: TeacherCommands
    learner: LearnerCommands
    purchases: Purchases
    linking: Linking
    messengers: dict[Platform, Messenger] = field(default_factory=dict)

    async def close(self) -> None:
        self.scheduler.shutdown()
        jobs.unregister(self.config.storage.key_prefix, self.engine)
        await self.store.close()


def _jobstore(store: RedisStore) -> RedisJobStore:
    jobstore = RedisJobStore(
        jobs_key=store.keys.scheduler_jobs(), run_times_key=store.keys.scheduler_run_times()
    )
    # APScheduler's store is synchronous: give it a client of the same server (or the same fakeredis).
    jobstore.redis = store.handle.sync_client()
    return jobstore


class MissingSecret(Exception):
    """A secret the configuration names is not in the environment; the message says which."""


def secret_from_env(name: str, environ: Mapping[str, str] | None = None) -> bytes | None:
    value = (os.environ if environ is None else environ).get(name, "")
    return value.encode() if value else None


async def build_app(
    config: Config,
    *,
    clock: Clock | None = None,
    messengers: Mapping[Platform, Messenger] | None = None,
    redis_url: str | None = None,
    scheduler_mode: Mode = "live",
    links: LinkMaker | None = None,
    consumer: str = "dispatcher-1",
    config_dir: Path | None = None,
) -> App:
    """Build and start the core (inside a running event loop); close it with `App.close()`.

    `config_dir`: where relative paths in the config (the trained model) start from.
    """
    clock = clock or SystemClock()
    storage = config.storage
    store = RedisStore.open(redis_url or storage.redis_url, storage.key_prefix, storage.dedup_window)
    await store.ping()
    extras: list[StatsExtra] = []
    if links is None and config.relay.enabled:
        links = TrackedLinks(LinkSigner(link_secret(config.relay)), store.relay, config.relay, clock)
    if config.relay.enabled:
        extras.append(ViewerLines(store.activity, store.relay, clock))
    links = links or StreamLinks()
    scorer, how = load_scorer(config.scoring, clock, base=config_dir)
    log.info("%s", how)
    scoring = ScoringService(
        scorer, store.history, store.classes, store.activity, store.orders, clock, config.scoring
    )
    runtime = storage.key_prefix
    scheduler = CampaignScheduler(_jobstore(store), runtime, scheduler_mode, clock)
    runner = StepRunner(
        config,
        store.learners,
        store.classes,
        store.activity,
        store.scores,
        store.coupons,
        store.outbox,
        clock,
        store.campaign_state,
        links,
        secret_from_env(config.campaign_engine.link_secret_env),
    )
    engine = CampaignEngine(
        config, scheduler, clock, runner, store.activity, store.campaign_state, store.coupons
    )
    jobs.register(runtime, engine)
    scheduler.start()
    engine.sync_jobs()
    all_messengers = dict(messengers or {})
    dispatcher = Dispatcher(
        store.outbox,
        store.learners,
        store.activity,
        all_messengers,
        clock,
        consumer=consumer,
        fallback=dispatcher_fallback(config, store.learners),
        guards=Guards(config),
        classes=store.classes,
    )
    rescorer = Rescorer(store.activity, scorer, store.scores, clock, listener=engine, prepare=scoring.prepare)
    teacher = TeacherCommands(
        config,
        store.classes,
        store.activity,
        store.scores,
        store.learners,
        rescorer,
        engine,
        clock,
        store.offers,
        explainer=scoring,
        announcer=Announcer(config, store.outbox, clock, show_stream_url=not config.relay.enabled),
        extras=[*extras, scoring],
    )
    issuer = PoolIssuer(config, store.coupons)
    learner = LearnerCommands(
        config,
        store.learners,
        store.classes,
        store.activity,
        store.coupons,
        store.intake,
        links,
        clock,
        store.offers,
        issuer,
    )
    purchases = Purchases(
        store.coupons,
        store.activity,
        store.intake,
        store.orders,
        config,
        touches=store.outbox,
        sources=store.coupons,
        attributions=store.orders,
    )
    linking = Linking(config, store.learners, store.classes, store.activity, store.coupons)
    return App(
        config,
        clock,
        store,
        scorer,
        scoring,
        scheduler,
        runner,
        engine,
        dispatcher,
        rescorer,
        teacher,
        learner,
        purchases,
        linking,
        all_messengers,
    )


def purchase_webhook(app: App, environ: Mapping[str, str] | None = None) -> PurchaseWebhook:
    """The purchase webhook's dependencies, for `add_purchase_routes(web_app, ...)`.

    The shared secret comes from the environment variable the config names; `config check` reports it
    missing when the webhook is enabled.
    """
    section = app.config.purchase_webhook
    secret = secret_from_env(section.secret_env, environ)
    if secret is None:
        raise MissingSecret(f"the environment variable {section.secret_env} (the webhook secret) is not set")
    return PurchaseWebhook(
        app.config,
        secret,
        app.clock,
        app.purchases,
        app.store.coupons,
        app.store.orders,
        app.store.campaign_state,
        app.runner.ref_secret,
    )
