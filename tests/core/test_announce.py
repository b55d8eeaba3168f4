"""One /live relays the class to every chat of the course, pinned; a new link updates them all."""

from __future__ import annotations

from adapters.console import RecordingMessenger
from bot import formatting
from bot.app import App
from bot.domain import Platform
from bot.usecases.replies import Actor, answer
from tests.core.conftest import TEACHER

teacher = Actor(TEACHER)
TG_GROUP, DC_CHANNEL = "-1001234567890", "112233445566778899"


async def test_going_live_announces_in_every_linked_chat_on_every_platform_pinned(
    app: App, messengers: dict[Platform, RecordingMessenger]
) -> None:
    reply = await answer(app.teacher.live(teacher, "python101", "https://youtube.com/live/x Decorators"))
    assert reply.private  # the teacher gets a receipt; the learners get the announcement
    await app.dispatcher.drain()
    [tg] = messengers[Platform.TELEGRAM].to_chat(TG_GROUP)
    [dc] = messengers[Platform.DISCORD].to_chat(DC_CHANNEL)
    for sent in (tg, dc):
        assert sent.message.pin
        assert sent.message.buttons[0].callback == "join:python101:c1"
        assert formatting.plain(sent.message.text).startswith("🔴 Live now: Decorators — Python 101.")


async def test_a_new_stream_link_edits_every_announcement_and_the_same_link_changes_nothing(
    app: App, messengers: dict[Platform, RecordingMessenger]
) -> None:
    await app.teacher.live(teacher, "python101", "https://youtube.com/live/x Decorators")
    await app.dispatcher.drain()
    [first] = messengers[Platform.TELEGRAM].to_chat(TG_GROUP)

    changed = await answer(app.teacher.live(teacher, "python101", "https://youtube.com/live/y"))
    await app.dispatcher.drain()
    assert changed.text == "Link changed: the announcement was updated in 2 chat(s)."
    [_, edit] = messengers[Platform.TELEGRAM].to_chat(TG_GROUP)
    assert edit.message.edit_message_id == first.message_id
    assert "https://youtube.com/live/y" in edit.rendered
    assert formatting.plain(edit.message.text).startswith("🔴 Live now (new link): Decorators")
    assert len(messengers[Platform.DISCORD].to_chat(DC_CHANNEL)) == 2

    again = await answer(app.teacher.live(teacher, "python101", "https://youtube.com/live/y"))
    await app.dispatcher.drain()
    assert formatting.plain(again.text) == "Decorators is already live with that link."
    assert len(messengers[Platform.TELEGRAM].to_chat(TG_GROUP)) == 2


async def test_a_scheduled_hls_class_goes_live_and_is_announced_when_its_stream_starts(
    app: App, messengers: dict[Platform, RecordingMessenger]
) -> None:
    stream = "https://cdn.example.com/python101/live.m3u8"
    assert (
        await answer(app.teacher.schedule(teacher, "python101", f"tomorrow 19:00 Decorators {stream}"))
    ).ok
    session = await app.store.classes.current("python101")
    assert session is not None
    assert (session.title, session.stream_url) == ("Decorators", stream)

    assert await app.teacher.stream_started(session)  # what the relay's live detection calls
    assert not await app.teacher.stream_started(session)  # a second relay process reporting it: nothing
    await app.dispatcher.drain()
    live = await app.store.classes.current("python101")
    assert live is not None
    assert live.state.value == "live"
    assert len(messengers[Platform.TELEGRAM].to_chat(TG_GROUP)) == 1
