"""Configuration: the TOML file's schema, its loader and its problems."""

from bot.config.campaigns import CampaignConfig, CouponPoolConfig, StepConfig
from bot.config.loader import load_config, parse_config
from bot.config.problems import ConfigError, ConfigProblem
from bot.config.schema import Config, CourseConfig, ScoringConfig

__all__ = [
    "CampaignConfig",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "CouponPoolConfig",
    "CourseConfig",
    "ScoringConfig",
    "StepConfig",
    "load_config",
    "parse_config",
]
