"""What the stream relay keeps: the grant behind a personal class link."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LinkGrant:
    """What a personal link stands for: this learner may watch this class of this course."""

    course_id: str
    class_id: str
    learner_id: str
