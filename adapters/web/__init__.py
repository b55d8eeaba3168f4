"""HTTP endpoints ClassPulse serves besides the stream relay: the purchase webhook."""
