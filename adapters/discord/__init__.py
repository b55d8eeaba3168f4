"""The Discord adapter (discord.py 2): outbound messages, inbound events as Interactions, watch time."""
