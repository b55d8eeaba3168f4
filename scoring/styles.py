"""Interaction styles: groups of learners who take part in a class in the same way, named in words.

Method. Each learner is described by the *mix* of what they did (the share of their interactions that are
messages, questions, reactions, poll answers, clicks), how much they did (log of the count) and how much
of the class they watched. Clustering raw counts, as the seeds did, groups people by volume alone (fifty
messages outweigh everything else); the mix separates a questioner from a chatter whatever their volume.
KMeans on the standardised description, with the number of groups chosen by the silhouette score (how much
closer each learner is to their own group than to the next) between 2 and 6; ties go to fewer groups.
Learners who neither watched nor did anything are "absent" and are not clustered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from bot.domain import InteractionKind, LearnerActivity

K = InteractionKind
MIX = (
    ("messages", (K.MESSAGE,)),
    ("questions", (K.QUESTION,)),
    ("reactions", (K.REACTION,)),
    ("poll answers", (K.POLL_ANSWER,)),
    ("offer clicks", (K.OFFER_CLICK,)),
)
# Clicking the class link is how one gets in, not a way of taking part: it is left out of the mix.
_NAMES = {
    "messages": "chatters",
    "questions": "questioners",
    "reactions": "reactors",
    "poll answers": "poll answerers",
    "offer clicks": "offer clickers",
}
MIN_LEARNERS = 12  # fewer active learners than this make one group: clusters of two or three say nothing
MAX_GROUPS = 6
SILHOUETTE_SAMPLE = 3000


@dataclass(frozen=True, slots=True)
class Style:
    name: str
    size: int
    watched_share: float  # mean share of the class watched
    interactions: float  # mean interactions per learner
    mix: dict[str, float]  # share of the group's interactions by kind

    def describe(self) -> str:
        top = max(self.mix.items(), key=lambda kv: kv[1]) if self.interactions > 0 else None
        doing = f", {self.interactions:.1f} interactions each" + (
            f" (mostly {top[0]})" if top and top[1] >= 0.4 else ""
        )
        people = f"{self.size} learner{'s' if self.size != 1 else ''}"
        return f"{self.name}: {people}, watched {self.watched_share:.0%}{doing}"


@dataclass(frozen=True, slots=True)
class StyleReport:
    styles: tuple[Style, ...]
    labels: NDArray[np.int64]  # per learner: index into styles, -1 for absent
    absent: int
    silhouette: float | None  # of the chosen clustering, None when not clustered

    def names(self) -> list[str]:
        return [self.styles[i].name if i >= 0 else "absent" for i in self.labels]

    def lines(self) -> list[str]:
        lines = [s.describe() for s in sorted(self.styles, key=lambda s: -s.size)]
        if self.absent:
            lines.append(f"absent: {self.absent} learner{'s' if self.absent != 1 else ''}")
        return lines


def describe_learners(watched_share: NDArray[np.float64], counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Learners x (mix shares, log volume, watched share): what the clustering sees."""
    total = counts.sum(axis=1, keepdims=True)
    mix = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
    return np.column_stack([mix, np.log1p(total[:, 0]), np.clip(watched_share, 0, 1)])


def find_styles(
    watched_share: NDArray[np.float64], counts: NDArray[np.float64], seed: int = 0
) -> StyleReport:
    """Styles of learners given their watched share and their counts in MIX order (learners x kinds)."""
    active = (watched_share > 0) | (counts.sum(axis=1) > 0)
    labels = np.full(len(watched_share), -1, dtype=np.int64)
    rows = np.flatnonzero(active)
    if len(rows) == 0:
        return StyleReport((), labels, int((~active).sum()), None)
    x = describe_learners(watched_share[rows], counts[rows])
    scale = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    best_labels, best_score = np.zeros(len(rows), dtype=np.int64), None
    distinct = len(np.unique(z.round(6), axis=0))
    if len(rows) >= MIN_LEARNERS and distinct > 2:
        rng = np.random.default_rng(seed)
        sample = rng.choice(len(rows), size=min(SILHOUETTE_SAMPLE, len(rows)), replace=False)
        for k in range(2, min(MAX_GROUPS, distinct - 1) + 1):
            with threadpool_limits(limits=1):  # see training.py: spinning OpenMP threads are slower here
                model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(z)
            found = model.labels_.astype(np.int64)
            if len(np.unique(found[sample])) < 2:
                continue
            score = float(silhouette_score(z[sample], found[sample]))
            if best_score is None or score > best_score + 1e-3:
                best_labels, best_score = found, score
    groups = [np.flatnonzero(best_labels == g) for g in range(int(best_labels.max()) + 1)]
    styles = _name([_profile(watched_share[rows][g], counts[rows][g]) for g in groups])
    labels[rows] = best_labels
    return StyleReport(tuple(styles), labels, int((~active).sum()), best_score)


def _profile(watched: NDArray[np.float64], counts: NDArray[np.float64]) -> Style:
    totals = counts.sum(axis=0)
    mix = {
        name: float(totals[i] / totals.sum()) if totals.sum() > 0 else 0.0 for i, (name, _) in enumerate(MIX)
    }
    return Style("", len(watched), float(watched.mean()), float(counts.sum(axis=1).mean()), mix)


def _base_name(style: Style) -> str:
    if style.interactions < 1.0:
        return "silent watchers" if style.watched_share >= 0.4 else "drop-ins"
    kind, share = max(style.mix.items(), key=lambda kv: kv[1])
    return _NAMES[kind] if share >= 0.4 else "all-rounders"


def _name(styles: list[Style]) -> list[Style]:
    """Names in words; groups that would share a name are told apart by how much they do."""
    base = [_base_name(s) for s in styles]
    names = list(base)
    for name in set(base):
        twins = sorted(
            (j for j, b in enumerate(base) if b == name),
            key=lambda j: -(styles[j].interactions + styles[j].watched_share),
        )
        if len(twins) < 2:
            continue
        middle = len(twins) - 2
        for place, j in enumerate(twins):
            if place == 0:
                names[j] = f"busy {name}"
            elif place == len(twins) - 1:
                names[j] = f"light {name}"
            else:
                names[j] = f"steady {name}" + (f" {place}" if middle > 1 else "")
    return [
        Style(n, s.size, s.watched_share, s.interactions, s.mix) for n, s in zip(names, styles, strict=True)
    ]


def class_styles(activity: Sequence[LearnerActivity], seed: int = 0) -> StyleReport:
    """The interaction styles of one class's learners (the class's `LearnerActivity` list)."""
    watched = np.array(
        [min(a.watched_minutes / a.class_minutes, 1.0) if a.class_minutes > 0 else 0.0 for a in activity],
        dtype=np.float64,
    )
    counts = np.array(
        [[sum(a.count(k) for k in kinds) for _, kinds in MIX] for a in activity], dtype=np.float64
    ).reshape(len(activity), len(MIX))
    return find_styles(watched, counts, seed)
