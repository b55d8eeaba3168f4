"""The composition root: the one place that builds every part and wires them together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from apscheduler.jobstores.redis import RedisJobStore

from adapters.redis import RedisStore
from bot.clock import SystemClock
from bot.config import Config
from bot.domain import Platform
from bot.ports import Clock, LinkMaker, Messenger, Scorer
from bot.usecases.learner import LearnerCommands
from bot.usecases.linking import Linking
from bot.usecases.purchases import Purchases
from bot.usecases.rescore import Rescorer
from bot.usecases.teacher import TeacherCommands
from campaigns import jobs
from campaigns.coupons import PoolIssuer
from campaigns.dispatcher import Dispatcher
from campaigns.engine import CampaignEngine
from campaigns.fallback import dispatcher_fallback
from campaigns.runner import StepRunner, StreamLinks
from campaigns.scheduler import CampaignScheduler, Mode
from scoring.rules import RuleScorer


@dataclass
class App:
    config: Config
    clock: Clock
    store: RedisStore
    scorer: Scorer
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
        jobs.unregister(self.config.storage.key_prefix, self.runner)
        await self.store.close()


def _jobstore(store: RedisStore) -> RedisJobStore:
    jobstore = RedisJobStore(
        jobs_key=store.keys.scheduler_jobs(), run_times_key=store.keys.scheduler_run_times()
    )
    # APScheduler's store is synchronous: give it a client of the same server (or the same fakeredis).
    jobstore.redis = store.handle.sync_client()
    return jobstore


async def build_app(
    config: Config,
    *,
    clock: Clock | None = None,
    messengers: Mapping[Platform, Messenger] | None = None,
    redis_url: str | None = None,
    scheduler_mode: Mode = "live",
    links: LinkMaker | None = None,
    scorer: Scorer | None = None,
    consumer: str = "dispatcher-1",
) -> App:
    """Build and start the core (inside a running event loop); close it with `App.close()`."""
    clock = clock or SystemClock()
    storage = config.storage
    store = RedisStore.open(redis_url or storage.redis_url, storage.key_prefix, storage.dedup_window)
    await store.ping()
    links = links or StreamLinks()
    scorer = scorer or RuleScorer(config.scoring)
    runtime = storage.key_prefix
    scheduler = CampaignScheduler(_jobstore(store), runtime, scheduler_mode)
    runner = StepRunner(
        config,
        store.learners,
        store.classes,
        store.activity,
        store.scores,
        store.coupons,
        store.outbox,
        clock,
        links,
    )
    jobs.register(runtime, runner)
    scheduler.start()
    engine = CampaignEngine(config, scheduler, clock)
    all_messengers = dict(messengers or {})
    dispatcher = Dispatcher(
        store.outbox,
        store.learners,
        store.activity,
        all_messengers,
        clock,
        consumer=consumer,
        fallback=dispatcher_fallback(config, store.learners),
    )
    rescorer = Rescorer(store.activity, scorer, store.scores, clock)
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
    purchases = Purchases(store.coupons, store.activity, store.intake, store.orders)
    linking = Linking(config, store.learners, store.classes, store.activity, store.coupons)
    return App(
        config,
        clock,
        store,
        scorer,
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
