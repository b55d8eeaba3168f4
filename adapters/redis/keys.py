"""Redis key names, in one place.

Keys that one script or transaction touches together share a `{hash tag}` so the same code runs on Redis
Cluster: everything about one course is tagged with the course id; learners, coupons and the outbox each
have their own tag.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "cp"

    # --- per course, tagged {course} ---
    def course(self, course_id: str) -> str:
        return f"{self.prefix}:{{{course_id}}}:"

    def events(self, course_id: str) -> str:
        return f"{self.course(course_id)}events"

    def course_learners(self, course_id: str) -> str:
        return f"{self.course(course_id)}learners"

    def learner_totals(self, course_id: str, learner_id: str) -> str:
        return f"{self.course(course_id)}l:{learner_id}"

    def learner_class(self, course_id: str, class_id: str, learner_id: str) -> str:
        return f"{self.course(course_id)}lc:{class_id}:{learner_id}"

    def class_learners(self, course_id: str, class_id: str) -> str:
        return f"{self.course(course_id)}class:{class_id}:learners"

    def buyers(self, course_id: str) -> str:
        return f"{self.course(course_id)}buyers"

    def class_session(self, course_id: str, class_id: str) -> str:
        return f"{self.course(course_id)}class:{class_id}"

    def classes(self, course_id: str) -> str:
        return f"{self.course(course_id)}classes"

    def class_seq(self, course_id: str) -> str:
        return f"{self.course(course_id)}class-seq"

    def offers(self, course_id: str) -> str:
        return f"{self.course(course_id)}offers"

    def offer_ends(self, course_id: str) -> str:
        return f"{self.course(course_id)}offer-ends"

    def offer_seq(self, course_id: str) -> str:
        return f"{self.course(course_id)}offer-seq"

    def orders(self, course_id: str) -> str:
        return f"{self.course(course_id)}orders"

    def scores(self, course_id: str, class_id: str) -> str:
        return f"{self.course(course_id)}scores:{class_id}"

    def ranking(self, course_id: str, class_id: str) -> str:
        return f"{self.course(course_id)}rank:{class_id}"

    # --- learners, tagged {learners} ---
    def identities(self) -> str:
        return f"{self.prefix}:{{learners}}:identities"

    def learner(self, learner_id: str) -> str:
        return f"{self.prefix}:{{learners}}:profile:{learner_id}"

    def link_code(self, code: str) -> str:
        return f"{self.prefix}:{{learners}}:link-code:{code}"

    # --- coupons, tagged {coupons} ---
    def coupons(self) -> str:
        return f"{self.prefix}:{{coupons}}:"

    def coupon(self, code: str) -> str:
        return f"{self.coupons()}code:{code}"

    # --- outbox, tagged {outbox} ---
    def outbox(self) -> str:
        return f"{self.prefix}:{{outbox}}:"

    def outbox_stream(self) -> str:
        return f"{self.outbox()}stream"

    # --- scheduler ---
    def scheduler_jobs(self) -> str:
        return f"{self.prefix}:scheduler:jobs"

    def scheduler_run_times(self) -> str:
        return f"{self.prefix}:scheduler:run_times"

    def scheduler_lease(self) -> str:
        return f"{self.prefix}:scheduler:lease"
