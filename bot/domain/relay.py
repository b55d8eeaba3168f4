"""What the stream relay keeps: the grant behind a personal class link, and a teacher's live offer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class LinkGrant:
    """What a personal link stands for: this learner may watch this class of this course."""

    course_id: str
    class_id: str
    learner_id: str


@dataclass(frozen=True, slots=True)
class LiveOffer:
    """A flash offer the teacher runs during a live class; the watch page shows it while it runs."""

    course_id: str
    class_id: str
    text: str  # plain text, escaped by whoever shows it
    url: str = ""  # where its button leads (the shop); empty: no button
    ends_at: datetime | None = None  # None: until the teacher clears it

    def __post_init__(self) -> None:
        if self.ends_at is not None and self.ends_at.tzinfo is None:
            raise ValueError("LiveOffer.ends_at must be timezone-aware")

    def running(self, now: datetime) -> bool:
        return self.ends_at is None or now < self.ends_at
