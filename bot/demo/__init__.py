"""The demo: a simulated course run through the real pipeline, on simulated time."""
