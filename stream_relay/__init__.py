"""The stream relay: personal tracked class links, the watch page and its heartbeats, live detection."""

from stream_relay.links import TrackedLinks
from stream_relay.server import create_app
from stream_relay.stats import ViewerStats, viewer_stats
from stream_relay.tokens import LinkSigner, Rejection, TokenRejected

__all__ = [
    "LinkSigner",
    "Rejection",
    "TokenRejected",
    "TrackedLinks",
    "ViewerStats",
    "create_app",
    "viewer_stats",
]
