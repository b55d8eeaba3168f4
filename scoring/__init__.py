"""Scoring: from what learners did to how engaged they are, which segment they are in, and why."""
