"""The campaign engine's tests run on the core's real app fixtures (Redis, scheduler, dispatcher)."""

from tests.core.conftest import app, config, messengers

__all__ = ["app", "config", "messengers"]
