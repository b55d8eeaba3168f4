"""Linking a learner's accounts across platforms: one history, one score, one coupon, one message per step.

`/link` on one platform gives a short-lived one-time code; sending `/link CODE` to the bot on the other
platform makes both identities one learner. The learner who asked for the code is kept; the other one's
history, coupons and platforms are folded into it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from bot import formatting
from bot.config import Config
from bot.domain import Identity
from bot.ports import Activity, Classes, Coupons, Learners
from bot.usecases.replies import Reply

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L: easy to copy by hand
CODE_LENGTH = 8
CODE_TTL = timedelta(minutes=10)


def new_link_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


@dataclass
class Linking:
    config: Config
    learners: Learners
    classes: Classes
    activity: Activity
    coupons: Coupons

    async def request(self, who: Identity) -> Reply:
        await self.learners.resolve(who)
        code = new_link_code()
        await self.learners.create_link_code(who, code, CODE_TTL)
        other = "Discord" if who.platform.value == "telegram" else "Telegram"
        minutes = int(CODE_TTL.total_seconds() // 60)
        return Reply(
            f"Your link code: {formatting.code(code)}. Send {formatting.code('/link ' + code)} to me on "
            f"{other} within {minutes} minutes to make both accounts one.",
            private=True,
        )

    async def confirm(self, who: Identity, text: str) -> Reply:
        code = normalise_code(text)
        if len(code) != CODE_LENGTH:
            return Reply.refusal(
                f"A link code has {CODE_LENGTH} letters and digits; /link without a code gives you one."
            )
        first = await self.learners.take_link_code(code)
        if first is None:
            return Reply.refusal("That code is unknown or has expired (codes work once, for 10 minutes).")
        if first.platform is who.platform:
            return Reply.refusal("Send the code from your account on the other platform.")
        keep = await self.learners.resolve(first)
        absorb = await self.learners.resolve(who)
        if keep == absorb:
            return Reply("These accounts are already linked.", private=True)
        for course_id in self.config.courses:
            await self.activity.merge(course_id, keep, absorb, await self.classes.ids(course_id))
        await self.coupons.reassign(absorb, keep)
        await self.learners.merge(keep, absorb)
        return Reply(
            "Done: your accounts are linked. I will write to you where you were last active.", private=True
        )
