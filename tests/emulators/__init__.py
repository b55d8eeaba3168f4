"""Local emulators of the chat platforms' APIs that the real SDK clients talk to in tests."""
