"""`[scoring.model]`: the trained purchase model and the probabilities that make a learner hot or warm."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.config.problems import Invalid


class ModelScoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    # The model file written by `classpulse train` (its metadata sits beside it as .json), relative to the
    # configuration file's directory. Empty: no model, learners are segmented by the engagement rules alone.
    # A path that does not exist yet also means the rules, until a model is trained there.
    path: str = ""
    hot: float = Field(default=0.5, gt=0, le=1)
    warm: float = Field(default=0.2, ge=0, lt=1)
    # Engagement index a likely buyer needs in the class to be called hot now (below it: warm).
    min_engagement: float = Field(default=0.2, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> ModelScoringConfig:
        if self.warm >= self.hot:
            raise Invalid(f"warm ({self.warm}) must be below hot ({self.hot})", "0 <= warm < hot <= 1")
        return self
