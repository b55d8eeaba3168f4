"""Interaction styles: groups found by how learners take part, and named in words."""

from __future__ import annotations

import random
from collections import Counter

from bot.domain import InteractionKind, LearnerActivity
from scoring.styles import class_styles

K = InteractionKind


def learner(i: int, watched: float, **counts: int) -> LearnerActivity:
    return LearnerActivity(
        f"l{i}",
        "py",
        "c1",
        60.0,
        watched_seconds=watched * 3600,
        counts={K(k): v for k, v in counts.items() if v},
        attended=watched > 0 or any(counts.values()),
    )


def a_class() -> tuple[list[LearnerActivity], list[str]]:
    rng = random.Random(3)
    people, truth = [], []
    for i in range(40):
        people.append(learner(i, rng.uniform(0.8, 1.0)))
        truth.append("watcher")
    for i in range(40, 75):
        people.append(
            learner(i, rng.uniform(0.6, 0.9), question=rng.randint(3, 6), message=rng.randint(0, 1))
        )
        truth.append("questioner")
    for i in range(75, 110):
        people.append(
            learner(i, rng.uniform(0.1, 0.4), message=rng.randint(15, 30), reaction=rng.randint(0, 3))
        )
        truth.append("chatter")
    for i in range(110, 140):
        people.append(learner(i, rng.uniform(0.5, 0.9), reaction=rng.randint(4, 10)))
        truth.append("reactor")
    for i in range(140, 160):
        people.append(learner(i, 0.0))
        truth.append("absent")
    return people, truth


def test_each_kind_of_participation_becomes_a_named_group() -> None:
    people, truth = a_class()
    report = class_styles(people)
    names = report.names()
    assert report.absent == 20
    assert report.silhouette is not None
    assert report.silhouette > 0.3
    expected = {
        "watcher": "silent watchers",
        "questioner": "questioners",
        "chatter": "chatters",
        "reactor": "reactors",
        "absent": "absent",
    }
    for kind, name in expected.items():
        got = Counter(n for n, t in zip(names, truth, strict=True) if t == kind)
        assert got.most_common(1)[0][0] == name, (kind, got)
    assert len({s.name for s in report.styles}) == len(report.styles)  # names are distinct
    lines = report.lines()
    assert any(line.startswith("silent watchers: 40 learners, watched") for line in lines)
    assert lines[-1] == "absent: 20 learners"


def test_a_small_class_is_one_group_and_an_empty_one_has_none() -> None:
    few = [learner(i, 0.9, question=2) for i in range(5)]
    report = class_styles(few)
    assert [s.name for s in report.styles] == ["questioners"]
    assert report.silhouette is None
    nobody = class_styles([learner(i, 0.0) for i in range(4)])
    assert nobody.styles == ()
    assert nobody.absent == 4
