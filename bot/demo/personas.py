"""Synthetic learners with distinct behaviours, drawn from one seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from bot.domain import Platform


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    share: float  # of all learners
    starts_bot: float  # chance to open the bot's private chat (needed on Telegram to get private messages)
    attends: float
    join_minute: tuple[int, int]
    watch_share: tuple[float, float]  # of the class left after joining
    messages: tuple[int, int]
    questions: tuple[int, int]
    reactions: tuple[int, int]
    answers_poll: float
    clicks_offer: float
    buys_with_coupon: float  # chance to buy once holding a coupon
    buys_anyway: float  # chance to buy without one


PERSONAS = (
    Persona(
        "eager buyer", 0.15, 0.95, 0.98, (0, 3), (0.85, 1.0), (2, 6), (1, 3), (1, 5), 0.9, 0.8, 0.6, 0.15
    ),
    Persona("lurker", 0.30, 0.70, 0.90, (0, 8), (0.6, 1.0), (0, 0), (0, 0), (0, 2), 0.3, 0.15, 0.12, 0.02),
    Persona(
        "chatty non-buyer",
        0.20,
        0.80,
        0.95,
        (0, 10),
        (0.15, 0.45),
        (15, 40),
        (0, 2),
        (5, 15),
        0.7,
        0.1,
        0.03,
        0.0,
    ),
    Persona("no-show", 0.20, 0.50, 0.0, (0, 0), (0.0, 0.0), (0, 0), (0, 0), (0, 0), 0.0, 0.0, 0.0, 0.01),
    Persona(
        "late joiner", 0.15, 0.75, 0.95, (25, 40), (0.8, 1.0), (0, 3), (0, 1), (0, 3), 0.5, 0.35, 0.3, 0.03
    ),
)

_FIRST = [
    "Ada",
    "Bao",
    "Chen",
    "Dara",
    "Eli",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jia",
    "Kofi",
    "Lena",
    "Mei",
    "Nils",
    "Omar",
    "Pia",
    "Qiu",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Vik",
    "Wen",
    "Xia",
    "Yusuf",
    "Zoe",
]


@dataclass(frozen=True, slots=True)
class SimLearner:
    index: int
    name: str
    platform: Platform
    user_id: str
    language: str
    persona: Persona
    starts_bot: bool
    attends: bool
    join_minute: int
    leave_minute: int  # exclusive
    messages: int
    questions: int
    reactions: int
    answers_poll: bool
    clicks_offer: bool
    buy_roll: float  # compared with the persona's chances once the outcome of the campaign is known


def in_class(sims: list[SimLearner], seed: int, number: int, class_minutes: int) -> list[SimLearner]:
    """The same people in a later class of the series: who comes and what they do is drawn again."""
    if number == 0:
        return sims
    rng = random.Random(f"{seed}/{number}")
    out = []
    for sim in sims:
        persona = sim.persona
        attends = rng.random() < persona.attends
        join = rng.randint(*persona.join_minute) if attends else 0
        watched = round((class_minutes - join) * rng.uniform(*persona.watch_share)) if attends else 0
        out.append(
            replace(
                sim,
                attends=attends,
                join_minute=join,
                leave_minute=min(join + max(watched, 1), class_minutes) if attends else 0,
                messages=rng.randint(*persona.messages) if attends else 0,
                questions=rng.randint(*persona.questions) if attends else 0,
                reactions=rng.randint(*persona.reactions) if attends else 0,
                answers_poll=attends and rng.random() < persona.answers_poll,
                clicks_offer=attends and rng.random() < persona.clicks_offer,
                buy_roll=rng.random(),
            )
        )
    return out


def draw_learners(n: int, seed: int, class_minutes: int) -> list[SimLearner]:
    rng = random.Random(seed)
    personas = rng.choices(PERSONAS, weights=[p.share for p in PERSONAS], k=n)
    learners = []
    for i, persona in enumerate(personas):
        platform = Platform.TELEGRAM if rng.random() < 0.6 else Platform.DISCORD
        attends = rng.random() < persona.attends
        join = rng.randint(*persona.join_minute) if attends else 0
        remaining = class_minutes - join
        watched = round(remaining * rng.uniform(*persona.watch_share)) if attends else 0
        learners.append(
            SimLearner(
                index=i,
                name=f"{_FIRST[i % len(_FIRST)]} {chr(65 + (i // len(_FIRST)) % 26)}.",
                platform=platform,
                user_id=str(100_000 + i) if platform is Platform.TELEGRAM else str(900_000_000 + i),
                language="zh" if rng.random() < 0.2 else "en",
                persona=persona,
                # Discord DMs need no opt-in; Telegram needs the learner to start the bot.
                starts_bot=platform is Platform.DISCORD or rng.random() < persona.starts_bot,
                attends=attends,
                join_minute=join,
                leave_minute=min(join + max(watched, 1), class_minutes) if attends else 0,
                messages=rng.randint(*persona.messages) if attends else 0,
                questions=rng.randint(*persona.questions) if attends else 0,
                reactions=rng.randint(*persona.reactions) if attends else 0,
                answers_poll=attends and rng.random() < persona.answers_poll,
                clicks_offer=attends and rng.random() < persona.clicks_offer,
                buy_roll=rng.random(),
            )
        )
    return learners
