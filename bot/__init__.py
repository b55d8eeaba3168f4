"""ClassPulse's platform-neutral heart: domain values, ports, use cases, configuration and the CLI."""
