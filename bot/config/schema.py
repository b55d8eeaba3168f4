"""The configuration file, as pydantic models. `config.example.toml` documents every key."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.config.campaigns import (
    CampaignConfig,
    CampaignEngineConfig,
    CouponPoolConfig,
    GuardsConfig,
    PurchaseWebhookConfig,
    StepConfig,
)
from bot.config.discord import CourseDiscordConfig, DiscordConfig, check_discord_routes
from bot.config.model_scoring import ModelScoringConfig
from bot.config.problems import Invalid
from bot.config.relay import RelayConfig
from bot.config.telegram import TelegramConfig
from bot.config.types import Duration, Slug, TimeZone


class Section(BaseModel):
    # Strict: a TOML string where a number is expected is a mistake worth reporting, not coercing.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


REDIS_SCHEMES = ("memory", "redis", "rediss", "unix")


class StorageConfig(Section):
    redis_url: str = "memory://"
    key_prefix: Slug = "cp"
    dedup_window: Duration = timedelta(days=7)

    @field_validator("redis_url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        scheme, sep, _ = value.partition("://")
        if not sep or scheme not in REDIS_SCHEMES:
            raise Invalid(
                f"{value.rsplit('@', maxsplit=1)[-1]!r} is not a Redis URL",
                "redis://host:6379/0, rediss://… (TLS), unix:///path/to/redis.sock, or memory://",
            )
        return value


class TeachersConfig(Section):
    telegram: list[int] = []
    discord: list[int] = []


class CourseConfig(Section):
    name: str = Field(min_length=1)
    price: float = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    timezone: TimeZone = ZoneInfo("UTC")
    language: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$")
    class_minutes: int = Field(default=60, gt=0, le=24 * 60)
    buy_url: str = ""
    replay_url: str = ""
    telegram_chats: list[int] = []
    discord_channels: list[int] = []
    teachers: TeachersConfig = TeachersConfig()
    discord: CourseDiscordConfig = CourseDiscordConfig()


class ScoringWeights(Section):
    watch: float = Field(default=0.6, ge=0)
    participation: float = Field(default=0.25, ge=0)
    intent: float = Field(default=0.15, ge=0)

    @model_validator(mode="after")
    def _watching_dominates(self) -> ScoringWeights:
        if self.watch + self.participation + self.intent <= 0:
            raise Invalid("all weights are zero", "at least one positive weight")
        if self.participation >= self.watch:
            raise Invalid(
                f"participation ({self.participation}) must be below watch ({self.watch})",
                "chat alone must not outweigh watching",
            )
        return self


class ParticipationPoints(Section):
    message: float = Field(default=1.0, ge=0)
    question: float = Field(default=3.0, ge=0)
    reaction: float = Field(default=0.5, ge=0)
    poll_answer: float = Field(default=2.0, ge=0)
    saturation: float = Field(default=10.0, gt=0)


class SegmentThresholds(Section):
    hot: float = Field(default=0.65, gt=0, le=1)
    warm: float = Field(default=0.3, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> SegmentThresholds:
        if self.warm >= self.hot:
            raise Invalid(f"warm ({self.warm}) must be below hot ({self.hot})", "0 <= warm < hot <= 1")
        return self


class ScoringConfig(Section):
    weights: ScoringWeights = ScoringWeights()
    points: ParticipationPoints = ParticipationPoints()
    segments: SegmentThresholds = SegmentThresholds()
    # An offer click lifts a warm learner to hot: it is the strongest sign of intent a class shows.
    offer_click_makes_hot: bool = True
    model: ModelScoringConfig = ModelScoringConfig()


class Config(Section):
    storage: StorageConfig = StorageConfig()
    telegram: TelegramConfig = TelegramConfig()
    discord: DiscordConfig = DiscordConfig()
    courses: dict[Slug, CourseConfig] = Field(min_length=1)
    scoring: ScoringConfig = ScoringConfig()
    coupons: dict[Slug, CouponPoolConfig] = {}
    campaigns: list[CampaignConfig] = []
    guards: GuardsConfig = GuardsConfig()
    campaign_engine: CampaignEngineConfig = CampaignEngineConfig()
    purchase_webhook: PurchaseWebhookConfig = PurchaseWebhookConfig()
    relay: RelayConfig = RelayConfig()

    @model_validator(mode="after")
    def _one_course_per_discord_channel(self) -> Config:
        check_discord_routes(self.courses)
        return self

    def campaign(self, campaign_id: str) -> CampaignConfig:
        return next(c for c in self.campaigns if c.id == campaign_id)

    def step(self, campaign_id: str, step_id: str) -> StepConfig:
        return next(s for s in self.campaign(campaign_id).steps if s.id == step_id)
