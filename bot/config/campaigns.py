"""The campaign part of the configuration: coupon pools, campaigns and their steps, guards, experiments,
the campaign engine's timing and the purchase webhook. `schema.py` plugs these sections into `Config`.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    model_validator,
)

from bot.config.audience import EVERYONE, Audience, describe, parse_audience
from bot.config.problems import Invalid
from bot.config.types import Duration, EnvName, Slug

# Steps that fire once per class, planned when the class is scheduled, goes live or ends.
CLASS_TRIGGERS = ("before_class", "class_started", "class_ended")
# Steps found by the periodic sweep, each learner with their own occurrence.
SWEEP_TRIGGERS = ("inactive", "offer_no_purchase", "coupon_expiring")
Trigger = Literal[
    "before_class",
    "class_started",
    "class_ended",
    "entered_segment",
    "inactive",
    "offer_no_purchase",
    "coupon_expiring",
    "recurring",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CouponPoolConfig(_Section):
    kind: Literal["percent", "fixed"]
    value: float = Field(gt=0)
    currency: str = Field(default="", pattern=r"^([A-Z]{3})?$")
    # A code expires `valid_for` after it is issued, or at the end of `expires_on` (a TOML date, in the
    # course's time zone), whichever comes first.
    valid_for: Duration = timedelta(hours=48)
    expires_on: date | None = None
    prefix: str = Field(default="", pattern=r"^[A-Z0-9]{0,8}$")
    max_redemptions_per_code: int = Field(default=1, ge=1)
    max_redemptions: int = Field(default=0, ge=0)  # across the whole pool; 0: no limit
    min_order: float = Field(default=0.0, ge=0)  # in the coupon's currency, before the discount
    # For the live flash offer (the teachers' /offer): how long the claim button stays open.
    claim_minutes: int = Field(default=15, ge=1, le=240)

    @model_validator(mode="after")
    def _sane_value(self) -> CouponPoolConfig:
        if self.kind == "percent" and self.value > 100:
            raise Invalid(f"a percent coupon of {self.value:g} is more than the price", "a value up to 100")
        return self


def _text_table(value: Any) -> Any:
    # `text = "..."` is shorthand for the same text in every language.
    return {"default": value} if isinstance(value, str) else value


def _audience(value: Any) -> Audience:
    return parse_audience(value)


def _cron(value: Any) -> Any:
    if isinstance(value, str) and value:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise Invalid(
                f"cannot read {value!r} as a cron line: {exc}",
                'five fields "minute hour day month weekday", e.g. "0 18 * * fri"',
            ) from None
    return value


Texts = Annotated[dict[str, str], BeforeValidator(_text_table)]
AudienceField = Annotated[Audience, PlainValidator(_audience), PlainSerializer(describe)]


class VariantConfig(_Section):
    """One arm of a step's experiment: what it changes (text, coupon, extra delay); the rest is the step's."""

    id: Slug
    weight: float = Field(default=1.0, gt=0)
    text: Texts = {}
    coupon: str = ""  # a pool name; "none" sends this arm without a coupon
    delay: Duration = timedelta(0)


class StepConfig(_Section):
    id: Slug
    trigger: Trigger
    # Time relative to the trigger's moment: before the class (before_class), before the coupon expires
    # (coupon_expiring), and after it for every other trigger (the inactivity period for inactive, the
    # wait after an offer click for offer_no_purchase, a delay for the rest).
    offset: Duration = timedelta(0)
    segment: Literal["hot", "warm", "cold", ""] = ""  # entered_segment: the segment entered
    cron: Annotated[str, BeforeValidator(_cron)] = ""  # recurring: in the course's time zone
    audience: AudienceField = EVERYONE
    to: Literal["learners", "groups"] = "learners"
    text: Texts = Field(min_length=1)
    coupon: str = ""
    button: str = ""  # label of a button that opens the personal class link (or the buy link after class)
    promotional: bool = True
    # A learner who cannot be written to privately is mentioned in the course chat, with a way in.
    fallback_to_group: bool = False
    # Promotions wait while a class of the course is live, unless the step is meant for the live class.
    allow_during_live: bool = False
    # A random, stable share of the audience that gets nothing and is kept to measure the step's effect.
    holdout: float = Field(default=0.0, ge=0, le=0.9)
    variants: list[VariantConfig] = Field(default=[], max_length=8)

    @model_validator(mode="after")
    def _trigger_arguments(self) -> StepConfig:
        if self.trigger == "entered_segment" and not self.segment:
            raise Invalid("an entered_segment step needs the segment entered", 'segment = "hot"')
        if self.trigger != "entered_segment" and self.segment:
            raise Invalid("segment is only read by entered_segment steps", 'trigger = "entered_segment"')
        if self.trigger == "recurring" and not self.cron:
            raise Invalid("a recurring step needs a cron line", 'cron = "0 18 * * fri"')
        if self.trigger != "recurring" and self.cron:
            raise Invalid("cron is only read by recurring steps", 'trigger = "recurring"')
        if self.trigger in ("inactive", "offer_no_purchase", "coupon_expiring") and not self.offset:
            raise Invalid(f"a {self.trigger} step needs an offset", 'offset = "3d"')
        if self.to == "groups" and self.trigger not in (*CLASS_TRIGGERS, "recurring"):
            raise Invalid(
                f"a {self.trigger} step is about one learner and cannot be sent to groups", 'to = "learners"'
            )
        if self.to == "groups" and (self.variants or self.holdout):
            raise Invalid("a step sent to groups has no holdout or variants", 'to = "learners"')
        ids = [v.id for v in self.variants]
        if len(set(ids)) != len(ids) or "holdout" in ids:
            raise Invalid("variant ids must be unique and not 'holdout'", "unique ids such as a, b")
        return self

    def variant(self, variant_id: str) -> VariantConfig | None:
        return next((v for v in self.variants if v.id == variant_id), None)


class CampaignConfig(_Section):
    id: Slug
    course: str
    enabled: bool = True
    steps: list[StepConfig] = Field(min_length=1)


def _clock_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        return time.fromisoformat(value)
    raise Invalid(f"cannot read {value!r} as a time of day", 'a 24-hour time in quotes, e.g. "21:00"')


ClockTime = Annotated[time, BeforeValidator(_clock_time), PlainSerializer(lambda t: t.strftime("%H:%M"))]


class QuietHoursConfig(_Section):
    enabled: bool = True
    start: ClockTime = time(21, 0)
    end: ClockTime = time(8, 0)
    # "promotional": offers wait, plain reminders go out; "all": every private campaign message waits.
    applies_to: Literal["promotional", "all"] = "promotional"

    @model_validator(mode="after")
    def _a_window(self) -> QuietHoursConfig:
        if self.start == self.end:
            raise Invalid("start and end are the same time", "a window such as 21:00 to 08:00")
        return self


class GuardsConfig(_Section):
    """What keeps a campaign from becoming spam. Every guard is on by default."""

    # Promotional messages per learner, across platforms, per calendar day and ISO week in their time zone.
    daily_cap: int = Field(default=2, ge=0)  # 0: no cap
    weekly_cap: int = Field(default=5, ge=0)
    quiet_hours: QuietHoursConfig = QuietHoursConfig()
    no_promotions_while_live: bool = True
    live_recheck: Duration = timedelta(minutes=10)  # how often a promotion held for a live class looks again
    suppress_buyers: bool = True
    one_live_coupon_per_course: bool = True

    @model_validator(mode="after")
    def _caps_ordered(self) -> GuardsConfig:
        if self.daily_cap and self.weekly_cap and self.daily_cap > self.weekly_cap:
            raise Invalid(
                f"daily_cap ({self.daily_cap}) is above weekly_cap ({self.weekly_cap})", "daily <= weekly"
            )
        return self


class CampaignEngineConfig(_Section):
    # How often learners are checked for inactive, offer_no_purchase and coupon_expiring steps.
    sweep_every: Duration = timedelta(hours=1)
    # A sweep step fires only this long past its moment (a new step does not message a year of history).
    sweep_window: Duration = timedelta(days=1)
    # A purchase is attributed to the last promotional message delivered to the learner within this window
    # (or to the step whose coupon it used); conversions in reports count within it too.
    attribution_window: Duration = timedelta(days=7)
    # The secret that signs the personal `ref` in buy links (environment variable name); unset: no ref.
    link_secret_env: EnvName = "CLASSPULSE_LINK_SECRET"


class PurchaseWebhookConfig(_Section):
    enabled: bool = False
    # The shared HMAC-SHA256 secret lives in this environment variable, never in the file.
    secret_env: EnvName = "CLASSPULSE_PURCHASE_SECRET"
    max_age: Duration = timedelta(minutes=5)  # older (or further in the future) timestamps are refused
