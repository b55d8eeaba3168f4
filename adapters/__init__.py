"""Everything that talks to the outside world: Redis, the chat platforms, the console."""
