"""What a command answers, and who asked."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass

from bot.domain import Button, DomainError, FlashOffer, Identity


@dataclass(frozen=True, slots=True)
class Actor:
    """The person running a command.

    `admin_teacher` is set by an adapter whose config lets a group's admins act as its course's teachers.
    """

    identity: Identity
    name: str = ""
    language: str = ""
    admin_teacher: bool = False


@dataclass(frozen=True, slots=True)
class PollRequest:
    """A native poll the adapter should post (non-anonymous, so that answers can be counted)."""

    question: str
    options: tuple[str, ...]
    course_id: str
    class_id: str


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer in neutral markup. `private`: send it to the asker's private chat, never to the group.

    `poll`, when set, asks the adapter to post that poll; `offer`, when set, names the flash offer whose
    countdown the adapter keeps up to date (with `flash_offer_text`) until it ends.
    """

    text: str
    buttons: tuple[Button, ...] = ()
    private: bool = False
    ok: bool = True
    poll: PollRequest | None = None
    offer: FlashOffer | None = None

    @classmethod
    def refusal(cls, text: str, *, private: bool = False) -> Reply:
        return cls(text, ok=False, private=private)


async def answer(call: Awaitable[Reply], prefix: str = "/") -> Reply:
    """Run a command; a usage mistake or a broken rule becomes a polite reply, never a traceback."""
    from bot.usecases.parsing import UsageError

    try:
        return await call
    except UsageError as exc:
        return Reply.refusal(exc.help_text(prefix))
    except DomainError as exc:
        return Reply.refusal(str(exc))
