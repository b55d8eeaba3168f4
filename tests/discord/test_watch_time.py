"""Watch time from voice and stage channels: credited inside the live class only, once, in any order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from adapters.discord.watch_time import WatchTime
from adapters.redis import RedisStore
from bot.clock import ManualClock
from bot.domain import ClassSession, ClassState, Interaction, InteractionKind
from bot.ports import IngestResult, Intake
from tests.discord.scene import Listening, Scene, learner, listening
from tests.emulators.discord_api import DiscordEmulator

T0 = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
ADA = 1001


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def live(started: float = 0, ended: float | None = None, class_id: str = "c1") -> ClassSession:
    state = ClassState.ENDED if ended is not None else ClassState.LIVE
    return ClassSession(
        class_id,
        "py",
        "Loops",
        state,
        started_at=at(started),
        ended_at=at(ended) if ended is not None else None,
    )


def seconds(events: list[Interaction]) -> int:
    return sum(int(e.payload["seconds"]) for e in events if e.kind is InteractionKind.WATCH_HEARTBEAT)


def kinds(events: list[Interaction]) -> list[str]:
    return [e.kind.value for e in events]


def join(
    watch: WatchTime, t: float, session: ClassSession | None, *, voice: str = "s1", channel: int = 7
) -> list[Interaction]:
    return watch.joined(
        user_id=ADA,
        learner_id="dc-1001",
        course_id="py",
        channel_id=channel,
        session_id=voice,
        at=at(t),
        session=session,
    )


# --------------------------------------------------------------------------------------- the tracker alone


def test_time_before_the_class_starts_is_not_watch_time() -> None:
    watch = WatchTime()
    assert join(watch, 0, None) == []  # in the stage channel, waiting

    events = watch.flush("py", at(300), live(started=120))

    assert kinds(events) == ["join", "watch_heartbeat"]
    assert seconds(events) == 180
    assert events[0].at == at(120)


def test_leaving_credits_the_time_since_the_last_flush_and_records_the_leave() -> None:
    watch = WatchTime()
    session = live()
    join(watch, 10, session)
    watch.flush("py", at(70), session)

    events = watch.left(user_id=ADA, session_id="s1", at=at(100), session=session)

    assert kinds(events) == ["watch_heartbeat", "leave"]
    assert seconds(events) == 30
    assert watch.course_of(ADA) is None


def test_repeated_updates_neither_restart_nor_double_the_count() -> None:
    watch = WatchTime()
    session = live()
    first = join(watch, 0, session)
    repeats = join(watch, 30, session) + join(watch, 30, session)

    flushed = watch.flush("py", at(60), session) + watch.flush("py", at(60), session)

    assert kinds(first) == ["join"]
    assert seconds(repeats + flushed) == 60


def test_a_stale_leave_from_an_earlier_voice_session_is_ignored() -> None:
    watch = WatchTime()
    session = live()
    credited = join(watch, 0, session, voice="old")
    credited += join(watch, 20, session, voice="new")  # reconnected from another device

    stale = watch.left(user_id=ADA, session_id="old", at=at(25), session=session)

    assert stale == []
    assert watch.course_of(ADA) == "py"
    credited += watch.left(user_id=ADA, session_id="new", at=at(90), session=session)
    assert seconds(credited) == 90


def test_updates_out_of_order_never_credit_negative_or_twice() -> None:
    watch = WatchTime()
    session = live()
    join(watch, 100, session)
    credited = watch.flush("py", at(160), session)

    late = watch.flush("py", at(130), session)  # an older time arrives after a newer one

    assert seconds(credited) == 60
    assert late == []
    assert seconds(watch.flush("py", at(170), session)) == 10


def test_no_credit_runs_past_the_end_of_the_class() -> None:
    watch = WatchTime()
    join(watch, 0, live())
    watch.flush("py", at(60), live())

    ended = live(ended=90)
    assert seconds(watch.flush("py", at(600), ended)) == 30
    assert watch.flush("py", at(900), ended) == []
    assert (
        kinds(watch.left(user_id=ADA, session_id="s1", at=at(950), session=ended)) == []
    )  # no leave after the end


def test_fractions_of_seconds_are_carried_over_not_lost() -> None:
    watch = WatchTime()
    session = live()
    join(watch, 0, session)

    total = sum(seconds(watch.flush("py", at(t + 0.6), session)) for t in range(0, 10))

    assert total == 9  # 9.6 s seen; the 0.6 s left is credited with the next interval
    assert seconds(watch.flush("py", at(10), session)) == 1


def test_replaying_the_same_updates_gives_the_same_event_ids() -> None:
    def run() -> list[str]:
        watch = WatchTime()
        session = live()
        events = join(watch, 5, session) + watch.flush("py", at(65), session)
        events += watch.left(user_id=ADA, session_id="s1", at=at(80), session=session)
        return [e.event_id for e in events]

    assert run() == run()
    assert len(set(run())) == 4


def test_time_is_credited_to_the_learner_the_person_is_now() -> None:
    watch = WatchTime()
    session = live()
    join(watch, 0, session)
    first = watch.flush("py", at(60), session)

    watch.relabel(ADA, "tg-7")  # they linked their Telegram account meanwhile
    later = watch.flush("py", at(120), session)
    watch.relabel(4242, "nobody")  # someone not seated: nothing to relabel

    assert {e.learner_id for e in first} == {"dc-1001"}
    assert [(e.learner_id, e.payload["seconds"]) for e in later] == [("tg-7", 60)]


def test_a_new_class_is_credited_apart_from_the_last_one() -> None:
    watch = WatchTime()
    join(watch, 0, live())
    first = watch.flush("py", at(100), live(ended=60))
    second = watch.flush("py", at(400), live(started=300, class_id="c2"))

    assert seconds(first) == 60
    assert [(e.kind.value, e.class_id) for e in second] == [("join", "c2"), ("watch_heartbeat", "c2")]
    assert seconds(second) == 100


# ---------------------------------------------------------------------- through discord.py and the cog


@pytest.fixture
def scene() -> Scene:
    scene = Scene.build()
    scene.server.voice[scene.bo.id] = (scene.stage.id, "bo-session")  # Bo sits in the stage at connect time
    return scene


@pytest.fixture
async def world(
    discord_api: DiscordEmulator, store: RedisStore, clock: ManualClock, scene: Scene
) -> AsyncIterator[Listening]:
    running = await listening(discord_api, store, clock, scene)
    yield running
    await running.bot.close()


async def voice(
    world: Listening, scene: Scene, who: object, channel: object, session: str, **more: bool
) -> None:
    await world.feed.dispatch("VOICE_STATE_UPDATE", scene.server.voice_state(who, channel, session, **more))  # type: ignore[arg-type]


async def test_a_learner_in_the_stage_channel_during_the_class_is_credited_watch_time(
    world: Listening, scene: Scene
) -> None:
    await voice(world, scene, scene.ada, scene.stage, "v1")  # arrives before the class
    world.tick(60)
    await world.start_class("c1")
    world.tick(120)
    await world.cog.flush_watch_time()
    world.tick(30)

    await voice(world, scene, scene.ada, None, "v1")  # leaves

    assert await world.watched(learner(scene.ada.id)) == 150
    ada_kinds = [e["kind"] for e in await world.events() if e["learner"] == learner(scene.ada.id)]
    assert ada_kinds == ["join", "watch_heartbeat", "watch_heartbeat", "leave"]


async def test_people_already_in_the_stage_when_the_bot_connects_are_seated(
    world: Listening, scene: Scene
) -> None:
    await world.start_class("c1")
    world.tick(90)

    await world.cog.flush_watch_time()

    assert await world.watched(learner(scene.bo.id)) == 90


async def test_moving_between_class_channels_keeps_the_seat_and_leaving_for_the_lounge_ends_it(
    world: Listening, scene: Scene
) -> None:
    await world.start_class("c1")
    await voice(world, scene, scene.ada, scene.stage, "v1")
    world.tick(40)
    await voice(world, scene, scene.ada, scene.overflow, "v1")
    world.tick(40)
    await voice(world, scene, scene.ada, scene.lounge, "v1")
    world.tick(100)
    await world.cog.flush_watch_time()

    assert await world.watched(learner(scene.ada.id)) == 80
    ada_kinds = [e["kind"] for e in await world.events() if e["learner"] == learner(scene.ada.id)]
    assert ada_kinds.count("join") == 1


async def test_a_deafened_learner_is_not_watching(world: Listening, scene: Scene) -> None:
    await world.start_class("c1")
    await voice(world, scene, scene.ada, scene.stage, "v1")
    world.tick(30)
    await voice(world, scene, scene.ada, scene.stage, "v1", self_deaf=True)
    world.tick(300)
    await voice(world, scene, scene.ada, scene.stage, "v1", self_deaf=False)
    world.tick(30)
    await world.cog.flush_watch_time()

    assert await world.watched(learner(scene.ada.id)) == 60


async def test_repeated_voice_updates_change_nothing(world: Listening, scene: Scene) -> None:
    await world.start_class("c1")
    await voice(world, scene, scene.ada, scene.stage, "v1")
    world.tick(10)
    await voice(world, scene, scene.ada, scene.stage, "v1")  # the gateway repeats itself
    world.tick(10)
    await voice(world, scene, scene.ada, scene.stage, "v1")  # she unmutes: same channel, same session
    world.tick(40)
    await world.cog.flush_watch_time()

    assert await world.watched(learner(scene.ada.id)) == 60
    ada_kinds = [e["kind"] for e in await world.events() if e["learner"] == learner(scene.ada.id)]
    assert ada_kinds.count("join") == 1


async def test_a_join_and_a_leave_arriving_together_are_applied_in_their_order(
    world: Listening, scene: Scene
) -> None:
    # Their handlers run concurrently and wait on Redis; the leave must not overtake the join.
    await world.start_class("c1")
    server = scene.server
    await world.feed.burst(
        [
            ("VOICE_STATE_UPDATE", server.voice_state(scene.ada, scene.stage, "v1")),
            ("VOICE_STATE_UPDATE", server.voice_state(scene.ada, None, "v1")),
        ]
    )
    world.tick(600)
    await world.cog.flush_watch_time()

    assert await world.watched(learner(scene.ada.id)) == 0
    assert world.cog.watch.course_of(scene.ada.id) is None


async def test_teachers_in_the_stage_are_not_credited(world: Listening, scene: Scene) -> None:
    await world.start_class("c1")
    await voice(world, scene, scene.teacher, scene.stage, "t1")
    await voice(world, scene, scene.assistant, scene.stage, "t2")
    world.tick(600)
    await world.cog.flush_watch_time()

    learners = {e["learner"] for e in await world.events()}
    assert learners == {learner(scene.bo.id)}


async def test_watch_time_stops_at_the_end_of_the_class(world: Listening, scene: Scene) -> None:
    session = await world.start_class("c1")
    await voice(world, scene, scene.ada, scene.stage, "v1")
    world.tick(50)
    await world.cog.flush_watch_time()
    world.tick(25)
    await world.end_class(session)
    world.tick(500)

    await world.cog.flush_watch_time()
    await voice(world, scene, scene.ada, None, "v1")

    assert await world.watched(learner(scene.ada.id)) == 75


async def test_a_clean_shutdown_credits_everyone_still_seated(
    discord_api: DiscordEmulator, store: RedisStore, clock: ManualClock, scene: Scene
) -> None:
    running = await listening(discord_api, store, clock, scene)
    await running.start_class("c1")
    running.tick(42)

    await running.bot.close()  # unloads the cog

    assert await running.watched(learner(scene.bo.id)) == 42


async def test_reconnecting_unseats_people_who_left_meanwhile(world: Listening, scene: Scene) -> None:
    await world.start_class("c1")
    world.tick(30)
    del scene.server.voice[scene.bo.id]  # Bo left while the bot was disconnected
    guild = world.bot.get_guild(scene.server.id)
    assert guild is not None
    guild._voice_states.pop(scene.bo.id)

    await world.cog.resync_voice(guild)
    world.tick(300)
    await world.cog.flush_watch_time()

    assert await world.watched(learner(scene.bo.id)) == 30


class SignallingIntake:
    """Intake that says when watch time arrives."""

    def __init__(self, inner: Intake) -> None:
        self.inner = inner
        self.credited = asyncio.Event()

    async def ingest(self, batch: Sequence[Interaction]) -> IngestResult:
        result = await self.inner.ingest(batch)
        if any(e.kind is InteractionKind.WATCH_HEARTBEAT for e in batch):
            self.credited.set()
        return result


async def test_the_cog_credits_watch_time_every_flush_period_by_itself(
    discord_api: DiscordEmulator, store: RedisStore, scene: Scene
) -> None:
    clock = ManualClock(datetime.now(UTC))
    running = await listening(discord_api, store, clock, scene, watch_flush=timedelta(milliseconds=20))
    signalling = SignallingIntake(store.intake)
    running.cog.intake = signalling
    try:
        await running.start_class("c1")
        running.tick(45)
        await asyncio.wait_for(signalling.credited.wait(), 5)  # no flush called here: the loop runs by itself
    finally:
        await running.bot.close()

    assert await running.watched(learner(scene.bo.id)) == 45
