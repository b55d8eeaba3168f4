"""The stream relay: tracked class links, the watch page and its heartbeats, fan-out of class links."""
