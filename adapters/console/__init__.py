"""The recording/console messenger used by the demo and the tests."""

from adapters.console.messenger import RecordingMessenger, SentMessage

__all__ = ["RecordingMessenger", "SentMessage"]
